// Package batch quantizes many named tensors at once on all cores: the Go form
// of quantize_batch. Work is cut into chunks of whole rows (or, for very long
// rows, whole groups of one row), so one dominant layer still keeps every
// worker busy; results come back sorted by layer name and are byte-identical
// whatever the number of workers; every failing layer is named in one joined
// error; progress is reported and the call is cancellable through its context.
//
// Quantize returns every result at once. Stream hands results to a callback in
// name order as they complete, holding only a bounded number in memory, which
// is what a file writer wants.
package batch

import (
	"fmt"
	"unsafe"

	"github.com/arrowquant/arrowquant/quant"
)

// DType is the element type of a layer's source data.
type DType uint8

const (
	Float32  DType = iota // IEEE binary32, little-endian; the zero value
	Float16               // IEEE binary16, little-endian
	BFloat16              // bfloat16, little-endian
)

// Size is the number of bytes of one element, or 0 for an unknown type.
func (d DType) Size() int {
	switch d {
	case Float32:
		return 4
	case Float16, BFloat16:
		return 2
	}
	return 0
}

// String returns "float32", "float16" or "bfloat16".
func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Float16:
		return "float16"
	case BFloat16:
		return "bfloat16"
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Layer is one named tensor to quantize. Data is read in place, never copied
// whole and never modified; it must stay unchanged until the call returns.
type Layer struct {
	Name  string
	Shape []int
	DType DType
	Data  []byte // little-endian elements, row-major; len = DType.Size() × product of Shape

	// Dest, if set, is where the engine writes the layer's result instead of
	// memory it allocates; the Result then shares these slices. It lets a
	// caller that owns the output buffers (the Python binding) skip a copy.
	Dest *Destination
}

// Destination is caller-owned memory for one layer's result. Its lengths
// must be exactly those of the layer's quant.Layout: CodesLen bytes of
// codes and ParamsLen scales and zero points. The engine overwrites all of it.
type Destination struct {
	Codes      []byte
	Scales     []float32
	ZeroPoints []float32
}

// Float32Layer returns a Layer that views data without copying it.
func Float32Layer(name string, shape []int, data []float32) Layer {
	return Layer{Name: name, Shape: shape, DType: Float32, Data: float32Bytes(data)}
}

// float32Bytes views a float32 slice as its bytes. arrowquant only runs on
// little-endian machines, where this is the stored form.
func float32Bytes(x []float32) []byte {
	if len(x) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&x[0])), 4*len(x))
}

// Result is one quantized layer.
type Result struct {
	Name        string
	SourceDType DType
	quant.Tensor
	Quality quant.Quality // zero when the batch ran with Options.SkipQuality
}

// LayerError is a problem with one layer: its data (NaN or ±Inf, see
// *quant.NonFiniteError), its shape (*quant.ShapeError, quant.ErrEmpty) or its
// type (*DTypeError). Use errors.As to find it in a joined error.
type LayerError struct {
	Layer string
	Err   error
}

func (e *LayerError) Error() string { return fmt.Sprintf("layer %q: %v", e.Layer, e.Err) }

// Unwrap returns the underlying problem.
func (e *LayerError) Unwrap() error { return e.Err }

// LayerErrors returns the *LayerError values that err, an error from
// Quantize or Stream, is made of, in name order; nil if err is nil or holds
// anything else (invalid options, a cancellation, an error from emit).
func LayerErrors(err error) []*LayerError {
	var out []*LayerError
	var walk func(error) bool
	walk = func(err error) bool {
		if u, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range u.Unwrap() {
				if !walk(e) {
					return false
				}
			}
			return true
		}
		le, ok := err.(*LayerError)
		out = append(out, le)
		return ok
	}
	if err == nil || !walk(err) {
		return nil
	}
	return out
}

// DTypeError reports a source element type the engine cannot read.
type DTypeError struct{ DType DType }

func (e *DTypeError) Error() string {
	return fmt.Sprintf("unsupported dtype %v: must be float32, float16 or bfloat16", e.DType)
}
