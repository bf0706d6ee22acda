package quant

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// encodeBlockInputs generate a rows×cols matrix, row-major; gs lets an input
// vary from group to group.
var encodeBlockInputs = []struct {
	name string
	gen  func(r *rand.Rand, rows, cols, gs int) []float32
}{
	{"normal weights", func(r *rand.Rand, rows, cols, _ int) []float32 {
		return fill(rows*cols, func(int) float64 { return r.NormFloat64() * 0.02 })
	}},
	{"uniform", func(r *rand.Rand, rows, cols, _ int) []float32 {
		return fill(rows*cols, func(int) float64 { return r.Float64()*2 - 1 })
	}},
	{"heavy tails (Cauchy)", func(r *rand.Rand, rows, cols, _ int) []float32 {
		return fill(rows*cols, func(int) float64 { return 0.01 * math.Tan(math.Pi*(r.Float64()-0.5)) })
	}},
	{"constant", func(r *rand.Rand, rows, cols, _ int) []float32 {
		return fill(rows*cols, func(int) float64 { return -0.375 })
	}},
	{"zeros of both signs", func(r *rand.Rand, rows, cols, _ int) []float32 {
		return fill(rows*cols, func(int) float64 { return []float64{0, math.Copysign(0, -1)}[r.IntN(2)] })
	}},
	{"subnormals", func(r *rand.Rand, rows, cols, _ int) []float32 {
		return fill(rows*cols, func(int) float64 { return (r.Float64()*2 - 1) * 1e-39 })
	}},
	{"tiny normals", func(r *rand.Rand, rows, cols, _ int) []float32 {
		return fill(rows*cols, func(int) float64 { return r.NormFloat64() * 1e-30 })
	}},
	{"huge magnitudes", func(r *rand.Rand, rows, cols, _ int) []float32 {
		return fill(rows*cols, func(int) float64 { return r.NormFloat64() * 1e37 })
	}},
	{"float32 extremes", func(r *rand.Rand, rows, cols, _ int) []float32 {
		return fill(rows*cols, func(int) float64 { return (r.Float64()*2 - 1) * math.MaxFloat32 })
	}},
	{"large offset, small spread (float16 zero point overflows)", func(r *rand.Rand, rows, cols, _ int) []float32 {
		return fill(rows*cols, func(int) float64 { return 1000 + r.NormFloat64()*0.01 })
	}},
	{"one far row (float32 needed late)", func(r *rand.Rand, rows, cols, _ int) []float32 {
		return fill(rows*cols, func(i int) float64 {
			if i/cols == rows-1 {
				return 5000 + r.NormFloat64()*0.001
			}
			return r.NormFloat64() * 0.02
		})
	}},
	{"a different kind in every group", func(r *rand.Rand, rows, cols, gs int) []float32 {
		// Normal, constant and subnormal groups in one row: the rows that
		// cannot take a row kernel whole.
		kinds := make([]int, rows*((cols-1)/gs+1))
		for i := range kinds {
			kinds[i] = r.IntN(5)
		}
		return fill(rows*cols, func(i int) float64 {
			switch kinds[i/cols*((cols-1)/gs+1)+i%cols/gs] {
			case 0:
				return 0.25
			case 1:
				return (r.Float64()*2 - 1) * 1e-40
			case 2:
				return r.NormFloat64() * 1e-3
			case 3:
				return r.Float64() * 100
			}
			return r.NormFloat64() * 0.02
		})
	}},
	{"integers on half steps", func(r *rand.Rand, rows, cols, _ int) []float32 {
		return fill(rows*cols, func(int) float64 { return float64(r.IntN(64)-32) / 2 })
	}},
	{"one NaN", func(r *rand.Rand, rows, cols, _ int) []float32 {
		x := fill(rows*cols, func(int) float64 { return r.NormFloat64() })
		x[r.IntN(len(x))] = nan
		return x
	}},
	{"-Inf and +Inf", func(r *rand.Rand, rows, cols, _ int) []float32 {
		x := fill(rows*cols, func(int) float64 { return r.NormFloat64() })
		x[r.IntN(len(x))] = negInf
		x[r.IntN(len(x))] = posInf
		return x
	}},
}

// quantizeBy quantizes x into t with encode, either as one block or, when
// bySegments, row by row in blocks of SegmentAlign columns, as batch cuts
// long rows. It stops at the first error.
func quantizeBy(t *Tensor, x []float32, format ScaleFormat, bySegments bool, encode func(t *Tensor, src []float32, r0, nrows, c0, c1 int, format ScaleFormat) error) error {
	l := t.Layout()
	if !bySegments {
		return encode(t, x, 0, l.Rows, 0, l.Cols, format)
	}
	step := l.SegmentAlign()
	for r := range l.Rows {
		for c0 := 0; c0 < l.Cols; c0 += min(step, l.Cols) {
			c1 := min(c0+step, l.Cols)
			if err := encode(t, x[r*l.Cols+c0:r*l.Cols+c1], r, 1, c0, c1, format); err != nil {
				return err
			}
		}
	}
	return nil
}

// sameError reports whether two errors of the quantizer say the same thing.
func sameError(a, b error) bool {
	var na, nb *NonFiniteError
	switch {
	case a == nil || b == nil:
		return a == b
	case errors.As(a, &na) || errors.As(b, &nb):
		return errors.As(a, &na) && errors.As(b, &nb) && na.Index == nb.Index && math.Float32bits(na.Value) == math.Float32bits(nb.Value)
	default:
		return IsNeedFloat32(a) == IsNeedFloat32(b) && a.Error() == b.Error()
	}
}

// sameTensor reports whether a and b hold the same codes, scales and zero
// points, bit for bit.
func sameTensor(a, b *Tensor) bool {
	if !bytes.Equal(a.Codes, b.Codes) {
		return false
	}
	for i := range a.Scales {
		if math.Float32bits(a.Scales[i]) != math.Float32bits(b.Scales[i]) ||
			math.Float32bits(a.ZeroPoints[i]) != math.Float32bits(b.ZeroPoints[i]) {
			return false
		}
	}
	return true
}

// EncodeBlock must write exactly what QuantizeBlock writes and fail exactly
// as it does, on every path: the row kernels, the group-by-group loop,
// constant and subnormal groups, the float16 → float32 fallback, non-finite
// input, and blocks that are segments of rows.
func TestEncodeBlockMatchesQuantizeBlock(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	widths := []int{1, 5, 8, 13, 24, 40, 100, 128, 136, 257, 1000, 1032}
	kinds := map[string]int{}
	for _, in := range encodeBlockInputs {
		for _, gs := range []int{1, 7, 8, 32, 64, 128, 256} {
			for _, cols := range widths {
				rows := 1 + cols%3
				x := in.gen(r, rows, cols, gs)
				for _, bits := range []int{2, 4, 8} {
					for _, format := range []ScaleFormat{Float16, Float32} {
						for _, bySegments := range []bool{false, true} {
							p := Params{Bits: bits, GroupSize: gs, Scales: format}
							want, _ := NewTensor([]int{rows, cols}, p)
							got, _ := NewTensor([]int{rows, cols}, p)
							var zq, ze Quantizer
							wantErr := quantizeBy(want, x, format, bySegments, func(t *Tensor, src []float32, r0, nrows, c0, c1 int, format ScaleFormat) error {
								_, err := zq.QuantizeBlock(t, src, r0, nrows, c0, c1, format)
								return err
							})
							gotErr := quantizeBy(got, x, format, bySegments, ze.EncodeBlock)
							name := fmt.Sprintf("%s, %d×%d, groups of %d, %d bits, %v, by segments %v", in.name, rows, cols, gs, bits, format, bySegments)
							if !sameError(gotErr, wantErr) {
								t.Fatalf("%s: EncodeBlock error %v, QuantizeBlock %v", name, gotErr, wantErr)
							}
							// Also after an error: both stop at the same place.
							if !sameTensor(got, want) {
								t.Fatalf("%s: codes, scales or zero points differ", name)
							}
							switch {
							case wantErr == nil:
								kinds["ok"]++
							case IsNeedFloat32(wantErr):
								kinds["need float32"]++
							default:
								kinds["other error"]++
							}
						}
					}
				}
			}
		}
	}
	// Every outcome must have been compared many times, or the inputs no
	// longer test what they claim to.
	for _, k := range []string{"ok", "need float32", "other error"} {
		if kinds[k] < 100 {
			t.Fatalf("outcomes %v: too few %q", kinds, k)
		}
	}
}
