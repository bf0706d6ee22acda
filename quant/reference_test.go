package quant

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

// This file keeps the original scalar kernel, unchanged, as the reference the
// fast paths are checked against (see kernel_test.go).

// minMaxReference is the original minMax.
func minMaxReference(x []float32) (mn, mx float32, ok bool) {
	mn, mx = x[0], x[0]
	var sum float32
	for _, v := range x {
		mn = min(mn, v)
		mx = max(mx, v)
		sum += v * 0
	}
	return mn, mx, sum == 0
}

// encodeReference is the original encodeFast: one element at a time, the
// sums in element order.
func encodeReference(x []float32, codes []uint8, inv, scale, zero float32, qmax int32) groupSums {
	codes = codes[:len(x)]
	var g groupSums
	var sqErr, sqX, sqXHat, xXHat, maxErr float64
	for i, v := range x {
		q := int32(float32(v*inv) + zero + 0.5)
		q = min(max(q, 0), qmax)
		codes[i] = uint8(q)
		xh := float32(float32(q)-zero) * scale
		vf, hf := float64(v), float64(xh)
		d := vf - hf
		sqErr += d * d
		sqX += vf * vf
		sqXHat += hf * hf
		xXHat += vf * hf
		maxErr = max(maxErr, math.Abs(d))
	}
	g.sqErr, g.sqX, g.sqXHat, g.xXHat, g.maxAbsErr, g.n = sqErr, sqX, sqXHat, xXHat, maxErr, len(x)
	return g
}

// encodePreciseReference is the original encodePrecise.
func encodePreciseReference(x []float32, codes []uint8, scale, zero float32, qmax int32) groupSums {
	codes = codes[:len(x)]
	var g groupSums
	for i, v := range x {
		q := int32(float64(v)/float64(scale) + float64(zero) + 0.5)
		q = min(max(q, 0), qmax)
		codes[i] = uint8(q)
		xh := float32(float32(q)-zero) * scale
		vf, hf := float64(v), float64(xh)
		d := vf - hf
		g.sqErr += d * d
		g.sqX += vf * vf
		g.sqXHat += hf * hf
		g.xXHat += vf * hf
		g.maxAbsErr = max(g.maxAbsErr, math.Abs(d))
	}
	g.n = len(x)
	return g
}

// packRowReference is the original packRow.
func packRowReference(dst []byte, codes []uint8, bits int) {
	n := len(codes)
	switch bits {
	case 8:
		copy(dst, codes)
	case 4:
		dst = dst[:(n+1)/2]
		i := 0
		for ; i+1 < n; i += 2 {
			dst[i/2] = codes[i] | codes[i+1]<<4
		}
		if i < n {
			dst[i/2] = codes[i]
		}
	case 2:
		dst = dst[:(n+3)/4]
		i := 0
		for ; i+3 < n; i += 4 {
			c := codes[i : i+4 : i+4]
			dst[i/4] = c[0] | c[1]<<2 | c[2]<<4 | c[3]<<6
		}
		if i < n {
			var b byte
			for j := i; j < n; j++ {
				b |= codes[j] << (2 * (j - i))
			}
			dst[i/4] = b
		}
	default:
		panic("quant: unsupported bit width")
	}
}

func TestEncodePreciseMatchesTheOriginal(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, bits := range []int{2, 4, 8} {
		qmax := int32(1)<<bits - 1
		for range 200 {
			x := make([]float32, 1+r.IntN(200))
			for i := range x {
				x[i] = float32((r.Float64()*2 - 1) * 1e-40) // subnormal: the precise path's inputs
			}
			scale := float32(1e-41 * (1 + r.Float64()))
			zero := float32(r.Float64() * float64(qmax))
			got, want := make([]uint8, len(x)), make([]uint8, len(x))
			g, w := encodePrecise(x, got, scale, zero, qmax), encodePreciseReference(x, want, scale, zero, qmax)
			if !bytes.Equal(got, want) || g != w {
				t.Fatalf("%d bits: encodePrecise differs from the original: %+v vs %+v", bits, g, w)
			}
		}
	}
}
