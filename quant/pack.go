package quant

// packRow packs one code per element of codes into dst at the given bit
// width, lower columns in lower bits. dst must hold exactly
// ceil(len(codes)·bits/8) bytes; padding bits of the last byte are zeroed.
func packRow(dst []byte, codes []uint8, bits int) {
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
