// Command gen writes the files the interop tests read: a result table as
// Parquet (results.parquet) and as an Arrow IPC file (results.arrow), made
// by arrowio's writers from a fixed batch, and expected.json, what the Go
// decoder (quant.Dequantize) makes of every layer. The batch covers every
// bit width, odd row lengths (padding bits), a group size that does not
// divide the rows, float16 and float32 scales, a float16 source layer, and
// a layer whose scales fill more than one Parquet data page.
//
//	go run ./interop/gen -out DIR
package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/arrowquant/arrowquant/arrowio"
	"github.com/arrowquant/arrowquant/batch"
	"github.com/arrowquant/arrowquant/quant"
)

// part is one batch.Quantize call: layers of the given shapes under the
// options, named prefix + index so that the parts stay in name order.
type part struct {
	prefix string
	opts   batch.Options
	shapes [][]int
	f16    bool // give the engine float16 source data
}

var parts = []part{
	{"a2.", batch.Options{Bits: 2, GroupSize: 32}, [][]int{{16, 64}, {3, 7}, {1000}}, false},
	{"b4.", batch.Options{Bits: 4}, [][]int{{64, 300}, {5, 5, 13}, {1}}, false},
	{"c4h.", batch.Options{Bits: 4, GroupSize: 16}, [][]int{{8, 40}}, true},
	{"d8.", batch.Options{Bits: 8, GroupSize: 5, Scales: quant.Float32}, [][]int{{9, 11}, {257}}, false},
	// 300,000 scales (1.2 MB) and as many zero points: more than one
	// Parquet data page each.
	{"e8.", batch.Options{Bits: 8, GroupSize: 1}, [][]int{{600, 500}}, false},
}

// Layer is what expected.json says of one layer.
type Layer struct {
	Name      string    `json:"name"`
	Shape     []int     `json:"shape"`
	Bits      int       `json:"bits"`
	GroupSize int       `json:"group_size"`
	Scales    string    `json:"scales"` // "f16" or "f32"
	Elements  int       `json:"elements"`
	SHA256    string    `json:"sha256"` // of the dequantized float32 values, little-endian
	Head      []float64 `json:"head"`   // the first dequantized values
	Cosine    float64   `json:"cosine"`
	RMSE      float64   `json:"rmse"`
}

func main() {
	out := flag.String("out", "", "directory to write results.parquet, results.arrow and expected.json into")
	flag.Parse()
	if *out == "" {
		log.Fatal("gen: -out DIR is required")
	}
	if err := run(*out); err != nil {
		log.Fatal(err)
	}
}

func run(dir string) error {
	results, err := quantize()
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name   string
		create func(string, *arrowio.CreateOptions) (arrowio.Writer, error)
	}{{"results.parquet", arrowio.CreateParquet}, {"results.arrow", arrowio.CreateIPC}} {
		// Small row groups, so that the Parquet file has several.
		if err := write(filepath.Join(dir, f.name), f.create, &arrowio.CreateOptions{RowGroupLayers: 3}, results); err != nil {
			return err
		}
	}
	var layers []Layer
	for _, r := range results {
		x, err := quant.Dequantize(&r.Tensor)
		if err != nil {
			return fmt.Errorf("gen: %s: %w", r.Name, err)
		}
		raw := make([]byte, 4*len(x))
		head := make([]float64, 0, 8)
		for i, v := range x {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
			if i < cap(head) {
				head = append(head, float64(v))
			}
		}
		sum := sha256.Sum256(raw)
		layers = append(layers, Layer{
			Name: r.Name, Shape: r.Shape, Bits: r.Bits, GroupSize: r.GroupSize, Scales: r.Format.String(),
			Elements: len(x), SHA256: hex.EncodeToString(sum[:]), Head: head,
			Cosine: r.Quality.Cosine, RMSE: r.Quality.RMSE,
		})
	}
	b, err := json.MarshalIndent(map[string]any{"format_version": arrowio.FormatVersion, "layers": layers}, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "expected.json"), b, 0o644)
}

// quantize runs every part and returns the results in name order.
func quantize() ([]*batch.Result, error) {
	r := rand.New(rand.NewPCG(2024, 1))
	var all []*batch.Result
	for _, p := range parts {
		var layers []batch.Layer
		for i, shape := range p.shapes {
			n := 1
			for _, d := range shape {
				n *= d
			}
			name := fmt.Sprintf("%s%02d", p.prefix, i)
			x := make([]float32, n)
			for k := range x {
				x[k] = float32(r.NormFloat64() * 0.05)
			}
			if !p.f16 {
				layers = append(layers, batch.Float32Layer(name, shape, x))
				continue
			}
			data := make([]byte, 2*n)
			for k, v := range x {
				binary.LittleEndian.PutUint16(data[2*k:], quant.Float32ToHalf(v))
			}
			layers = append(layers, batch.Layer{Name: name, Shape: shape, DType: batch.Float16, Data: data})
		}
		res, err := batch.Quantize(context.Background(), layers, p.opts)
		if err != nil {
			return nil, fmt.Errorf("gen: part %s: %w", p.prefix, err)
		}
		all = append(all, res...)
	}
	return all, nil
}

func write(path string, create func(string, *arrowio.CreateOptions) (arrowio.Writer, error), opts *arrowio.CreateOptions, results []*batch.Result) error {
	w, err := create(path, opts)
	if err != nil {
		return err
	}
	defer w.Abort()
	for _, r := range results {
		if err := w.Write(r); err != nil {
			return err
		}
	}
	return w.Commit()
}
