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
	benchBlock(b, func(z *Quantizer, t *Tensor, x []float32, rows, cols int) error {
		_, err := z.QuantizeBlock(t, x, 0, rows, 0, cols, Float16)
		return err
	})
}

// BenchmarkEncodeBlock is BenchmarkQuantizeBlock without the quality sums,
// the path of callers that never read them (the Python binding).
func BenchmarkEncodeBlock(b *testing.B) {
	benchBlock(b, func(z *Quantizer, t *Tensor, x []float32, rows, cols int) error {
		return z.EncodeBlock(t, x, 0, rows, 0, cols, Float16)
	})
}

func benchBlock(b *testing.B, block func(z *Quantizer, t *Tensor, x []float32, rows, cols int) error) {
	const rows, cols = 1024, 1024
	x := benchInput(rows * cols)
	for _, bits := range []int{2, 4, 8} {
		b.Run(map[int]string{2: "int2", 4: "int4", 8: "int8"}[bits], func(b *testing.B) {
			t, _ := NewTensor([]int{rows, cols}, Params{Bits: bits})
			var z Quantizer
			b.SetBytes(int64(len(x)) * 4)
			for b.Loop() {
				if err := block(&z, t, x, rows, cols); err != nil {
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

// The benchmarks below time the parts of the kernel on the same input, in
// groups of 128: minMax, encodeFast and packRow, against their references.

func benchGroups(b *testing.B, f func(x []float32, codes []uint8)) {
	x := benchInput(1 << 16)
	codes := make([]uint8, len(x))
	b.SetBytes(int64(len(x)) * 4)
	for b.Loop() {
		for i := 0; i < len(x); i += 128 {
			f(x[i:i+128], codes[i:i+128])
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)/float64(len(x))*1e9, "ns/param")
}

var sinkSums groupSums

func BenchmarkMinMax(b *testing.B) {
	for _, impl := range []struct {
		name string
		f    func([]float32) (float32, float32, bool)
	}{{"reference", minMaxReference}, {"generic", minMaxGeneric}, {"dispatch", minMax}} {
		b.Run(impl.name, func(b *testing.B) {
			benchGroups(b, func(x []float32, _ []uint8) {
				mn, mx, _ := impl.f(x)
				sinkSums.sqX += float64(mn + mx)
			})
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	const scale, zero = 0.01, 7.5
	generic := func(x []float32, codes []uint8, inv, scale, zero float32, qmax int32) groupSums {
		var g groupSums
		g.sqErr, g.sqX, g.sqXHat, g.maxAbsErr = encodeGeneric(x, codes, inv, zero, scale, qmax)
		return g
	}
	for _, impl := range []struct {
		name string
		f    func([]float32, []uint8, float32, float32, float32, int32) groupSums
	}{{"reference", encodeReference}, {"generic", generic}, {"dispatch", encodeFast}} {
		b.Run(impl.name, func(b *testing.B) {
			benchGroups(b, func(x []float32, codes []uint8) {
				sinkSums = impl.f(x, codes, 1/scale, scale, zero, 15)
			})
		})
	}
}

func BenchmarkPackRow(b *testing.B) {
	codes := make([]uint8, 1024)
	for i := range codes {
		codes[i] = uint8(i * 7 % 4)
	}
	for _, bits := range []int{2, 4, 8} {
		dst := make([]byte, len(codes)*bits/8)
		b.Run(map[int]string{2: "int2", 4: "int4", 8: "int8"}[bits], func(b *testing.B) {
			for b.Loop() {
				packRow(dst, codes, bits)
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)/float64(len(codes))*1e9, "ns/param")
		})
	}
}

// BenchmarkRowKernels times the row kernels alone, with and without the
// sums, on rows of 1024 floats in groups of 128 (the input fits in L2).
func BenchmarkRowKernels(b *testing.B) {
	if !useAVX2 {
		b.Skip("no AVX2 kernel in this build or on this CPU")
	}
	const width, gs, qmax = 1024, 128, 15
	x := benchInput(1 << 16)
	codes := make([]uint8, width)
	var rows [][]groupParams
	for i := 0; i < len(x); i += width {
		groups, ok := rowGroups(x[i:i+width], gs, qmax, Float16)
		if !ok {
			b.Fatal("a group of the input does not take the fast path")
		}
		rows = append(rows, groups)
	}
	var acc rowSums
	type kernel = struct {
		name string
		f    func(x []float32, groups []groupParams)
	}
	kernels := []kernel{
		{"sums/AVX2", func(x []float32, g []groupParams) { encodeRowAVX2(x, codes, g, gs, qmax, &acc) }},
		{"codes/AVX2", func(x []float32, g []groupParams) { encodeCodesRowAVX2(x, codes, g, gs, qmax) }},
	}
	if useAVX512 {
		kernels = append(kernels,
			kernel{"sums/AVX512", func(x []float32, g []groupParams) { encodeRowAVX512(x, codes, g, gs, qmax, &acc) }},
			kernel{"codes/AVX512", func(x []float32, g []groupParams) { encodeCodesRowAVX512(x, codes, g, gs, qmax) }},
			kernel{"fitted/AVX512", func(x []float32, g []groupParams) { codesRowAVX512(x, codes, g, gs, qmax, false) }})
	}
	for _, k := range kernels {
		b.Run(k.name, func(b *testing.B) {
			b.SetBytes(int64(len(x)) * 4)
			for b.Loop() {
				for r, g := range rows {
					k.f(x[r*width:(r+1)*width], g)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)/float64(len(x))*1e9, "ns/param")
		})
	}
}

// BenchmarkRowParams times the choice of parameters alone, for the groups
// of 128 of the benchmark input taken 32 at a time, as block takes a batch
// of four rows of 1024: rangeParamsFast group by group against the kernels.
func BenchmarkRowParams(b *testing.B) {
	const gs, batch, qmax = 128, 32, 15
	x := benchInput(1 << 18)
	groups := make([]groupParams, len(x)/gs)
	groupRanges(x, gs, groups)
	type impl = struct {
		name string
		f    func([]groupParams)
	}
	impls := []impl{{"scalar", func(g []groupParams) {
		for i := range g {
			p := &g[i]
			p.scale, p.zero, p.inv, _ = rangeParamsFast(p.mn, p.mx, qmax, Float16)
		}
	}}}
	f := &stepBits[Float16]
	if useAVX2 {
		impls = append(impls, impl{"AVX2", func(g []groupParams) { rangeParamsAVX2(g, qmax, f.low, f.minStep, f.maxStep, true) }})
	}
	if useAVX512 {
		impls = append(impls, impl{"AVX512", func(g []groupParams) { rangeParamsAVX512(g, qmax, f.low, f.minStep, f.maxStep, true) }})
	}
	for _, k := range impls {
		b.Run(k.name, func(b *testing.B) {
			for b.Loop() {
				for i := 0; i < len(groups); i += batch {
					k.f(groups[i : i+batch])
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)/float64(len(groups))*1e9, "ns/group")
		})
	}
}
