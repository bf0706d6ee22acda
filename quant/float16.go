package quant

import (
	"math"

	"github.com/x448/float16"
)

// HalfToFloat32 decodes an IEEE 754 binary16 value, subnormals, infinities and
// NaN payloads included. Every one of the 65,536 inputs decodes exactly.
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f && mant == 0:
		return math.Float32frombits(sign | 0x7f800000)
	case exp == 0x1f: // NaN: keep the payload, quieted as hardware converters do.
		return math.Float32frombits(sign | 0x7fc00000 | mant<<13)
	case exp != 0: // normal: rebias 15 → 127.
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	default: // subnormal half = mant·2^-24, always a normal float32.
		v := float32(mant) * (1.0 / (1 << 24))
		return math.Float32frombits(sign | math.Float32bits(v))
	}
}

// BFloat16ToFloat32 decodes a bfloat16 value, which is the top half of a float32.
func BFloat16ToFloat32(b uint16) float32 {
	return math.Float32frombits(uint32(b) << 16)
}

// Float32ToHalf rounds f to the nearest binary16 value (ties to even), with
// overflow to ±Inf and gradual underflow through the subnormals.
func Float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	exp := b >> 23 & 0xff
	if exp < 113 || exp > 142 {
		// Outside float16's normal range: subnormals, overflow, Inf and NaN.
		return uint16(float16.Fromfloat32(f))
	}
	// A normal result: rebias the exponent, keep the top 10 mantissa bits and
	// round on the 13 dropped ones. A carry out of the mantissa correctly
	// bumps the exponent, up to +Inf.
	h := (b>>16)&0x8000 | (exp-112)<<10 | (b>>13)&0x3ff
	if rest := b & 0x1fff; rest > 0x1000 || rest == 0x1000 && h&1 == 1 {
		h++
	}
	return uint16(h)
}

// Float32ToBFloat16 rounds f to the nearest bfloat16 value (ties to even);
// NaN stays NaN.
func Float32ToBFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40 // quiet NaN, payload kept non-zero
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// halfUp returns the smallest binary16 value that is ≥ v, for finite v > 0.
// It returns +Inf's bits when v exceeds the largest half.
func halfUp(v float64) uint16 {
	if b := math.Float64bits(v); b>>52 >= 1023-14 && b>>52 <= 1023+15 {
		// A normal result: the top 10 mantissa bits, plus one unit if any
		// dropped bit is set (a carry bumps the exponent, up to +Inf).
		h := uint16(b>>52-(1023-15))<<10 | uint16(b>>42&0x3ff)
		if b&(1<<42-1) != 0 {
			h++
		}
		return h
	}
	h := Float32ToHalf(float32(v))
	if float64(HalfToFloat32(h)) < v {
		h++ // positive halves are ordered like their bit patterns
	}
	return h
}

// float32Up returns the smallest float32 that is ≥ v, for finite v > 0.
func float32Up(v float64) float32 {
	f := float32(v)
	if float64(f) < v {
		f = math.Nextafter32(f, float32(math.Inf(1)))
	}
	return f
}
