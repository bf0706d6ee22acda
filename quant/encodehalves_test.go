package quant

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// TestEncodeFloat16MatchesFloat32ToHalf runs the vector path (and the scalar
// tail) over every exponent with mantissas around each rounding boundary,
// random bit patterns, NaNs in the middle of a block, and a destination
// that is not aligned for uint16.
func TestEncodeFloat16MatchesFloat32ToHalf(t *testing.T) {
	var src []float32
	for exp := uint32(0); exp < 256; exp++ {
		for _, m := range []uint32{0, 1, 0xfff, 0x1000, 0x1001, 0x1fff, 0x2000, 0x3000, 0x7fe000, 0x7fefff, 0x7ff000, 0x7ff001, 0x7fffff} {
			src = append(src, math.Float32frombits(exp<<23|m), math.Float32frombits(1<<31|exp<<23|m))
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 1 << 16 {
		src = append(src, math.Float32frombits(r.Uint32()))
	}
	finite := make([]float32, 0, len(src))
	for _, v := range src {
		if !math.IsNaN(float64(v)) {
			finite = append(finite, v)
		}
	}
	nanInside := append(append(append([]float32{}, finite[:21]...), float32(math.NaN())), finite[21:100]...)
	for _, tc := range []struct {
		name string
		src  []float32
	}{
		{"finite", finite},
		{"all", src},
		{"NaN in the third block", nanInside},
		{"short", finite[:5]},
		{"empty", nil},
	} {
		for _, shift := range []int{0, 1} {
			buf := make([]byte, 2*len(tc.src)+shift)
			dst := buf[shift:]
			EncodeFloat16(dst, tc.src)
			for i, v := range tc.src {
				if got, want := binary.LittleEndian.Uint16(dst[2*i:]), Float32ToHalf(v); got != want {
					t.Fatalf("%s, dst offset %d: value %d (%v = %#08x) encodes to %#04x, Float32ToHalf gives %#04x",
						tc.name, shift, i, v, math.Float32bits(v), got, want)
				}
			}
		}
	}
}

func BenchmarkEncodeFloat16(b *testing.B) {
	src := make([]float32, 1<<16)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range src {
		src[i] = float32(r.NormFloat64())
	}
	dst := make([]byte, 2*len(src))
	b.SetBytes(int64(4 * len(src)))
	for b.Loop() {
		EncodeFloat16(dst, src)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(src)), "ns/value")
}
