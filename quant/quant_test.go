package quant

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// distributions are the inputs every property is checked on.
var distributions = []struct {
	name string
	gen  func(r *rand.Rand, n int) []float32
}{
	{"uniform", func(r *rand.Rand, n int) []float32 { return fill(n, func(int) float64 { return r.Float64()*2 - 1 }) }},
	{"gaussian", func(r *rand.Rand, n int) []float32 {
		return fill(n, func(int) float64 { return r.NormFloat64() * 0.02 })
	}},
	{"heavy-tailed (Cauchy)", func(r *rand.Rand, n int) []float32 {
		return fill(n, func(int) float64 { return math.Tan(math.Pi * (r.Float64() - 0.5)) })
	}},
	{"gaussian with rare huge outliers", func(r *rand.Rand, n int) []float32 {
		return fill(n, func(int) float64 {
			if r.IntN(97) == 0 {
				return r.NormFloat64() * 1e4
			}
			return r.NormFloat64()
		})
	}},
	{"float32 subnormals", func(r *rand.Rand, n int) []float32 {
		return fill(n, func(int) float64 { return (r.Float64()*2 - 1) * 1e-39 })
	}},
	{"tiny normals", func(r *rand.Rand, n int) []float32 {
		return fill(n, func(int) float64 { return r.NormFloat64() * 1e-7 })
	}},
	{"huge magnitudes", func(r *rand.Rand, n int) []float32 {
		return fill(n, func(int) float64 { return r.NormFloat64() * 1e37 })
	}},
	{"large offset, small spread", func(r *rand.Rand, n int) []float32 { return fill(n, func(int) float64 { return 1000 + r.Float64() }) }},
	{"huge offset, tiny spread", func(r *rand.Rand, n int) []float32 {
		return fill(n, func(int) float64 { return 1e6 + r.Float64()*0.01 })
	}},
	{"all positive", func(r *rand.Rand, n int) []float32 { return fill(n, func(int) float64 { return 5 + r.Float64() }) }},
	{"constant non-representable in float16", func(r *rand.Rand, n int) []float32 { return fill(n, func(int) float64 { return 0.1 }) }},
	{"constant negative", func(r *rand.Rand, n int) []float32 { return fill(n, func(int) float64 { return -2.5 }) }},
	{"all zeros", func(r *rand.Rand, n int) []float32 { return make([]float32, n) }},
	{"few distinct values", func(r *rand.Rand, n int) []float32 {
		return fill(n, func(int) float64 { return float64(r.IntN(3)) - 1 })
	}},
	{"float32 extremes", func(r *rand.Rand, n int) []float32 {
		return fill(n, func(int) float64 { return (r.Float64()*2 - 1) * 3e38 })
	}},
}

func fill(n int, f func(int) float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(f(i))
	}
	return x
}

// checkBound asserts that every element decodes within half a step of its
// group's stored scale, plus float32 rounding of the values involved.
func checkBound(t *testing.T, x []float32, q *Tensor) {
	t.Helper()
	got, err := Dequantize(q)
	if err != nil {
		t.Fatal(err)
	}
	l := q.Layout()
	ng := l.GroupsPerRow()
	for i, v := range x {
		r, c := i/l.Cols, i%l.Cols
		g := r*ng + c/l.GroupSize
		s, z := q.Scales[g], q.ZeroPoints[g]
		if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) || s <= 0 || math.IsNaN(float64(z)) || math.IsInf(float64(z), 0) {
			t.Fatalf("group %d: scale %v zero point %v", g, s, z)
		}
		if q.Format == Float16 && (HalfToFloat32(Float32ToHalf(s)) != s || HalfToFloat32(Float32ToHalf(z)) != z) {
			t.Fatalf("group %d: scale %v or zero point %v is not a float16 value", g, s, z)
		}
		tol := float64(s)/2*(1+1e-6) + math.Abs(float64(v))*0x1p-22 + math.Abs(float64(z)*float64(s))*0x1p-22 + 0x1p-148
		if d := math.Abs(float64(v) - float64(got[i])); d > tol || math.IsNaN(float64(got[i])) {
			t.Fatalf("element %d (row %d col %d): x=%v decodes to %v, error %g > bound %g (scale %v, zero %v)", i, r, c, v, got[i], d, tol, s, z)
		}
	}
}

func TestEveryElementDecodesWithinHalfAStep(t *testing.T) {
	shapes := [][]int{{1000}, {7, 33}, {3, 5, 64}, {2, 300}, {4, 1}}
	for _, d := range distributions {
		for _, bits := range []int{2, 4, 8} {
			for _, gs := range []int{1, 5, 32, 128} {
				for _, format := range []ScaleFormat{Float16, Float32} {
					for _, shape := range shapes {
						r := rand.New(rand.NewPCG(uint64(bits), uint64(gs)))
						n := 1
						for _, s := range shape {
							n *= s
						}
						x := d.gen(r, n)
						q, qual, err := Quantize(x, shape, Params{Bits: bits, GroupSize: gs, Scales: format})
						if err != nil {
							t.Fatalf("%s %d bits group %d %v %v: %v", d.name, bits, gs, format, shape, err)
						}
						checkBound(t, x, q)
						if format == Float32 && q.Format != Float32 {
							t.Fatalf("%s: asked for float32 scales, got %v", d.name, q.Format)
						}
						xh, _ := Dequantize(q)
						want := Compare(x, xh)
						if !close(qual.Cosine, want.Cosine) || !close(qual.RMSE, want.RMSE) || qual.MaxAbsError != want.MaxAbsError {
							t.Fatalf("%s: running quality %+v, direct %+v", d.name, qual, want)
						}
					}
				}
			}
		}
	}
}

func close(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-9*max(math.Abs(a), math.Abs(b))
}

func TestFloat16FallsBackToFloat32OnlyWhenItMust(t *testing.T) {
	tests := []struct {
		name string
		x    []float32
		want ScaleFormat
	}{
		{"ordinary weights keep float16", []float32{-0.5, 0.25, 0.1, 0.7}, Float16},
		{"a step beyond float16's range needs float32", []float32{-1e6, 1e6}, Float32},
		{"a step below float16's precision needs float32", []float32{0, 1e-7}, Float32},
		{"a zero point beyond float16's precision needs float32", []float32{1000, 1000.5}, Float32},
		{"a constant float16 cannot hold needs float32", []float32{0.1, 0.1}, Float32},
		{"a constant float16 can hold keeps float16", []float32{0.5, 0.5}, Float16},
		{"all zeros keep float16", []float32{0, 0, 0}, Float16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, _, err := Quantize(tt.x, []int{len(tt.x)}, Params{Bits: 4})
			if err != nil {
				t.Fatal(err)
			}
			if q.Format != tt.want {
				t.Fatalf("format %v, want %v", q.Format, tt.want)
			}
			checkBound(t, tt.x, q)
		})
	}
}

func TestConstantGroupsDecodeExactly(t *testing.T) {
	x := []float32{0, 0, 0, 0, 3, 3, 3, 3, -0.1, -0.1, -0.1, -0.1, 7e-42, 7e-42, 7e-42, 7e-42}
	for _, bits := range []int{2, 4, 8} {
		q, qual, err := Quantize(x, []int{4, 4}, Params{Bits: bits, GroupSize: 4})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := Dequantize(q)
		for i := range x {
			if got[i] != x[i] {
				t.Fatalf("%d bits: element %d decodes to %v, want exactly %v", bits, i, got[i], x[i])
			}
		}
		if qual.RMSE != 0 || qual.Cosine != 1 || !math.IsInf(qual.SNRdB, 1) {
			t.Fatalf("%d bits: quality %+v, want exact", bits, qual)
		}
	}
}

func TestGroupsNeverCrossRows(t *testing.T) {
	// Row 0 is tiny, row 1 huge: a group straddling them would ruin row 0.
	x := []float32{0.001, 0.002, 0.003, 1000, 2000, 3000}
	q, _, err := Quantize(x, []int{2, 3}, Params{Bits: 4, GroupSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	if q.Layout().GroupsPerRow() != 1 || len(q.Scales) != 2 {
		t.Fatalf("got %d scales, want one group per row", len(q.Scales))
	}
	if q.Scales[0] > 0.001 {
		t.Fatalf("row 0 scale %v was widened by row 1", q.Scales[0])
	}
	checkBound(t, x, q)
}

func TestPackingPutsLowerColumnsInLowerBits(t *testing.T) {
	tests := []struct {
		name  string
		bits  int
		codes []uint8
		want  []byte
	}{
		{"2-bit, four to a byte", 2, []uint8{1, 2, 3, 0, 3}, []byte{0b00_11_10_01, 0b11}},
		{"4-bit, two to a byte, odd tail zero-padded", 4, []uint8{0x1, 0xf, 0x7}, []byte{0xf1, 0x07}},
		{"8-bit, one to a byte", 8, []uint8{9, 200}, []byte{9, 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := make([]byte, (len(tt.codes)*tt.bits+7)/8)
			for i := range dst {
				dst[i] = 0xAA // padding must be overwritten with zeros
			}
			packRow(dst, tt.codes, tt.bits)
			if !bytes.Equal(dst, tt.want) {
				t.Fatalf("packed %08b, want %08b", dst, tt.want)
			}
			back := make([]uint8, len(tt.codes))
			unpackRow(back, dst, tt.bits)
			if !bytes.Equal(back, tt.codes) {
				t.Fatalf("unpacked %v, want %v", back, tt.codes)
			}
			for c, want := range tt.codes {
				if got := Code(dst, c, tt.bits); got != want {
					t.Fatalf("Code(col %d) = %d, want %d", c, got, want)
				}
			}
		})
	}
}

func TestRowsStartOnByteBoundaries(t *testing.T) {
	x := fill(2*3, func(i int) float64 { return float64(i % 3) })
	q, _, err := Quantize(x, []int{2, 3}, Params{Bits: 2, GroupSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	// 3 columns of 2 bits: 6 bits per row, one byte each, top two bits zero.
	if len(q.Codes) != 2 {
		t.Fatalf("%d code bytes, want 2", len(q.Codes))
	}
	for r, b := range q.Codes {
		if b>>6 != 0 {
			t.Fatalf("row %d: padding bits set in %08b", r, b)
		}
	}
}

func TestFourBitsTakeHalfTheBytesOfEight(t *testing.T) {
	x := fill(64*256, func(i int) float64 { return math.Sin(float64(i)) })
	q4, _, _ := Quantize(x, []int{64, 256}, Params{Bits: 4})
	q8, _, _ := Quantize(x, []int{64, 256}, Params{Bits: 8})
	q2, _, _ := Quantize(x, []int{64, 256}, Params{Bits: 2})
	if 2*len(q4.Codes) != len(q8.Codes) || 4*len(q2.Codes) != len(q8.Codes) {
		t.Fatalf("code bytes 2/4/8 bits: %d %d %d", len(q2.Codes), len(q4.Codes), len(q8.Codes))
	}
}

func TestBlocksGiveTheSameBytesAsTheWholeTensor(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, bits := range []int{2, 4, 8} {
		for _, gs := range []int{3, 64} {
			shape := []int{5, 1000}
			x := fill(5000, func(int) float64 { return r.NormFloat64() })
			whole, _, err := Quantize(x, shape, Params{Bits: bits, GroupSize: gs})
			if err != nil {
				t.Fatal(err)
			}
			parts, _ := NewTensor(shape, Params{Bits: bits, GroupSize: gs})
			l := parts.Layout()
			step := l.SegmentAlign() * 7
			var z Quantizer
			var sums Sums
			for row := 0; row < l.Rows; row++ {
				for c0 := 0; c0 < l.Cols; c0 += step {
					c1 := min(c0+step, l.Cols)
					s, err := z.QuantizeBlock(parts, x[row*l.Cols+c0:row*l.Cols+c1], row, 1, c0, c1, whole.Format)
					if err != nil {
						t.Fatal(err)
					}
					sums.Add(s)
				}
			}
			if !bytes.Equal(whole.Codes, parts.Codes) {
				t.Fatalf("%d bits group %d: codes differ between whole and block-wise quantization", bits, gs)
			}
			for i := range whole.Scales {
				if whole.Scales[i] != parts.Scales[i] || whole.ZeroPoints[i] != parts.ZeroPoints[i] {
					t.Fatalf("group %d differs", i)
				}
			}
		}
	}
}

func TestInvalidInputsAreRefused(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name   string
		x      []float32
		shape  []int
		params Params
		check  func(error) bool
	}{
		{"bit width 3", []float32{1}, []int{1}, Params{Bits: 3}, func(err error) bool {
			var oe *OptionError
			return errors.As(err, &oe) && err.Error() == "invalid bit width 3: must be 2, 4 or 8"
		}},
		{"negative group size", []float32{1}, []int{1}, Params{GroupSize: -1}, func(err error) bool {
			var oe *OptionError
			return errors.As(err, &oe) && oe.Option == "group size"
		}},
		{"NaN reports its index", []float32{1, 2, 3, nan, 5}, []int{5}, Params{}, func(err error) bool {
			var nf *NonFiniteError
			return errors.As(err, &nf) && nf.Index == 3
		}},
		{"Inf in a later row reports its flat index", []float32{1, 2, 3, 4, float32(math.Inf(-1)), 6}, []int{2, 3}, Params{GroupSize: 2}, func(err error) bool {
			var nf *NonFiniteError
			return errors.As(err, &nf) && nf.Index == 4 && math.IsInf(float64(nf.Value), -1)
		}},
		{"empty tensor", nil, []int{0, 4}, Params{}, func(err error) bool { return errors.Is(err, ErrEmpty) }},
		{"rank 0", []float32{1}, []int{}, Params{}, func(err error) bool { var se *ShapeError; return errors.As(err, &se) }},
		{"shape and data disagree", []float32{1, 2, 3}, []int{2, 2}, Params{}, func(err error) bool {
			var se *ShapeError
			return errors.As(err, &se) && se.Elements == 3
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Quantize(tt.x, tt.shape, tt.params)
			if err == nil || !tt.check(err) {
				t.Fatalf("got error %v", err)
			}
		})
	}
}

func TestDequantizeRefusesInconsistentTensors(t *testing.T) {
	q, _, _ := Quantize([]float32{1, 2, 3, 4}, []int{4}, Params{})
	q.Codes = q.Codes[:1]
	if _, err := Dequantize(q); err == nil {
		t.Fatal("a tensor with too few code bytes decoded")
	}
}

func TestHugeGroupSizesDoNotOverflow(t *testing.T) {
	for _, gs := range []int{math.MaxInt, math.MaxInt / 3, 1 << 30} {
		q, _, err := Quantize([]float32{1, 2, 3, 4, 5, 6}, []int{2, 3}, Params{Bits: 2, GroupSize: gs})
		if err != nil {
			t.Fatalf("group size %d: %v", gs, err)
		}
		if len(q.Scales) != 2 || q.Layout().SegmentAlign() < 3 {
			t.Fatalf("group size %d: %d scales, segment align %d", gs, len(q.Scales), q.Layout().SegmentAlign())
		}
	}
}

func TestSegmentAlignIsTheFewestGroupsFillingWholeBytes(t *testing.T) {
	tests := []struct{ gs, bits, want int }{{128, 4, 128}, {3, 4, 6}, {3, 2, 12}, {5, 8, 5}, {1, 2, 4}, {6, 2, 12}}
	for _, tt := range tests {
		l := Layout{Rows: 1, Cols: 1000, Bits: tt.bits, GroupSize: tt.gs}
		if got := l.SegmentAlign(); got != tt.want {
			t.Errorf("group %d at %d bits: %d, want %d", tt.gs, tt.bits, got, tt.want)
		}
	}
}

func TestCheckRefusesARowTooLongToPack(t *testing.T) {
	if strconv.IntSize < 64 {
		t.Skip("needs 64-bit int")
	}
	long := 1
	long <<= strconv.IntSize - 3 // 2^61 on 64-bit; 32-bit builds skip
	q := &Tensor{Shape: []int{long + 1}, Bits: 8, GroupSize: 2 * long, Codes: make([]byte, 1), Scales: make([]float32, 1), ZeroPoints: make([]float32, 1)}
	if err := q.Check(); err == nil {
		t.Fatal("a tensor whose row length overflows the packing passed Check")
	}
}
