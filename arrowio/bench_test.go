package arrowio

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/arrowquant/arrowquant/batch"
)

// The benchmark model: 100 layers of 1024×1024 float32 weights (100 M
// parameters, 400 MB), held once and viewed both as batch layers and as an
// Arrow table, so that the two paths quantize the same memory.
const (
	benchLayers = 100
	benchRows   = 1024
	benchCols   = 1024
)

var bench struct {
	once    sync.Once
	weights []float32
	layers  []batch.Layer
	table   arrow.Table
	results []*batch.Result
}

func benchModel(b *testing.B) {
	bench.once.Do(func() {
		n := benchLayers * benchRows * benchCols
		r := rand.New(rand.NewPCG(1, 1))
		bench.weights = make([]float32, n)
		for i := range bench.weights {
			bench.weights[i] = float32(r.NormFloat64() * 0.05)
		}
		names := array.NewStringBuilder(memory.DefaultAllocator)
		shapes := array.NewListBuilder(memory.DefaultAllocator, arrow.PrimitiveTypes.Int64)
		offsets := make([]int32, benchLayers+1)
		for i := range benchLayers {
			name := fmt.Sprintf("layers.%03d.weight", i)
			w := bench.weights[i*benchRows*benchCols : (i+1)*benchRows*benchCols]
			bench.layers = append(bench.layers, batch.Float32Layer(name, []int{benchRows, benchCols}, w))
			names.Append(name)
			shapes.Append(true)
			shapes.ValueBuilder().(*array.Int64Builder).AppendValues([]int64{benchRows, benchCols}, nil)
			offsets[i+1] = int32((i + 1) * benchRows * benchCols)
		}
		values := array.NewData(arrow.PrimitiveTypes.Float32, n, []*memory.Buffer{nil, memory.NewBufferBytes(arrow.Float32Traits.CastToBytes(bench.weights))}, nil, 0, 0)
		weights := array.NewData(arrow.ListOf(arrow.PrimitiveTypes.Float32), benchLayers,
			[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offsets))}, []arrow.ArrayData{values}, 0, 0)
		cols := []arrow.Array{names.NewArray(), array.MakeFromData(weights), shapes.NewArray()}
		sc := arrow.NewSchema([]arrow.Field{
			{Name: colName, Type: cols[0].DataType()}, {Name: colWeights, Type: cols[1].DataType()}, {Name: colShape, Type: cols[2].DataType()},
		}, nil)
		bench.table = array.NewTableFromSlice(sc, [][]arrow.Array{{cols[0]}, {cols[1]}, {cols[2]}})
	})
	if bench.table == nil {
		b.Fatal("no benchmark model")
	}
}

func benchResults(b *testing.B) []*batch.Result {
	benchModel(b)
	if bench.results == nil {
		res, err := batch.Quantize(context.Background(), bench.layers, batch.Options{})
		if err != nil {
			b.Fatal(err)
		}
		bench.results = res
	}
	return bench.results
}

func reportParams(b *testing.B) {
	b.SetBytes(4 * benchLayers * benchRows * benchCols)
	b.ReportMetric(float64(b.N)*benchLayers*benchRows*benchCols/b.Elapsed().Seconds(), "params/s")
}

// BenchmarkQuantize compares the engine on the layers with arrowio.Quantize
// on the same weights as an Arrow table, table in and table out.
func BenchmarkQuantize(b *testing.B) {
	b.Run("batch.Quantize", func(b *testing.B) {
		benchModel(b)
		for b.Loop() {
			if _, err := batch.Quantize(context.Background(), bench.layers, batch.Options{}); err != nil {
				b.Fatal(err)
			}
		}
		reportParams(b)
	})
	b.Run("arrowio.Quantize", func(b *testing.B) {
		benchModel(b)
		for b.Loop() {
			out, err := Quantize(context.Background(), bench.table, batch.Options{})
			if err != nil {
				b.Fatal(err)
			}
			out.Release()
		}
		reportParams(b)
	})
}

// BenchmarkWrite measures the writers on the 4-bit results of the model:
// MB/s of codes, scales and zero points written, Commit (with its fsync)
// included.
func BenchmarkWrite(b *testing.B) {
	results := benchResults(b)
	size := resultBytes(results)
	for _, f := range formats {
		b.Run(f.name, func(b *testing.B) {
			dir := b.TempDir()
			b.SetBytes(size)
			for b.Loop() {
				writeResults(b, f.create, filepath.Join(dir, "out"+f.ext), nil, results)
			}
			b.ReportMetric(float64(b.N)*benchLayers*benchRows*benchCols/b.Elapsed().Seconds(), "params/s")
		})
	}
}

// BenchmarkReadResults measures ReadResults on the files BenchmarkWrite
// writes: MB/s of codes, scales and zero points read back and checked.
func BenchmarkReadResults(b *testing.B) {
	results := benchResults(b)
	size := resultBytes(results)
	for _, f := range formats {
		b.Run(f.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "out"+f.ext)
			writeResults(b, f.create, path, nil, results)
			b.SetBytes(size)
			for b.Loop() {
				if _, err := ReadResults(path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// resultBytes is the bytes of codes, scales and zero points of results.
func resultBytes(results []*batch.Result) int64 {
	var size int64
	for _, r := range results {
		size += int64(len(r.Codes)) + 4*int64(len(r.Scales)+len(r.ZeroPoints))
	}
	return size
}
