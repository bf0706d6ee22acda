package main

/*
#include <stdint.h>

// The version of this ABI; aq_abi_version returns it. It changes whenever a
// function, structure or constant below changes meaning.
#define AQ_ABI_VERSION 1

// Return codes.
#define AQ_OK            0 // success
#define AQ_ERR_LAYERS    1 // one or more layers failed: see each aq_layer's status
#define AQ_ERR_OPTION    2 // invalid bit width, group size, or a layer name given twice
#define AQ_ERR_CANCELLED 3 // cancelled through aq_cancel
#define AQ_ERR_ARGUMENT  4 // malformed call: null pointer, negative length, wrong buffer size, unknown flag
#define AQ_ERR_INTERNAL  5 // a bug in arrowquant (a recovered Go panic)

// Layer status, set by aq_quantize in every aq_layer it was given.
#define AQ_LAYER_OK        0 // outputs filled
#define AQ_LAYER_NOT_DONE  1 // outputs not filled: the call stopped first
#define AQ_LAYER_NONFINITE 2 // NaN or Inf; error_index is the flat index of the first
#define AQ_LAYER_SHAPE     3 // rank 0, a negative dimension, or shape and nbytes disagree
#define AQ_LAYER_EMPTY     4 // no elements
#define AQ_LAYER_FAILED    5 // another problem with this layer; see error

// Flags of aq_quantize.
#define AQ_CONTINUE_ON_ERROR 1u // fill the good layers even if others fail

// One layer of aq_quantize. The caller owns every pointer; Go reads and writes
// through them only during the call.
typedef struct {
	const char    *name;        // in: UTF-8 name, name_len bytes, no NUL needed; unique in the call
	int64_t        name_len;
	const int64_t *shape;       // in: ndim dimensions
	int64_t        ndim;
	const void    *data;        // in: nbytes of little-endian float32, row-major; read in place
	int64_t        nbytes;
	uint8_t       *codes;       // out: codes_len = rows*ceil(cols*bits/8) bytes
	int64_t        codes_len;
	float         *scales;      // out: params_len = rows*ceil(cols/group_size) floats
	float         *zero_points; // out: params_len floats
	int64_t        params_len;
	int32_t        status;      // out: AQ_LAYER_*
	int32_t        reserved;    // set to 0
	int64_t        error_index; // out: for AQ_LAYER_NONFINITE the flat index, else -1
	char          *error;       // out, optional: NUL-terminated message of the layer's problem
	int64_t        error_cap;   // bytes at error, including the NUL
} aq_layer;

// One progress report: layer (an index into the aq_layer array) is settled,
// and fraction of all elements of the call are done.
typedef struct {
	int64_t layer;
	double  fraction;
} aq_progress;

// Shared between a running aq_quantize and other threads of the caller.
// Zero it before the call.
typedef struct {
	int32_t      cancel;    // set through aq_cancel to stop the call
	int32_t      reserved;
	int64_t      published; // progress entries written so far; read through aq_published
	aq_progress *entries;   // optional: room for one entry per layer
} aq_control;
*/
import "C"

import (
	"context"
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/arrowquant/arrowquant/quant"
)

// The Go codes and statuses, as the C constants. Indexing by the Go value
// keeps the two lists from drifting apart silently: a missing entry is zero
// and the tests that compare outcomes fail.
var (
	cCodes = [numCodes]C.int32_t{
		codeOK: C.AQ_OK, codeLayers: C.AQ_ERR_LAYERS, codeOption: C.AQ_ERR_OPTION,
		codeCancelled: C.AQ_ERR_CANCELLED, codeArgument: C.AQ_ERR_ARGUMENT, codeInternal: C.AQ_ERR_INTERNAL,
	}
	cStatuses = [numStatuses]C.int32_t{
		statusOK: C.AQ_LAYER_OK, statusNotDone: C.AQ_LAYER_NOT_DONE, statusNonFinite: C.AQ_LAYER_NONFINITE,
		statusShape: C.AQ_LAYER_SHAPE, statusEmpty: C.AQ_LAYER_EMPTY, statusFailed: C.AQ_LAYER_FAILED,
	}
)

// aq_abi_version returns AQ_ABI_VERSION, so that a caller can refuse a stale
// library.
//
//export aq_abi_version
func aq_abi_version() C.int32_t { return C.AQ_ABI_VERSION }

// aq_quantize quantizes n layers with package batch on all cores and fills
// their outputs; see README.md. It blocks until done, failed or cancelled.
//
//export aq_quantize
func aq_quantize(layers *C.aq_layer, n C.int64_t, bits C.int32_t, groupSize C.int64_t, flags C.uint32_t,
	control *C.aq_control, errBuf *C.char, errCap C.int64_t) C.int32_t {
	return report(errBuf, errCap, func() error {
		descs, ios, err := viewLayers(layers, n)
		if err != nil {
			for i := range descs {
				descs[i].status, descs[i].error_index = C.AQ_LAYER_NOT_DONE, -1
			}
			return err
		}
		defer writeOutcomes(descs, ios) // also after a panic, so every status is set
		if flags&^C.AQ_CONTINUE_ON_ERROR != 0 {
			return argErrorf("unknown flags %#x", uint32(flags&^C.AQ_CONTINUE_ON_ERROR))
		}
		req := request{bits: int(bits), groupSize: int(groupSize), continueOnError: flags&C.AQ_CONTINUE_ON_ERROR != 0}
		if int64(req.groupSize) != int64(groupSize) {
			return argErrorf("group size %d does not fit in an int", int64(groupSize))
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if control != nil {
			if uintptr(unsafe.Pointer(control))%unsafe.Alignof(control.published) != 0 {
				return argErrorf("control: pointer %p is not aligned", control)
			}
			if atomic.LoadInt64((*int64)(unsafe.Pointer(&control.published))) != 0 {
				return argErrorf("the control block was not zeroed (published is not 0)")
			}
			if uintptr(unsafe.Pointer(control.entries))%unsafe.Alignof(C.aq_progress{}) != 0 {
				return argErrorf("control: entries %p are not aligned", control.entries)
			}
			if control.entries != nil {
				req.progress = progressWriter(control, len(ios))
			}
			stop := watchCancel((*int32)(unsafe.Pointer(&control.cancel)), pollInterval, cancel)
			defer stop()
		}
		return quantize(ctx, ios, req)
	})
}

// aq_dequantize decodes one quantized tensor into out (shape's element
// count of float32) with quant.DequantizeInto.
//
//export aq_dequantize
func aq_dequantize(shape *C.int64_t, ndim C.int64_t, bits C.int32_t, groupSize C.int64_t,
	codes *C.uint8_t, codesLen C.int64_t, scales *C.float, zeroPoints *C.float, paramsLen C.int64_t,
	out *C.float, outLen C.int64_t, errBuf *C.char, errCap C.int64_t) C.int32_t {
	return report(errBuf, errCap, func() error {
		dims, err := viewShape(shape, ndim)
		if err != nil {
			return err
		}
		t := &quant.Tensor{Shape: dims, Bits: int(bits), GroupSize: int(groupSize), Format: quant.Float32}
		if t.Codes, err = view[byte](unsafe.Pointer(codes), codesLen, "codes"); err != nil {
			return err
		}
		if t.Scales, err = view[float32](unsafe.Pointer(scales), paramsLen, "scales"); err != nil {
			return err
		}
		if t.ZeroPoints, err = view[float32](unsafe.Pointer(zeroPoints), paramsLen, "zero points"); err != nil {
			return err
		}
		dst, err := view[float32](unsafe.Pointer(out), outLen, "out")
		if err != nil {
			return err
		}
		return dequantize(t, dst)
	})
}

// aq_published returns how many progress entries a running aq_quantize has
// written to control (an atomic load, so the entries below it are complete),
// or -1 if control is NULL.
//
//export aq_published
func aq_published(control *C.aq_control) (n C.int64_t) {
	n = -1
	_ = guard(func() error {
		if control != nil {
			n = C.int64_t(atomic.LoadInt64((*int64)(unsafe.Pointer(&control.published))))
		}
		return nil
	})
	return n
}

// aq_cancel asks the aq_quantize running with control to stop; it returns
// AQ_ERR_CANCELLED within a few milliseconds. It may be called from any
// thread, before or during the call.
//
//export aq_cancel
func aq_cancel(control *C.aq_control) C.int32_t {
	err := guard(func() error {
		if control == nil {
			return argErrorf("control is NULL")
		}
		atomic.StoreInt32((*int32)(unsafe.Pointer(&control.cancel)), 1)
		return nil
	})
	return cCodes[codeOf(err)]
}

// report runs f with panics recovered, writes its error message (or an empty
// string) to the caller's buffer and returns its code.
func report(errBuf *C.char, errCap C.int64_t, f func() error) C.int32_t {
	err := guard(f)
	code := codeOf(err)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	_ = guard(func() error {
		if errBuf != nil && errCap > 0 {
			writeMessage(unsafe.Slice((*byte)(unsafe.Pointer(errBuf)), int(errCap)), msg)
		}
		return nil
	})
	return cCodes[code]
}

// viewLayers views the caller's layer array without copying any tensor data.
// It returns the array itself even when a layer in it is malformed.
func viewLayers(p *C.aq_layer, n C.int64_t) ([]C.aq_layer, []*layerIO, error) {
	if n < 0 || (n > 0 && p == nil) {
		return nil, nil, argErrorf("layers: %d layers at %p", int64(n), p)
	}
	if n == 0 {
		return nil, nil, nil
	}
	descs := unsafe.Slice(p, int(n))
	ios := make([]*layerIO, len(descs))
	for i := range descs {
		l, err := viewLayer(&descs[i])
		if err != nil {
			return descs, nil, argErrorf("layer %d (%q): %w", i, l.name, err)
		}
		ios[i] = l
	}
	return descs, ios, nil
}

func viewLayer(d *C.aq_layer) (*layerIO, error) {
	l := &layerIO{status: statusNotDone, errIndex: -1}
	name, err := view[byte](unsafe.Pointer(d.name), d.name_len, "name")
	if err != nil {
		return l, err
	}
	l.name = string(name)
	if l.shape, err = viewShape(d.shape, d.ndim); err != nil {
		return l, err
	}
	if l.data, err = view[byte](d.data, d.nbytes, "data"); err != nil {
		return l, err
	}
	if l.codes, err = view[byte](unsafe.Pointer(d.codes), d.codes_len, "codes"); err != nil {
		return l, err
	}
	if l.scales, err = view[float32](unsafe.Pointer(d.scales), d.params_len, "scales"); err != nil {
		return l, err
	}
	if l.zeroPoints, err = view[float32](unsafe.Pointer(d.zero_points), d.params_len, "zero points"); err != nil {
		return l, err
	}
	if d.error_cap < 0 || (d.error_cap > 0 && d.error == nil) {
		return l, fmt.Errorf("error: %d bytes at %p", int64(d.error_cap), d.error)
	}
	return l, nil
}

// viewShape copies the dimensions (a few integers) into Go ints.
func viewShape(p *C.int64_t, ndim C.int64_t) ([]int, error) {
	dims, err := view[int64](unsafe.Pointer(p), ndim, "shape")
	if err != nil {
		return nil, err
	}
	shape := make([]int, len(dims))
	for i, d := range dims {
		shape[i] = int(d)
		if int64(shape[i]) != d {
			return nil, argErrorf("dimension %d does not fit in an int", d)
		}
	}
	return shape, nil
}

// view returns the n values of type T at p as a slice of the caller's
// memory, nil for n == 0. It refuses a negative n, a null or misaligned p.
func view[T any](p unsafe.Pointer, n C.int64_t, what string) ([]T, error) {
	var zero T
	switch {
	case n < 0:
		return nil, argErrorf("%s: negative length %d", what, int64(n))
	case n == 0:
		return nil, nil
	case p == nil:
		return nil, argErrorf("%s: NULL pointer for %d values", what, int64(n))
	case uintptr(p)%unsafe.Alignof(zero) != 0:
		return nil, argErrorf("%s: pointer %p is not aligned to %d bytes", what, p, unsafe.Alignof(zero))
	case int64(n) > int64(^uint(0)>>1)/int64(unsafe.Sizeof(zero)):
		return nil, argErrorf("%s: length %d is too large", what, int64(n))
	}
	return unsafe.Slice((*T)(p), int(n)), nil
}

// progressWriter returns the progress function of a call: it writes entry k
// and then publishes k+1 with an atomic store, so that a reader that loads
// published atomically sees complete entries below it.
func progressWriter(control *C.aq_control, n int) func(int, float64) {
	entries := unsafe.Slice(control.entries, n)
	published := (*int64)(unsafe.Pointer(&control.published))
	k := 0
	return func(layer int, fraction float64) {
		if k >= len(entries) {
			return // the engine reports each layer once; never write past the array
		}
		entries[k] = C.aq_progress{layer: C.int64_t(layer), fraction: C.double(fraction)}
		k++
		atomic.StoreInt64(published, int64(k))
	}
}

// writeOutcomes copies each layer's status, error index and message back to
// the caller's array.
func writeOutcomes(descs []C.aq_layer, ios []*layerIO) {
	for i := range descs {
		d, l := &descs[i], ios[i]
		d.status = cStatuses[l.status]
		d.error_index = C.int64_t(l.errIndex)
		if d.error != nil && d.error_cap > 0 {
			msg := ""
			if l.err != nil {
				msg = l.err.Error()
			}
			writeMessage(unsafe.Slice((*byte)(unsafe.Pointer(d.error)), int(d.error_cap)), msg)
		}
	}
}
