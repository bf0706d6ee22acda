package quant

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// paramRanges are the kinds of [mn, mx] TestRowParamsMatchesRangeParamsFast
// feeds to rowParams: random and adversarial, around every bound that
// rangeParamsFast checks. gen gets qmax, as the bounds of the zero point
// depend on it.
var paramRanges = []struct {
	name string
	gen  func(r *rand.Rand, qmax int32) (mn, mx float32)
}{
	{"random bit patterns", func(r *rand.Rand, _ int32) (float32, float32) {
		return randFinite(r), randFinite(r)
	}},
	{"gaussian weights", func(r *rand.Rand, _ int32) (float32, float32) {
		return float32(r.NormFloat64() * 0.05), float32(r.NormFloat64() * 0.05)
	}},
	{"random exponents 2^-40..2^20", func(r *rand.Rand, _ int32) (float32, float32) {
		mn := float32(r.NormFloat64() * math.Ldexp(1, r.IntN(60)-40))
		return mn, mn + float32(r.Float64()*math.Ldexp(1, r.IntN(60)-40))
	}},
	{"a few ulps apart", func(r *rand.Rand, _ int32) (float32, float32) {
		mn := randFinite(r)
		mx := mn
		for range r.IntN(40) + 1 {
			mx = math.Nextafter32(mx, posInf)
		}
		return mn, mx
	}},
	{"equal", func(r *rand.Rand, _ int32) (float32, float32) {
		v := []float32{0, float32(math.Copysign(0, -1)), randFinite(r)}[r.IntN(3)]
		return v, v
	}},
	{"same sign", func(r *rand.Rand, _ int32) (float32, float32) {
		s := float32([]float64{1, -1}[r.IntN(2)])
		return s * float32(r.Float64()), s * float32(r.Float64())
	}},
	{"subnormal and tiny", func(r *rand.Rand, _ int32) (float32, float32) {
		return math.Float32frombits(r.Uint32() & 0x80ffffff), math.Float32frombits(r.Uint32() & 0x80ffffff)
	}},
	{"huge, to ±MaxFloat32", func(r *rand.Rand, _ int32) (float32, float32) {
		big := func() float32 {
			return math.Float32frombits(r.Uint32()&0x80000000 | uint32(250+r.IntN(5))<<23 | r.Uint32()&0x7fffff)
		}
		return []float32{big(), -math.MaxFloat32}[r.IntN(2)], []float32{big(), math.MaxFloat32}[r.IntN(2)]
	}},
	// Steps at the ends of the formats' normal ranges: float16's 2^-14 and
	// 65504, float32's 2^-126, a hair either side.
	{"steps at the format limits", func(r *rand.Rand, qmax int32) (float32, float32) {
		step := []float64{0x1p-14, 65504, 65520, 0x1p-126}[r.IntN(4)] * (1 + (r.Float64()-0.5)*0x1p-8)
		mn := float32((r.Float64() - 0.5) * step * float64(qmax))
		return mn, float32(float64(mn) + step*float64(qmax))
	}},
	// Zero points at float16's limits: ±65504 (and 65520, which rounds to
	// +Inf), ±2^-14 (the smallest normal) and ±2^16 (the exponent check).
	{"zero points at the float16 limits", func(r *rand.Rand, qmax int32) (float32, float32) {
		z := []float64{65504, 65520, 0x1p-14, 0x1p16}[r.IntN(4)] * (1 + (r.Float64()-0.5)*0x1p-9)
		if r.IntN(2) == 0 {
			z = -z
		}
		step := float64(HalfToFloat32(uint16(0x0400 + r.IntN(0x7800)))) // a normal float16
		mid := (float64(qmax)/2 - z) * step
		return float32(mid - step*float64(qmax)/2), float32(mid + step*float64(qmax)/2)
	}},
}

func randFinite(r *rand.Rand) float32 {
	for {
		if v := math.Float32frombits(r.Uint32()); !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) {
			return v
		}
	}
}

// rowParams, and through it the AVX2 kernel, must choose exactly what
// rangeParamsFast chooses group by group: the same ok decisions (inv == 0
// where it says no), and where it says yes the same scale, zero and inv, bit
// for bit, without touching mn and mx. Rows of 1 to 13 groups mix the kinds
// of range, so that every lane of the kernel and its overlapping last four
// see each kind next to every other.
func TestRowParamsMatchesRangeParamsFast(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	type outcome struct {
		kind string
		ok   bool
	}
	seen := map[outcome]int{}
	groups := make([]groupParams, 13)
	want := make([]groupParams, 13)
	for range 40000 {
		n := 1 + r.IntN(len(groups))
		qmax := []int32{3, 15, 255}[r.IntN(3)]
		format := []ScaleFormat{Float16, Float32}[r.IntN(2)]
		kinds := make([]string, n)
		for g := range n {
			k := &paramRanges[r.IntN(len(paramRanges))]
			mn, mx := k.gen(r, qmax)
			if math.IsInf(float64(mn), 0) || math.IsInf(float64(mx), 0) {
				mn, mx = 0, 1
			}
			if mn > mx {
				mn, mx = mx, mn
			}
			kinds[g] = k.name
			// Garbage in the outputs, which must all be overwritten.
			groups[g] = groupParams{mn: mn, mx: mx, scale: randFinite(r), zero: randFinite(r), inv: randFinite(r)}
			want[g] = groups[g]
			var ok bool
			if want[g].scale, want[g].zero, want[g].inv, ok = rangeParamsFast(mn, mx, qmax, format); !ok {
				want[g].inv = 0
			}
		}
		rowParams(groups[:n], qmax, format)
		for g := range n {
			got, w := groups[g], want[g]
			same := math.Float32bits(got.mn) == math.Float32bits(w.mn) && math.Float32bits(got.mx) == math.Float32bits(w.mx) &&
				math.Float32bits(got.inv) == math.Float32bits(w.inv)
			if w.inv != 0 {
				same = same && math.Float32bits(got.scale) == math.Float32bits(w.scale) && math.Float32bits(got.zero) == math.Float32bits(w.zero)
			}
			if !same {
				t.Fatalf("group %d of %d (%s), [%v, %v], qmax %d, %v: got %+v, rangeParamsFast %+v",
					g, n, kinds[g], w.mn, w.mx, qmax, format, got, w)
			}
			seen[outcome{fmt.Sprintf("%s, %v", kinds[g], format), w.inv != 0}]++
		}
	}
	// Both answers must have come up for every kind but "equal" (never ok),
	// or the ranges no longer test the bounds they were made for.
	for _, k := range paramRanges {
		for _, format := range []ScaleFormat{Float16, Float32} {
			name := fmt.Sprintf("%s, %v", k.name, format)
			t.Logf("%-45s ok %6d, not ok %6d", name, seen[outcome{name, true}], seen[outcome{name, false}])
		}
		for _, ok := range []bool{false, true} {
			n := seen[outcome{k.name + ", f16", ok}] + seen[outcome{k.name + ", f32", ok}]
			if n < 50 && !(k.name == "equal" && ok) {
				t.Errorf("%s: only %d ranges with ok = %v", k.name, n, ok)
			}
		}
	}
}

// groupRanges, and through it minMaxGroupsAVX2, must give every group the
// minimum and maximum of minMaxReference (compared with ==, as checkMinMax
// does: −0 and +0 are alike to every caller), and refuse a NaN or ±Inf at
// any position of any group.
func TestGroupRangesAgreeWithTheReference(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	check := func(name string, x []float32, gs int) {
		t.Helper()
		groups := make([]groupParams, (len(x)-1)/gs+1)
		ok := groupRanges(x, gs, groups)
		allOK := true
		for g := range groups {
			mn, mx, gok := minMaxReference(x[g*gs : min((g+1)*gs, len(x))])
			allOK = allOK && gok
			if ok && (groups[g].mn != mn || groups[g].mx != mx) {
				t.Fatalf("%s, groups of %d, %d values: group %d (%v, %v), want (%v, %v)", name, gs, len(x), g, groups[g].mn, groups[g].mx, mn, mx)
			}
		}
		if ok != allOK {
			t.Fatalf("%s, groups of %d, %d values: ok %v, want %v", name, gs, len(x), ok, allOK)
		}
	}
	for _, gs := range []int{1, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 128} {
		for _, ng := range []int{1, 2, 3, 5} {
			for _, short := range []int{0, 1, gs / 2} {
				if short >= gs {
					continue // the last group is never empty
				}
				n := ng*gs - short
				for _, in := range kernelInputs {
					check(in.name, in.gen(r, n), gs)
				}
				if gs > 33 {
					continue
				}
				for pos := range n {
					for _, bad := range []float32{nan, posInf, negInf, -nan} {
						x := fill(n, func(int) float64 { return r.NormFloat64() })
						x[pos] = bad
						check(fmt.Sprintf("%v at %d", bad, pos), x, gs)
					}
				}
			}
		}
	}
}

// encodeFittedRow leaves the clamp out where parameters were checked to fit:
// on the parameters block picks, by rangeParamsFast or, where it declines,
// by chooseParams, it must write the codes of the Go loop, and every value
// must indeed land in [0, qmax+1) on the code axis, the fact it relies on.
func TestFittedRowsMatchTheGoLoop(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2 kernel in this build or on this CPU")
	}
	r := rand.New(rand.NewPCG(45, 46))
	tested := 0
	for _, in := range kernelInputs {
		for _, gs := range []int{8, 16, 24, 40, 128} {
			for _, width := range []int{8, 16, 40, 128, 136, 1024} {
				x := in.gen(r, width)
				for _, bits := range []int{2, 4, 8} {
					qmax := int32(1)<<bits - 1
				formats:
					for _, format := range []ScaleFormat{Float16, Float32} {
						groups := make([]groupParams, (width-1)/gs+1)
						groupRanges(x, gs, groups)
						rowParams(groups, qmax, format)
						want := make([]uint8, width)
						for g := range groups {
							p := &groups[g]
							if p.mn == p.mx {
								continue formats // constant groups never take the row kernels
							}
							if p.inv == 0 {
								var err error
								if p.scale, p.zero, err = chooseParams(p.mn, p.mx, qmax, format); err != nil || !fastPath(p.scale) {
									continue formats
								}
								p.inv = 1 / p.scale
							}
							lo, hi := g*gs, min((g+1)*gs, width)
							encodeCodesGeneric(x[lo:hi], want[lo:hi], p.inv, p.zero, qmax)
							for _, v := range x[lo:hi] {
								if u := codeAxis(v, p.inv, p.zero); !(u >= 0 && u < float32(qmax)+1) {
									t.Fatalf("%s, %v, qmax %d: %v falls at %v on the code axis of [%v, %v]", in.name, format, qmax, v, u, p.mn, p.mx)
								}
							}
						}
						codes := make([]uint8, width+1)
						codes[width] = 0xAA // must not be written
						encodeFittedRow(x, codes[:width], groups, gs, qmax)
						if string(codes[:width]) != string(want) || codes[width] != 0xAA {
							t.Fatalf("%s, groups of %d, %d columns, %d bits, %v: codes differ", in.name, gs, width, bits, format)
						}
						tested++
					}
				}
			}
		}
	}
	if tested < 500 {
		t.Fatalf("only %d cases ran", tested)
	}
}
