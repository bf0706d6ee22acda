package quant

import (
	"encoding/binary"
	"math"
	"testing"
)

func TestDecodersAgreeAlignedAndUnaligned(t *testing.T) {
	raw := make([]byte, 2*(1<<16)+1)
	for i := 0; i < 1<<16; i++ {
		binary.LittleEndian.PutUint16(raw[2*i:], uint16(i))
	}
	unaligned := make([]byte, len(raw))
	copy(unaligned[1:], raw[:len(raw)-1])
	for _, c := range []struct {
		name   string
		decode func([]float32, []byte)
		ref    func(uint16) float32
	}{{"float16", DecodeFloat16, HalfToFloat32}, {"bfloat16", DecodeBFloat16, BFloat16ToFloat32}} {
		a, b := make([]float32, 1<<16), make([]float32, 1<<16)
		c.decode(a, raw[:2<<16])
		c.decode(b, unaligned[1:])
		for i := range a {
			want := c.ref(uint16(i))
			if math.Float32bits(a[i]) != math.Float32bits(want) || math.Float32bits(b[i]) != math.Float32bits(want) {
				t.Fatalf("%s %#04x: aligned %v unaligned %v, want %v", c.name, i, a[i], b[i], want)
			}
		}
	}
}

// TestDecodeFloat16TailsOfEveryLength covers the values left over after
// the F16C kernel's steps of eight, decoded one by one.
func TestDecodeFloat16TailsOfEveryLength(t *testing.T) {
	raw := make([]byte, 2*40)
	for i := range 40 {
		binary.LittleEndian.PutUint16(raw[2*i:], uint16(0x3c00+i*997)) // from 1.0 on: normals, a NaN, negative subnormals
	}
	for n := range 40 {
		dst := make([]float32, n)
		DecodeFloat16(dst, raw[:2*n])
		for i, v := range dst {
			want := HalfToFloat32(binary.LittleEndian.Uint16(raw[2*i:]))
			if math.Float32bits(v) != math.Float32bits(want) {
				t.Fatalf("length %d, value %d: got %v, want %v", n, i, v, want)
			}
		}
	}
}

func TestTheF16CKernelRunsWhereTheProcessorHasIt(t *testing.T) {
	if !useF16C {
		t.Skip("no F16C kernel in this build or on this processor: the table decoder was tested")
	}
	src := make([]uint16, 1<<16)
	for i := range src {
		src[i] = uint16(i)
	}
	dst := make([]float32, len(src))
	decodeHalvesF16C(dst, src)
	for i, v := range dst {
		if math.Float32bits(v) != math.Float32bits(HalfToFloat32(uint16(i))) {
			t.Fatalf("F16C decodes %#04x to %v (%#08x), want %v", i, v, math.Float32bits(v), HalfToFloat32(uint16(i)))
		}
	}
}

func BenchmarkDecodeFloat16(b *testing.B) {
	src := make([]byte, 2<<20)
	for i := range src {
		src[i] = byte(i * 7)
	}
	dst := make([]float32, len(src)/2)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		DecodeFloat16(dst, src)
	}
	b.ReportMetric(float64(len(dst))*float64(b.N)/b.Elapsed().Seconds(), "params/s")
}
