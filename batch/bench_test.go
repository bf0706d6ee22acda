package batch

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/arrowquant/arrowquant/quant"
)

func benchLayers(n, rows, cols int, dtype DType) ([]Layer, int64) {
	r := rand.New(rand.NewPCG(1, 1))
	data := make([]byte, rows*cols*dtype.Size())
	for i := 0; i < rows*cols; i++ {
		v := float32(r.NormFloat64() * 0.02)
		switch dtype {
		case Float32:
			copy(data[4*i:], float32Bytes([]float32{v}))
		case Float16:
			h := quant.Float32ToHalf(v)
			data[2*i], data[2*i+1] = byte(h), byte(h>>8)
		}
	}
	layers := make([]Layer, n)
	for i := range layers {
		// The layers share one buffer: the data is read, never written.
		layers[i] = Layer{Name: fmt.Sprintf("layer.%03d", i), Shape: []int{rows, cols}, DType: dtype, Data: data}
	}
	return layers, int64(n * rows * cols)
}

func runBench(b *testing.B, layers []Layer, params int64, workers int) {
	runBenchOpts(b, layers, params, Options{Bits: 4, Workers: workers})
}

func runBenchOpts(b *testing.B, layers []Layer, params int64, opts Options) {
	b.SetBytes(params * int64(layers[0].DType.Size()))
	for b.Loop() {
		if _, err := Quantize(context.Background(), layers, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(params)*float64(b.N)/b.Elapsed().Seconds(), "params/s")
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N)/float64(params), "ns/param")
}

// BenchmarkHundredLayers is the headline scenario of the design this replaces:
// 100 layers of 1024×1024 float32 to 4 bits.
func BenchmarkHundredLayers(b *testing.B) {
	layers, params := benchLayers(100, 1024, 1024, Float32)
	for _, w := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) { runBench(b, layers, params, w) })
	}
}

// BenchmarkHundredLayersSkipQuality is BenchmarkHundredLayers without the
// quality figures (Options.SkipQuality), as the Python binding runs it.
func BenchmarkHundredLayersSkipQuality(b *testing.B) {
	layers, params := benchLayers(100, 1024, 1024, Float32)
	for _, w := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			runBenchOpts(b, layers, params, Options{Bits: 4, Workers: w, SkipQuality: true})
		})
	}
}

// BenchmarkOneBigLayer is a single 64M-parameter layer: only chunking inside
// the layer can keep more than one core busy.
func BenchmarkOneBigLayer(b *testing.B) {
	for _, dt := range []DType{Float32, Float16} {
		layers, params := benchLayers(1, 8192, 8192, dt)
		for _, w := range []int{1, runtime.GOMAXPROCS(0)} {
			b.Run(fmt.Sprintf("%v/workers=%d", dt, w), func(b *testing.B) { runBench(b, layers, params, w) })
		}
	}
}

// BenchmarkMemcpy copies the bytes of one 64M-parameter float32 layer, the
// floor the other figures can be read against.
func BenchmarkMemcpy(b *testing.B) {
	const n = 8192 * 8192
	src, dst := make([]float32, n), make([]float32, n)
	b.SetBytes(4 * n)
	for b.Loop() {
		copy(dst, src)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "params/s")
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N)/n, "ns/param")
}
