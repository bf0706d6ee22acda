package quant

import (
	"errors"
	"fmt"
)

// Tensor is a quantized tensor: packed codes plus one scale and one zero point
// per group, laid out as described in the package comment.
type Tensor struct {
	Shape      []int
	Bits       int
	GroupSize  int
	Format     ScaleFormat // how Scales and ZeroPoints are stored (their values are exact in it)
	Codes      []byte      // Rows × RowBytes, row-major
	Scales     []float32   // Rows × GroupsPerRow, row-major
	ZeroPoints []float32   // Rows × GroupsPerRow, row-major
}

// NewTensor allocates a tensor of the given shape under p, ready to be filled
// block by block with a Quantizer.
func NewTensor(shape []int, p Params) (*Tensor, error) {
	p = p.WithDefaults()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	l, err := NewLayout(shape, p)
	if err != nil {
		return nil, err
	}
	return &Tensor{
		Shape:      append([]int(nil), shape...),
		Bits:       p.Bits,
		GroupSize:  p.GroupSize,
		Format:     p.Scales,
		Codes:      make([]byte, l.CodesLen()),
		Scales:     make([]float32, l.ParamsLen()),
		ZeroPoints: make([]float32, l.ParamsLen()),
	}, nil
}

// Layout returns the row and group geometry of t.
func (t *Tensor) Layout() Layout {
	l, _ := NewLayout(t.Shape, Params{Bits: t.Bits, GroupSize: t.GroupSize})
	return l
}

// Check verifies that the slices of t have the lengths its shape, bit width
// and group size imply, so that decoding cannot index out of range.
func (t *Tensor) Check() error {
	if err := (Params{Bits: t.Bits, GroupSize: t.GroupSize, Scales: t.Format}).Validate(); err != nil {
		return err
	}
	if t.Bits == 0 || t.GroupSize == 0 {
		return errors.New("quant: tensor has no bit width or group size")
	}
	l, err := NewLayout(t.Shape, Params{Bits: t.Bits, GroupSize: t.GroupSize})
	if err != nil {
		return err
	}
	if len(t.Codes) != l.CodesLen() {
		return fmt.Errorf("quant: %d bytes of codes, want %d for shape %v at %d bits", len(t.Codes), l.CodesLen(), t.Shape, t.Bits)
	}
	if len(t.Scales) != l.ParamsLen() || len(t.ZeroPoints) != l.ParamsLen() {
		return fmt.Errorf("quant: %d scales and %d zero points, want %d each for shape %v, group size %d",
			len(t.Scales), len(t.ZeroPoints), l.ParamsLen(), t.Shape, t.GroupSize)
	}
	return nil
}

// NonFiniteError reports a NaN or infinite input value and where it is.
type NonFiniteError struct {
	Index int64   // flat (row-major) index of the first such element
	Value float32 // NaN, +Inf or -Inf
}

func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("non-finite value %v at index %d", e.Value, e.Index)
}

// errNeedFloat32 tells the caller that float16 cannot store some group of the
// block within the error bound, so the tensor must be redone with Float32.
var errNeedFloat32 = errors.New("quant: float16 cannot hold this block's scales")

// IsNeedFloat32 reports whether err is the signal, from Quantizer.QuantizeBlock
// in Float16 mode, that the tensor must be quantized with Float32 scales.
func IsNeedFloat32(err error) bool { return errors.Is(err, errNeedFloat32) }
