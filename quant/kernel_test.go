package quant

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The fast kernels (minMaxGeneric, encodeGeneric, pack*Generic and, on amd64
// with AVX2, their assembly twins) are checked here against the original
// scalar code kept in reference_test.go, on random and adversarial inputs.
// The portable functions are called directly, so both paths are tested in
// every build; `go test -tags purego` also runs the whole package on them.

var (
	nan    = float32(math.NaN())
	posInf = float32(math.Inf(1))
	negInf = float32(math.Inf(-1))
)

// kernelLengths are group lengths around the SIMD widths (8 floats, 16 per
// minMax iteration, 32 codes per pack step) and a few long ones.
var kernelLengths = func() []int {
	var ns []int
	for n := 1; n <= 70; n++ {
		ns = append(ns, n)
	}
	return append(ns, 127, 128, 129, 255, 256, 257, 1000, 4095, 4096, 4099)
}()

// kernelInputs generates the values of one group.
var kernelInputs = []struct {
	name string
	gen  func(r *rand.Rand, n int) []float32
}{
	{"gaussian weights", func(r *rand.Rand, n int) []float32 {
		return fill(n, func(int) float64 { return r.NormFloat64() * 0.02 })
	}},
	{"uniform", func(r *rand.Rand, n int) []float32 { return fill(n, func(int) float64 { return r.Float64()*2 - 1 }) }},
	{"subnormals", func(r *rand.Rand, n int) []float32 {
		return fill(n, func(int) float64 { return (r.Float64()*2 - 1) * 1e-39 })
	}},
	{"tiny normals", func(r *rand.Rand, n int) []float32 {
		return fill(n, func(int) float64 { return r.NormFloat64() * 1e-30 })
	}},
	{"huge magnitudes", func(r *rand.Rand, n int) []float32 {
		return fill(n, func(int) float64 { return r.NormFloat64() * 1e37 })
	}},
	{"float32 extremes", func(r *rand.Rand, n int) []float32 {
		return fill(n, func(int) float64 { return (r.Float64()*2 - 1) * math.MaxFloat32 })
	}},
	{"random bit patterns", func(r *rand.Rand, n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			for {
				x[i] = math.Float32frombits(r.Uint32())
				if !math.IsNaN(float64(x[i])) && !math.IsInf(float64(x[i]), 0) {
					break
				}
			}
		}
		return x
	}},
	{"signed zeros", func(r *rand.Rand, n int) []float32 {
		return fill(n, func(int) float64 { return []float64{0, math.Copysign(0, -1)}[r.IntN(2)] })
	}},
	{"signed zeros and one value", func(r *rand.Rand, n int) []float32 {
		x := fill(n, func(int) float64 { return []float64{0, math.Copysign(0, -1)}[r.IntN(2)] })
		x[r.IntN(n)] = 0.25
		return x
	}},
	{"constant", func(r *rand.Rand, n int) []float32 { return fill(n, func(int) float64 { return 0.1 }) }},
	{"integers on half steps", func(r *rand.Rand, n int) []float32 {
		return fill(n, func(int) float64 { return float64(r.IntN(64)-32) / 2 })
	}},
}

func TestMinMaxAgreesWithTheReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, in := range kernelInputs {
		for _, n := range kernelLengths {
			x := in.gen(r, n)
			checkMinMax(t, in.name, x)
		}
	}
}

func TestMinMaxRefusesNaNAndInfAtEveryPosition(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range append(kernelLengths[:48], 129, 257) {
		for pos := 0; pos < n; pos++ {
			for _, bad := range []float32{nan, posInf, negInf, -nan} {
				x := fill(n, func(int) float64 { return r.NormFloat64() })
				x[pos] = bad
				checkMinMax(t, fmt.Sprintf("%v at %d", bad, pos), x)
			}
		}
	}
	// Non-finite values only, and a NaN next to infinities.
	checkMinMax(t, "all NaN", []float32{nan, nan, nan, nan, nan, nan, nan, nan, nan})
	checkMinMax(t, "NaN among infinities", []float32{posInf, negInf, posInf, negInf, nan, posInf, negInf, posInf, negInf})
}

// checkMinMax compares every minMax implementation with minMaxReference. A
// group of signed zeros may report either zero: every caller treats them
// alike (constantParams and rangeParams only compare and subtract them), so
// the values are compared with ==, which also makes −0 equal +0.
func checkMinMax(t *testing.T, name string, x []float32) {
	t.Helper()
	wantMn, wantMx, wantOK := minMaxReference(x)
	impls := []struct {
		name string
		f    func([]float32) (float32, float32, bool)
	}{{"minMax", minMax}, {"minMaxGeneric", minMaxGeneric}}
	if useAVX2 && len(x) >= 8 {
		impls = append(impls, struct {
			name string
			f    func([]float32) (float32, float32, bool)
		}{"minMaxAVX2", minMaxAVX2})
	}
	for _, impl := range impls {
		mn, mx, ok := impl.f(x)
		if ok != wantOK || (ok && (mn != wantMn || mx != wantMx)) {
			t.Fatalf("%s, %s of %d: got (%v, %v, %v), want (%v, %v, %v)", name, impl.name, len(x), mn, mx, ok, wantMn, wantMx, wantOK)
		}
	}
}

// encodeCase is one call of encodeFast: a group and its parameters.
type encodeCase struct {
	name             string
	x                []float32
	inv, scale, zero float32
	qmax             int32
}

func encodeCases() []encodeCase {
	r := rand.New(rand.NewPCG(7, 8))
	var cases []encodeCase
	for _, in := range kernelInputs {
		for _, n := range kernelLengths {
			x := in.gen(r, n)
			mn, mx, _ := minMaxReference(x)
			for _, bits := range []int{2, 4, 8} {
				qmax := int32(1)<<bits - 1
				for _, format := range []ScaleFormat{Float16, Float32} {
					if mn == mx {
						continue
					}
					scale, zero, err := rangeParams(mn, mx, qmax, format)
					if err != nil || !fastPath(scale) {
						continue
					}
					cases = append(cases, encodeCase{fmt.Sprintf("%s, %d values, %d bits, %v", in.name, n, bits, format), x, 1 / scale, scale, zero, qmax})
				}
				// Parameters that clip at both ends, to exercise the clamp.
				cases = append(cases, encodeCase{fmt.Sprintf("%s, %d values, %d bits, clipping", in.name, n, bits),
					fill(n, func(int) float64 { return r.NormFloat64() }), 40, 1.0 / 40, float32(qmax) / 2, qmax})
			}
		}
	}
	return cases
}

func TestEncodeAgreesWithTheReference(t *testing.T) {
	for _, c := range encodeCases() {
		wantCodes := make([]uint8, len(c.x))
		want := encodeReference(c.x, wantCodes, c.inv, c.scale, c.zero, c.qmax)
		codes := make([]uint8, len(c.x)+1)
		codes[len(c.x)] = 0xAA // must not be written
		got := encodeFast(c.x, codes, c.inv, c.scale, c.zero, c.qmax)
		if !bytes.Equal(codes[:len(c.x)], wantCodes) || codes[len(c.x)] != 0xAA {
			t.Fatalf("%s: codes differ from the reference", c.name)
		}
		if got.n != want.n || got.maxAbsErr != want.maxAbsErr {
			t.Fatalf("%s: n, max|x − x̂| = %d, %v; want %d, %v", c.name, got.n, got.maxAbsErr, want.n, want.maxAbsErr)
		}
		// The sums are the same terms added in another order: each may
		// differ by n rounding errors of the sum of the terms' magnitudes.
		// Σx·x̂ is derived from the three others, (Σx² + Σx̂² − Σ(x−x̂)²)/2,
		// so its error is that of those sums plus two more roundings: its
		// bound takes their magnitudes too. (With clipping parameters, as
		// below, x̂ does not follow x and the derivation loses a few bits
		// against Σ|x·x̂|; the parameters the quantizer picks never clip.)
		bound := sumBounds(c.x, wantCodes, c.scale, c.zero)
		for _, s := range []struct {
			name            string
			got, want, mags float64
			extra           int
		}{
			{"Σ(x−x̂)²", got.sqErr, want.sqErr, bound.sqErr, 0},
			{"Σx²", got.sqX, want.sqX, bound.sqX, 0},
			{"Σx̂²", got.sqXHat, want.sqXHat, bound.sqXHat, 0},
			{"Σx·x̂", got.xXHat, want.xXHat, bound.xXHat + bound.sqX + bound.sqXHat + bound.sqErr, 2},
		} {
			if math.Abs(s.got-s.want) > float64(len(c.x)+s.extra)*0x1p-52*s.mags {
				t.Fatalf("%s: %s = %v, reference %v", c.name, s.name, s.got, s.want)
			}
		}
	}
}

// sumBounds returns the sums of the magnitudes of the terms of each sum.
func sumBounds(x []float32, codes []uint8, scale, zero float32) groupSums {
	var b groupSums
	for i, v := range x {
		xh := float32(float32(codes[i])-zero) * scale
		vf, hf := float64(v), float64(xh)
		d := vf - hf
		b.sqErr += d * d
		b.sqX += vf * vf
		b.sqXHat += hf * hf
		b.xXHat += math.Abs(vf * hf)
	}
	return b
}

func TestEncodeAVX2MatchesTheGenericLoopBitForBit(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2 kernel in this build or on this CPU")
	}
	for _, c := range encodeCases() {
		n8 := len(c.x) &^ 7
		if n8 == 0 {
			continue
		}
		codesA, codesG := make([]uint8, n8), make([]uint8, n8)
		var a, g groupSums
		a.sqErr, a.sqX, a.sqXHat, a.maxAbsErr = encodeAVX2(c.x[:n8], codesA, c.inv, c.zero, c.scale, c.qmax)
		g.sqErr, g.sqX, g.sqXHat, g.maxAbsErr = encodeGeneric(c.x[:n8], codesG, c.inv, c.zero, c.scale, c.qmax)
		if a != g || !bytes.Equal(codesA, codesG) {
			t.Fatalf("%s: AVX2 %+v, generic %+v", c.name, a, g)
		}
	}
}

func TestPackRowAgreesWithTheReference(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, bits := range []int{2, 4, 8} {
		for n := 1; n <= 300; n++ {
			codes := make([]uint8, n)
			for i := range codes {
				codes[i] = uint8(r.IntN(1 << bits))
			}
			size := (n*bits + 7) / 8
			want := make([]byte, size)
			packRowReference(want, codes, bits)
			impls := map[string]func(dst []byte){
				"packRow": func(dst []byte) { packRow(dst, codes, bits) },
			}
			switch bits {
			case 4:
				impls["pack4Generic"] = func(dst []byte) { pack4Generic(dst, codes) }
				if useAVX2 && n%32 == 0 {
					impls["pack4AVX2"] = func(dst []byte) { pack4AVX2(dst, codes) }
				}
			case 2:
				impls["pack2Generic"] = func(dst []byte) { pack2Generic(dst, codes) }
				if useAVX2 && n%32 == 0 {
					impls["pack2AVX2"] = func(dst []byte) { pack2AVX2(dst, codes) }
				}
			}
			for name, pack := range impls {
				dst := bytes.Repeat([]byte{0xAA}, size+1) // padding bits must be zeroed, the byte after untouched
				pack(dst[:size])
				if !bytes.Equal(dst[:size], want) || dst[size] != 0xAA {
					t.Fatalf("%s, %d codes of %d bits: % x, want % x", name, n, bits, dst[:size+1], want)
				}
			}
		}
	}
}

func TestRangeParamsFastAgreesWithRangeParams(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	// Random bit patterns cover every exponent; nearby pairs give small
	// steps and zero points far from the codes, where rounding decides.
	randFloat := func() float32 {
		for {
			v := math.Float32frombits(r.Uint32())
			if !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) {
				return v
			}
		}
	}
	fast := 0
	for i := range 400000 {
		var mn, mx float32
		switch i % 4 {
		case 0:
			mn, mx = randFloat(), randFloat()
		case 1:
			mn = float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(60)-40)))
			mx = mn + float32(r.Float64()*math.Pow(2, float64(r.IntN(60)-40)))
		case 2:
			mn = randFloat()
			mx = math.Nextafter32(mn, float32(math.Inf(1)))
			for range r.IntN(40) {
				mx = math.Nextafter32(mx, float32(math.Inf(1)))
			}
		case 3:
			mn = float32(-r.Float64() * 0.1)
			mx = float32(r.Float64() * 0.1)
		}
		if mn > mx {
			mn, mx = mx, mn
		}
		if mn == mx || math.IsInf(float64(mx), 0) {
			continue
		}
		for _, qmax := range []int32{3, 15, 255} {
			for _, format := range []ScaleFormat{Float16, Float32} {
				scale, zero, inv, ok := rangeParamsFast(mn, mx, qmax, format)
				if !ok {
					continue
				}
				fast++
				ws, wz, err := rangeParams(mn, mx, qmax, format)
				if err != nil || math.Float32bits(scale) != math.Float32bits(ws) || math.Float32bits(zero) != math.Float32bits(wz) || inv != 1/ws {
					t.Fatalf("[%v, %v] qmax %d %v: fast (%v, %v, %v), rangeParams (%v, %v, %v)", mn, mx, qmax, format, scale, zero, inv, ws, wz, err)
				}
			}
		}
	}
	if fast < 100000 {
		t.Fatalf("only %d ranges took the fast path", fast)
	}
}
