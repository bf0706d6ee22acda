package quant

import (
	"math/rand/v2"
	"testing"
)

func benchInput(n int) []float32 {
	r := rand.New(rand.NewPCG(7, 7))
	return fill(n, func(int) float64 { return r.NormFloat64() * 0.02 })
}

// BenchmarkQuantizeBlock measures the single-threaded kernel on a 1024×1024
// layer: minimum/maximum, parameters, codes, packing and quality sums.
func BenchmarkQuantizeBlock(b *testing.B) {
	const rows, cols = 1024, 1024
	x := benchInput(rows * cols)
	for _, bits := range []int{2, 4, 8} {
		b.Run(map[int]string{2: "int2", 4: "int4", 8: "int8"}[bits], func(b *testing.B) {
			t, _ := NewTensor([]int{rows, cols}, Params{Bits: bits})
			var z Quantizer
			b.SetBytes(int64(len(x)) * 4)
			for b.Loop() {
				if _, err := z.QuantizeBlock(t, x, 0, rows, 0, cols, Float16); err != nil {
					b.Fatal(err)
				}
			}
			perParam := b.Elapsed().Seconds() / float64(b.N) / float64(len(x))
			b.ReportMetric(1/perParam, "params/s")
			b.ReportMetric(perParam*1e9, "ns/param")
		})
	}
}

// BenchmarkMemcpy copies the same bytes as BenchmarkQuantizeBlock reads, as
// the floor every kernel figure can be read against.
func BenchmarkMemcpy(b *testing.B) {
	x := benchInput(1024 * 1024)
	dst := make([]float32, len(x))
	b.SetBytes(int64(len(x)) * 4)
	for b.Loop() {
		copy(dst, x)
	}
	perParam := b.Elapsed().Seconds() / float64(b.N) / float64(len(x))
	b.ReportMetric(1/perParam, "params/s")
	b.ReportMetric(perParam*1e9, "ns/param")
}

func BenchmarkDequantize(b *testing.B) {
	x := benchInput(1024 * 1024)
	q, _, _ := Quantize(x, []int{1024, 1024}, Params{Bits: 4})
	dst := make([]float32, len(x))
	b.SetBytes(int64(len(x)) * 4)
	for b.Loop() {
		DequantizeInto(dst, q)
	}
	b.ReportMetric(float64(len(x))*float64(b.N)/b.Elapsed().Seconds(), "params/s")
}
