package quant

import "encoding/binary"

// packRow packs one code per element of codes into dst at the given bit
// width, lower columns in lower bits. dst must hold exactly
// ceil(len(codes)·bits/8) bytes and every code must be below 2^bits; padding
// bits of the last byte are zeroed.
func packRow(dst []byte, codes []uint8, bits int) {
	n := len(codes)
	switch bits {
	case 8:
		copy(dst, codes)
	case 4:
		dst = dst[:(n+1)/2]
		i := 0
		if useAVX2 {
			i = n &^ 31
			pack4AVX2(dst[:i/2], codes[:i])
		}
		pack4Generic(dst[i/2:], codes[i:])
	case 2:
		dst = dst[:(n+3)/4]
		i := 0
		if useAVX2 {
			i = n &^ 31
			pack2AVX2(dst[:i/4], codes[:i])
		}
		pack2Generic(dst[i/4:], codes[i:])
	default:
		panic("quant: unsupported bit width")
	}
}

// pack4Generic packs 4-bit codes, sixteen at a time in two 64-bit words:
// w | w>>4 puts c[2k] | c[2k+1]<<4 in byte 2k, and two mask-and-shift steps
// gather the even bytes.
func pack4Generic(dst []byte, codes []uint8) {
	n := len(codes)
	dst = dst[:(n+1)/2]
	i := 0
	for ; i+16 <= n; i += 16 {
		lo := pack4x8(binary.LittleEndian.Uint64(codes[i:]))
		hi := pack4x8(binary.LittleEndian.Uint64(codes[i+8:]))
		binary.LittleEndian.PutUint64(dst[i/2:], lo|hi<<32)
	}
	for ; i+1 < n; i += 2 {
		dst[i/2] = codes[i] | codes[i+1]<<4
	}
	if i < n {
		dst[i/2] = codes[i]
	}
}

// pack4x8 packs the eight 4-bit codes held one per byte of w into 32 bits.
func pack4x8(w uint64) uint64 {
	w = (w | w>>4) & 0x00ff00ff00ff00ff
	w = (w | w>>8) & 0x0000ffff0000ffff
	return (w | w>>16) & 0xffffffff
}

// pack2Generic packs 2-bit codes, thirty-two at a time, the same way.
func pack2Generic(dst []byte, codes []uint8) {
	n := len(codes)
	dst = dst[:(n+3)/4]
	i := 0
	for ; i+32 <= n; i += 32 {
		c := codes[i : i+32 : i+32]
		w := pack2x8(binary.LittleEndian.Uint64(c[0:])) |
			pack2x8(binary.LittleEndian.Uint64(c[8:]))<<16 |
			pack2x8(binary.LittleEndian.Uint64(c[16:]))<<32 |
			pack2x8(binary.LittleEndian.Uint64(c[24:]))<<48
		binary.LittleEndian.PutUint64(dst[i/4:], w)
	}
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
}

// pack2x8 packs the eight 2-bit codes held one per byte of w into 16 bits.
func pack2x8(w uint64) uint64 {
	w = (w | w>>6) & 0x000f000f000f000f
	w = (w | w>>12) & 0x000000ff000000ff
	return (w | w>>24) & 0xffff
}

// Code returns the code of column c in a packed row.
func Code(row []byte, c, bits int) uint8 {
	bit := c * bits
	return row[bit/8] >> (bit % 8) & (1<<bits - 1)
}

// unpackRow is the inverse of packRow.
func unpackRow(codes []uint8, src []byte, bits int) {
	switch bits {
	case 8:
		copy(codes, src)
	case 4:
		for i := range codes {
			codes[i] = src[i/2] >> (4 * (i & 1)) & 0xf
		}
	case 2:
		for i := range codes {
			codes[i] = src[i/4] >> (2 * (i & 3)) & 3
		}
	default:
		panic("quant: unsupported bit width")
	}
}
