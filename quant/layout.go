package quant

import (
	"errors"
	"fmt"
	"math"
)

// DefaultGroupSize is the group size used when Params.GroupSize is zero.
const DefaultGroupSize = 128

// DefaultBits is the bit width used when Params.Bits is zero.
const DefaultBits = 4

// ScaleFormat says how scales and zero points are stored.
type ScaleFormat uint8

const (
	// Float16 stores scales and zero points as IEEE binary16 wherever that keeps
	// every element within half a step, and as float32 for the tensors where it
	// cannot (overflow, a scale too small for float16, a zero point too large
	// for its precision, a constant group that float16 cannot represent). It is
	// the zero value and the default.
	Float16 ScaleFormat = iota
	// Float32 stores scales and zero points as float32.
	Float32
)

// String returns "f16" or "f32".
func (f ScaleFormat) String() string {
	switch f {
	case Float16:
		return "f16"
	case Float32:
		return "f32"
	}
	return fmt.Sprintf("ScaleFormat(%d)", uint8(f))
}

// Params are the quantization options of a tensor. The zero value means 4 bits,
// groups of 128 and float16 scales.
type Params struct {
	Bits      int         // 2, 4 or 8; zero means DefaultBits
	GroupSize int         // ≥ 1; zero means DefaultGroupSize
	Scales    ScaleFormat // preferred storage of scales and zero points
}

// OptionError reports an invalid quantization option before any work is done.
type OptionError struct {
	Option string // "bit width", "group size", ...
	Value  string
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("invalid %s %s: %s", e.Option, e.Value, e.Reason)
}

// WithDefaults returns p with zero fields replaced by their defaults.
func (p Params) WithDefaults() Params {
	if p.Bits == 0 {
		p.Bits = DefaultBits
	}
	if p.GroupSize == 0 {
		p.GroupSize = DefaultGroupSize
	}
	return p
}

// Validate checks p after defaults are applied.
func (p Params) Validate() error {
	p = p.WithDefaults()
	var errs []error
	if p.Bits != 2 && p.Bits != 4 && p.Bits != 8 {
		errs = append(errs, &OptionError{"bit width", fmt.Sprint(p.Bits), "must be 2, 4 or 8"})
	}
	if p.GroupSize < 1 {
		errs = append(errs, &OptionError{"group size", fmt.Sprint(p.GroupSize), "must be at least 1"})
	}
	if p.Scales != Float16 && p.Scales != Float32 {
		errs = append(errs, &OptionError{"scale format", fmt.Sprint(uint8(p.Scales)), "must be Float16 or Float32"})
	}
	return errors.Join(errs...)
}

// ShapeError reports a shape that cannot be quantized or that disagrees with
// the number of elements supplied.
type ShapeError struct {
	Shape    []int
	Elements int64 // elements supplied, or -1 when not known
	Reason   string
}

func (e *ShapeError) Error() string {
	if e.Elements >= 0 {
		return fmt.Sprintf("shape %v %s (data holds %d elements)", e.Shape, e.Reason, e.Elements)
	}
	return fmt.Sprintf("shape %v %s", e.Shape, e.Reason)
}

// ErrEmpty is reported for a tensor with no elements.
var ErrEmpty = errors.New("empty tensor: nothing to quantize")

// Layout is the row and group geometry of a tensor under Params.
type Layout struct {
	Rows, Cols int // rows = product of all but the last dimension
	Bits       int
	GroupSize  int
}

// NewLayout derives the layout of shape under p (defaults applied). It fails
// for rank 0, negative dimensions, zero elements and sizes that overflow int.
func NewLayout(shape []int, p Params) (Layout, error) {
	p = p.WithDefaults()
	if len(shape) == 0 {
		return Layout{}, &ShapeError{Shape: shape, Elements: -1, Reason: "has rank 0: a scalar has no row to quantize"}
	}
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return Layout{}, &ShapeError{Shape: shape, Elements: -1, Reason: "has a negative dimension"}
		}
		if d != 0 && n > math.MaxInt64/int64(d) {
			return Layout{}, &ShapeError{Shape: shape, Elements: -1, Reason: "is too large"}
		}
		n *= int64(d)
	}
	if n == 0 {
		return Layout{}, ErrEmpty
	}
	cols := shape[len(shape)-1]
	if cols > math.MaxInt/8 {
		return Layout{}, &ShapeError{Shape: shape, Elements: -1, Reason: "has a last dimension too long to pack"}
	}
	return Layout{Rows: int(n / int64(cols)), Cols: cols, Bits: p.Bits, GroupSize: p.GroupSize}, nil
}

// Elements is Rows·Cols.
func (l Layout) Elements() int { return l.Rows * l.Cols }

// RowBytes is the number of bytes of one packed row: ceil(Cols·Bits/8).
func (l Layout) RowBytes() int { return (l.Cols*l.Bits + 7) / 8 }

// GroupsPerRow is ceil(Cols/GroupSize), written so that no group size overflows.
func (l Layout) GroupsPerRow() int { return (l.Cols-1)/l.GroupSize + 1 }

// CodesLen is the length of the packed codes of the whole tensor.
func (l Layout) CodesLen() int { return l.Rows * l.RowBytes() }

// ParamsLen is the number of scales (and of zero points) of the whole tensor.
func (l Layout) ParamsLen() int { return l.Rows * l.GroupsPerRow() }

// SegmentAlign is the smallest column step at which a row may be split for
// parallel work: a whole number of groups that also starts on a byte boundary.
func (l Layout) SegmentAlign() int {
	k := 1 // the fewest groups whose bits fill whole bytes: 1, 2, 4 or 8
	for k*(l.GroupSize%8)*l.Bits%8 != 0 {
		k *= 2
	}
	if l.GroupSize > math.MaxInt/k {
		return math.MaxInt // longer than any row: rows are never split
	}
	return k * l.GroupSize
}
