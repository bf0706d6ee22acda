package quant

import (
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
						ng := (width-1)/gs + 1
						groups := make([]groupParams, ng)
						ok := true
						for g := range groups {
							mn, mx, _ := minMax(x[g*gs : min((g+1)*gs, width)])
							s, z, inv, fast := rangeParamsFast(mn, mx, qmax, format)
							if mn == mx || !fast {
								ok = false
								break
							}
							groups[g] = groupParams{mn, mx, s, z, inv}
						}
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

func sameBits(a, b rowSums) bool {
	for i, p := range [][2]float64{{a.sqErr, b.sqErr}, {a.sqX, b.sqX}, {a.sqXHat, b.sqXHat}, {a.xXHat, b.xXHat}, {a.maxAbsErr, b.maxAbsErr}} {
		_ = i
		if math.Float64bits(p[0]) != math.Float64bits(p[1]) {
			return false
		}
	}
	return true
}
