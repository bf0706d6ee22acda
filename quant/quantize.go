package quant

// Quantize quantizes x, a row-major tensor of the given shape, in the calling
// goroutine. It is the simple form of what package batch does in parallel for
// many tensors, and gives byte-identical results.
func Quantize(x []float32, shape []int, p Params) (*Tensor, Quality, error) {
	t, err := NewTensor(shape, p)
	if err != nil {
		return nil, Quality{}, err
	}
	l := t.Layout()
	if int64(len(x)) != int64(l.Elements()) {
		return nil, Quality{}, &ShapeError{Shape: shape, Elements: int64(len(x)), Reason: "does not match the number of values"}
	}
	var z Quantizer
	sums, err := z.QuantizeBlock(t, x, 0, l.Rows, 0, l.Cols, t.Format)
	if IsNeedFloat32(err) {
		t.Format = Float32
		sums, err = z.QuantizeBlock(t, x, 0, l.Rows, 0, l.Cols, Float32)
	}
	if err != nil {
		return nil, Quality{}, err
	}
	return t, sums.Quality(), nil
}
