// Command gocheck quantizes a batch with the Go library directly (package
// batch, no C ABI) and prints the SHA-256 of every layer's outputs as JSON, so
// that the Python tests can check that the binding gives the same bytes.
//
// Usage: go run ./python/tests/gocheck DIR
//
// DIR holds manifest.json, {"bits": 4, "group_size": 128, "layers":
// [{"name": "w", "shape": [2, 3], "file": "w.f32"}]}, and one file of raw
// little-endian float32 per layer. The output maps each name to the hex
// SHA-256 of its packed codes, of its scales and of its zero points (each a
// little-endian float32 array).
package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/arrowquant/arrowquant/batch"
)

type manifest struct {
	Bits      int `json:"bits"`
	GroupSize int `json:"group_size"`
	Layers    []struct {
		Name  string `json:"name"`
		Shape []int  `json:"shape"`
		File  string `json:"file"`
	} `json:"layers"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gocheck DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "gocheck:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return err
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	layers := make([]batch.Layer, len(m.Layers))
	for i, l := range m.Layers {
		data, err := os.ReadFile(filepath.Join(dir, l.File))
		if err != nil {
			return err
		}
		layers[i] = batch.Layer{Name: l.Name, Shape: l.Shape, DType: batch.Float32, Data: data}
	}
	results, err := batch.Quantize(context.Background(), layers, batch.Options{Bits: m.Bits, GroupSize: m.GroupSize})
	if err != nil {
		return err
	}
	out := make(map[string]map[string]string, len(results))
	for _, r := range results {
		out[r.Name] = map[string]string{
			"quantized_data": digest(r.Codes),
			"scales":         digest(float32Bytes(r.Scales)),
			"zero_points":    digest(float32Bytes(r.ZeroPoints)),
		}
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// float32Bytes encodes fs as little-endian float32, as numpy's tobytes does.
func float32Bytes(fs []float32) []byte {
	b := make([]byte, 0, 4*len(fs))
	for _, f := range fs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	return b
}
