package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/arrowquant/arrowquant/batch"
)

// BenchmarkHundredLayers measures what the ABI adds to the engine: the same
// 100 distinct layers of 1000×1000 (400 MB, as python/bench.py uses) through
// batch.Quantize, which allocates its results, and through quantize, which
// copies them into caller buffers as they are emitted.
func BenchmarkHundredLayers(b *testing.B) {
	const n, rows, cols = 100, 1000, 1000
	r := rand.New(rand.NewPCG(1, 1))
	var layers []*layerIO
	var ref []batch.Layer
	for i := range n {
		x := make([]float32, rows*cols)
		for j := range x {
			x[j] = float32(r.NormFloat64())
		}
		name := fmt.Sprintf("layer.%03d", i)
		layers = append(layers, testLayer(name, []int{rows, cols}, x, 4, 128))
		ref = append(ref, batch.Float32Layer(name, []int{rows, cols}, x))
	}
	report := func(b *testing.B) {
		b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N)/(n*rows*cols), "ns/param")
	}
	b.Run("batch.Quantize", func(b *testing.B) {
		for b.Loop() {
			if _, err := batch.Quantize(context.Background(), ref, batch.Options{Bits: 4, GroupSize: 128}); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	b.Run("capi.quantize", func(b *testing.B) {
		for b.Loop() {
			if err := quantize(context.Background(), layers, request{bits: 4, groupSize: 128}); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
}
