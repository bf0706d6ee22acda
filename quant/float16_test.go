package quant

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/x448/float16"
)

// halfReference decodes binary16 from its definition with math.Ldexp.
func halfReference(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	mant := float64(h & 0x3ff)
	switch exp {
	case 0x1f:
		if mant != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	case 0:
		return sign * math.Ldexp(mant, -24)
	}
	return sign * math.Ldexp(1+mant/1024, exp-15)
}

func TestHalfToFloat32DecodesEveryBitPatternExactly(t *testing.T) {
	subnormals := 0
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		got := HalfToFloat32(h)
		want := halfReference(h)
		if h&0x7c00 == 0 && h&0x3ff != 0 {
			subnormals++
		}
		if math.IsNaN(want) {
			if !math.IsNaN(float64(got)) {
				t.Fatalf("half %#04x: got %v, want NaN", h, got)
			}
			if lib := float16.Frombits(h).Float32(); math.Float32bits(lib) != math.Float32bits(got) {
				t.Fatalf("half %#04x: NaN payload %#08x differs from x448/float16 %#08x", h, math.Float32bits(got), math.Float32bits(lib))
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != math.Signbit(want) {
			t.Fatalf("half %#04x: got %v, want %v", h, got, want)
		}
		if lib := float16.Frombits(h).Float32(); lib != got {
			t.Fatalf("half %#04x: got %v, x448/float16 says %v", h, got, lib)
		}
		if back := Float32ToHalf(got); back != h {
			t.Fatalf("half %#04x: decoded %v re-encodes to %#04x", h, got, back)
		}
	}
	if subnormals != 2*1023 {
		t.Fatalf("checked %d subnormals, want 2046", subnormals)
	}
}

func TestBFloat16ToFloat32DecodesEveryBitPatternExactly(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		b := uint16(i)
		got := BFloat16ToFloat32(b)
		sign := 1.0
		if b&0x8000 != 0 {
			sign = -1
		}
		exp, mant := int(b>>7)&0xff, float64(b&0x7f)
		var want float64
		switch exp {
		case 0xff:
			want = math.Inf(int(sign))
			if mant != 0 {
				want = math.NaN()
			}
		case 0:
			want = sign * math.Ldexp(mant, -133)
		default:
			want = sign * math.Ldexp(1+mant/128, exp-127)
		}
		if math.IsNaN(want) != math.IsNaN(float64(got)) || (!math.IsNaN(want) && (float64(got) != want || math.Signbit(want) != math.Signbit(float64(got)))) {
			t.Fatalf("bfloat16 %#04x: got %v, want %v", b, got, want)
		}
		if !math.IsNaN(want) && Float32ToBFloat16(got) != b {
			t.Fatalf("bfloat16 %#04x does not round-trip", b)
		}
	}
}

func TestFloat32ToBFloat16RoundsToNearestEven(t *testing.T) {
	tests := []struct {
		name string
		in   uint32
		want uint16
	}{
		{"an exact value is kept", 0x3f800000, 0x3f80},
		{"below half rounds down", 0x3f807fff, 0x3f80},
		{"a tie rounds to the even neighbour below", 0x3f808000, 0x3f80},
		{"a tie rounds to the even neighbour above", 0x3f818000, 0x3f82},
		{"above half rounds up", 0x3f808001, 0x3f81},
		{"NaN stays NaN", 0x7fc00001, 0x7fc0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Float32ToBFloat16(math.Float32frombits(tt.in)); got != tt.want {
				t.Fatalf("got %#04x, want %#04x", got, tt.want)
			}
		})
	}
}

func TestHalfUpNeverRoundsDown(t *testing.T) {
	for _, v := range []float64{1e-9, 5.960464477539063e-08, 1e-5, 0.1, 1, 1.0001, 65504, 3.14159} {
		h := halfUp(v)
		got := float64(HalfToFloat32(h))
		if got < v {
			t.Errorf("halfUp(%v) = %v, below the input", v, got)
		}
		if h > 0 && h < 0x7c00 && float64(HalfToFloat32(h-1)) >= v {
			t.Errorf("halfUp(%v) = %v, but %v is smaller and still ≥ the input", v, got, HalfToFloat32(h-1))
		}
	}
	if h := halfUp(70000); h != 0x7c00 {
		t.Errorf("halfUp(70000) = %#04x, want +Inf", h)
	}
}

func TestFloat32ToHalfMatchesTheReferenceRounding(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	check := func(b uint32) {
		f := math.Float32frombits(b)
		got, want := Float32ToHalf(f), uint16(float16.Fromfloat32(f))
		if got != want && !(math.IsNaN(float64(f)) && got&0x7c00 == 0x7c00 && got&0x3ff != 0) {
			t.Fatalf("Float32ToHalf(%v = %#08x) = %#04x, x448/float16 says %#04x", f, b, got, want)
		}
	}
	// Every exponent, with mantissas at and around each rounding boundary.
	for exp := uint32(0); exp < 256; exp++ {
		for _, m := range []uint32{0, 1, 0xfff, 0x1000, 0x1001, 0x1fff, 0x2000, 0x3000, 0x7fe000, 0x7fefff, 0x7ff000, 0x7ff001, 0x7fffff} {
			check(exp<<23 | m)
			check(1<<31 | exp<<23 | m)
		}
	}
	for range 2_000_000 {
		check(r.Uint32())
	}
}

func TestHalfUpMatchesItsDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for range 1_000_000 {
		v := math.Ldexp(1+r.Float64(), r.IntN(50)-30)
		h := halfUp(v)
		if h >= 0x7c00 {
			if v <= 65504 {
				t.Fatalf("halfUp(%v) overflowed", v)
			}
			continue
		}
		if got := float64(HalfToFloat32(h)); got < v || (h > 0 && float64(HalfToFloat32(h-1)) >= v) {
			t.Fatalf("halfUp(%v) = %v is not the smallest half ≥ it", v, got)
		}
	}
}
