package quant

// Dequantize decodes t to float32, row-major in t's shape. It is the one
// decoder: every element (r, c) becomes (q − ZeroPoints[g])·Scales[g] with
// g = r·GroupsPerRow + c/GroupSize, computed in float32.
func Dequantize(t *Tensor) ([]float32, error) {
	if err := t.Check(); err != nil {
		return nil, err
	}
	dst := make([]float32, t.Layout().Elements())
	DequantizeInto(dst, t)
	return dst, nil
}

// DequantizeInto decodes t into dst, which must hold Rows·Cols values; t must
// pass Check.
func DequantizeInto(dst []float32, t *Tensor) {
	l := t.Layout()
	dst = dst[:l.Elements()]
	codes := make([]uint8, l.Cols)
	rowBytes, ngroups := l.RowBytes(), l.GroupsPerRow()
	for r := 0; r < l.Rows; r++ {
		unpackRow(codes, t.Codes[r*rowBytes:(r+1)*rowBytes], l.Bits)
		out := dst[r*l.Cols : (r+1)*l.Cols]
		for g := 0; g < ngroups; g++ {
			s, z := t.Scales[r*ngroups+g], t.ZeroPoints[r*ngroups+g]
			start := g * l.GroupSize
			end := min(start+l.GroupSize, l.Cols)
			for c := start; c < end; c++ {
				out[c] = decode(codes[c], z, s)
			}
		}
	}
}
