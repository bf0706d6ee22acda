package quant

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The row kernels must give what QuantizeBlock's group-by-group loop gives:
// the same codes, and the same sums added in the same order, bit for bit.
func TestRowKernelsMatchTheGroupLoopBitForBit(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2 kernel in this build or on this CPU")
	}
	kernels := []struct {
		name string
		f    func([]float32, []uint8, []groupParams, int, int32, *rowSums)
	}{{"encodeRowAVX2", encodeRowAVX2}}
	if useAVX512 {
		kernels = append(kernels, struct {
			name string
			f    func([]float32, []uint8, []groupParams, int, int32, *rowSums)
		}{"encodeRowAVX512", encodeRowAVX512})
	}
	r := rand.New(rand.NewPCG(9, 10))
	tested := 0
	for _, in := range kernelInputs {
		for _, gs := range []int{8, 16, 24, 32, 40, 128, 256} {
			for _, width := range []int{8, 16, 24, 40, 128, 136, 1000, 1024} {
				x := in.gen(r, width)
				for _, bits := range []int{2, 4, 8} {
					qmax := int32(1)<<bits - 1
					for _, format := range []ScaleFormat{Float16, Float32} {
						groups, ok := rowGroups(x, gs, qmax, format)
						if !ok {
							continue
						}
						// Start from sums already holding something, as for
						// every row after the first.
						start := rowSums{sqErr: 0.25, sqX: 3, sqXHat: 2.5, xXHat: 1.125, maxAbsErr: 0x1p-30}
						want, wantCodes := start, make([]uint8, width)
						for g, p := range groups {
							lo, hi := g*gs, min((g+1)*gs, width)
							e, xx, hh, m := encodeSums(x[lo:hi], wantCodes[lo:hi], p.inv, p.scale, p.zero, qmax)
							want.sqErr += e
							want.sqX += xx
							want.sqXHat += hh
							want.xXHat += xXHat(e, xx, hh)
							want.maxAbsErr = max(want.maxAbsErr, m)
						}
						for _, k := range kernels {
							got, codes := start, make([]uint8, width+1)
							codes[width] = 0xAA // must not be written
							k.f(x, codes[:width], groups, gs, qmax, &got)
							name := fmt.Sprintf("%s, %s, groups of %d, %d columns, %d bits, %v", k.name, in.name, gs, width, bits, format)
							if string(codes[:width]) != string(wantCodes) || codes[width] != 0xAA {
								t.Fatalf("%s: codes differ", name)
							}
							if !sameBits(got, want) {
								t.Fatalf("%s: sums %+v, want %+v", name, got, want)
							}
							tested++
						}
					}
				}
			}
		}
	}
	if tested < 1000 {
		t.Fatalf("only %d cases ran", tested)
	}
}

// rowGroups returns the parameters QuantizeBlock picks for the groups of gs
// elements of row x, and false unless every group takes the fast path, as
// the row kernels require.
func rowGroups(x []float32, gs int, qmax int32, format ScaleFormat) ([]groupParams, bool) {
	groups := make([]groupParams, (len(x)-1)/gs+1)
	for g := range groups {
		mn, mx, _ := minMax(x[g*gs : min((g+1)*gs, len(x))])
		s, z, inv, fast := rangeParamsFast(mn, mx, qmax, format)
		if mn == mx || !fast {
			return nil, false
		}
		groups[g] = groupParams{mn, mx, s, z, inv}
	}
	return groups, true
}

func sameBits(a, b rowSums) bool {
	for i, p := range [][2]float64{{a.sqErr, b.sqErr}, {a.sqX, b.sqX}, {a.sqXHat, b.sqXHat}, {a.xXHat, b.xXHat}, {a.maxAbsErr, b.maxAbsErr}} {
		_ = i
		if math.Float64bits(p[0]) != math.Float64bits(p[1]) {
			return false
		}
	}
	return true
}

// The codes-only row kernels must write what the Go loop writes, group by
// group: encodeCodesGeneric, codeAxis and codeOf element by element. Besides
// the parameters QuantizeBlock picks, parameters that clip at both ends (and
// far beyond int32, where the conversion gives its "indefinite" value) check
// the clamp, which those never reach.
func TestCodesRowKernelsMatchTheGoLoop(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2 kernel in this build or on this CPU")
	}
	type kernel = func([]float32, []uint8, []groupParams, int, int32)
	kernels := map[string]kernel{"encodeCodesRowAVX2": encodeCodesRowAVX2}
	if useAVX512 {
		kernels["encodeCodesRowAVX512"] = encodeCodesRowAVX512
	}
	r := rand.New(rand.NewPCG(11, 12))
	tested := 0
	for _, in := range kernelInputs {
		for _, gs := range []int{8, 16, 24, 32, 40, 48, 128, 256} {
			for _, width := range []int{8, 16, 24, 32, 40, 56, 128, 136, 1000, 1024} {
				x := in.gen(r, width)
				for _, bits := range []int{2, 4, 8} {
					qmax := int32(1)<<bits - 1
					cases := map[string][]groupParams{}
					for _, format := range []ScaleFormat{Float16, Float32} {
						if groups, ok := rowGroups(x, gs, qmax, format); ok {
							cases[format.String()] = groups
						}
					}
					clip := make([]groupParams, (width-1)/gs+1)
					for g := range clip {
						inv := []float32{40, 1e12, 0x1p-100}[g%3]
						clip[g] = groupParams{scale: 1 / inv, zero: float32(qmax) / 2, inv: inv}
					}
					cases["clipping"] = clip
					for cname, groups := range cases {
						want := make([]uint8, width)
						for g, p := range groups {
							lo, hi := g*gs, min((g+1)*gs, width)
							encodeCodesGeneric(x[lo:hi], want[lo:hi], p.inv, p.zero, qmax)
						}
						for kname, k := range kernels {
							codes := bytes.Repeat([]byte{0xAA}, width+1) // the byte after must not be written
							k(x, codes[:width], groups, gs, qmax)
							if !bytes.Equal(codes[:width], want) || codes[width] != 0xAA {
								t.Fatalf("%s, %s, groups of %d, %d columns, %d bits, %s: codes differ\n got % x\nwant % x",
									kname, in.name, gs, width, bits, cname, codes[:width+1], want)
							}
							tested++
						}
					}
				}
			}
		}
	}
	if tested < 2000 {
		t.Fatalf("only %d cases ran", tested)
	}
}
