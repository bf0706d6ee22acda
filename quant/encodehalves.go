package quant

import "encoding/binary"

// EncodeFloat16 rounds every value of src to binary16 as Float32ToHalf does
// and writes it little-endian to dst, which must have room for 2·len(src)
// bytes. Writers use it for scales and zero points, millions of them in a
// large model, hence the vector path.
func EncodeFloat16(dst []byte, src []float32) {
	dst = dst[:2*len(src)]
	if h, ok := uint16s(dst); ok {
		if n := len(src) &^ 7; useF16C && n > 0 {
			n = encodeHalvesF16C(h[:n], src[:n])
			h, src = h[n:], src[n:]
		}
		for i, v := range src {
			h[i] = Float32ToHalf(v)
		}
		return
	}
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], Float32ToHalf(v))
	}
}
