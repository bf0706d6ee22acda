package quant

import (
	"encoding/binary"
	"math"
	"sync"
	"unsafe"
)

// halves returns the table of every binary16 bit pattern's float32 value,
// built on first use: with F16C it is only needed for unaligned input and
// the last few values, and building 256 KiB at start-up would slow every
// command that never decodes a half.
var halves = sync.OnceValue(func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = HalfToFloat32(uint16(i))
	}
	return &t
})

// DecodeFloat16 decodes little-endian binary16 values from src into dst,
// which must have room for len(src)/2 values.
func DecodeFloat16(dst []float32, src []byte) {
	dst = dst[:len(src)/2]
	if h, ok := uint16s(src); ok && useF16C {
		n := len(h) &^ 7
		if n > 0 {
			decodeHalvesF16C(dst[:n], h[:n])
		}
		for i, v := range h[n:] {
			dst[n+i] = HalfToFloat32(v)
		}
		return
	}
	t := halves()
	for i := range dst {
		dst[i] = t[binary.LittleEndian.Uint16(src[2*i:])]
	}
}

// uint16s views src as little-endian uint16 values in place when it is
// aligned for them (arrowquant runs on little-endian machines only).
func uint16s(src []byte) ([]uint16, bool) {
	if len(src) < 2 || uintptr(unsafe.Pointer(&src[0]))%2 != 0 {
		return nil, false
	}
	return unsafe.Slice((*uint16)(unsafe.Pointer(&src[0])), len(src)/2), true
}

// DecodeBFloat16 decodes little-endian bfloat16 values from src into dst.
func DecodeBFloat16(dst []float32, src []byte) {
	dst = dst[:len(src)/2]
	if h, ok := uint16s(src); ok {
		for i, v := range h {
			dst[i] = math.Float32frombits(uint32(v) << 16)
		}
		return
	}
	for i := range dst {
		dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
	}
}

// DecodeFloat32 decodes little-endian float32 values from src into dst.
func DecodeFloat32(dst []float32, src []byte) {
	dst = dst[:len(src)/4]
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

// CheckFinite returns a *NonFiniteError for the first NaN or ±Inf in x, whose
// first element has flat index offset in its tensor, or nil.
func CheckFinite(x []float32, offset int64) error {
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return &NonFiniteError{Index: offset + int64(i), Value: v}
		}
	}
	return nil
}
