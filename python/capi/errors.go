package main

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"unicode/utf8"

	"github.com/arrowquant/arrowquant/batch"
	"github.com/arrowquant/arrowquant/quant"
)

// Return codes of every function that reports an error. abi.go maps them to
// the AQ_* constants of the C header one by one.
const (
	codeOK        = iota // success
	codeLayers           // one or more layers failed; see their status
	codeOption           // invalid bit width, group size or layer name
	codeCancelled        // the call was cancelled through its control block
	codeArgument         // the call itself is malformed: null pointer, bad length, wrong buffer size
	codeInternal         // a Go panic or another failure that is a bug in arrowquant
	numCodes
)

// Status of one layer after aq_quantize, mapped to the AQ_LAYER_* constants.
const (
	statusOK        = iota // outputs filled
	statusNotDone          // no outputs: the call stopped before the layer was written
	statusNonFinite        // NaN or ±Inf; error_index is the flat index of the first
	statusShape            // the shape is invalid (rank 0, negative) or disagrees with the data
	statusEmpty            // no elements
	statusFailed           // any other problem with the layer
	numStatuses
)

// argError is a call the ABI refuses before doing any work: a null pointer, a
// negative length, an output buffer of the wrong size, an unknown flag.
type argError struct{ err error }

func (e *argError) Error() string { return e.err.Error() }
func (e *argError) Unwrap() error { return e.err }

func argErrorf(format string, a ...any) error { return &argError{fmt.Errorf(format, a...)} }

// internalError is a bug in arrowquant that was caught instead of crashing
// the host process.
type internalError struct{ msg string }

func (e *internalError) Error() string { return "arrowquant internal error: " + e.msg }

// guard runs f and turns a panic into an *internalError: a Go panic that
// escaped into C would abort the host process (a Python interpreter). Faults
// on bad caller pointers touched by this goroutine become panics too. Panics
// in goroutines that f starts are not covered; package batch recovers its own.
func guard(f func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = &internalError{fmt.Sprintf("Go panic: %v", p)}
		}
	}()
	return f()
}

// codeOf classifies the error of a call.
func codeOf(err error) int {
	var (
		ie *internalError
		ae *argError
		oe *quant.OptionError
	)
	switch {
	case err == nil:
		return codeOK
	case errors.As(err, &ie):
		return codeInternal
	case errors.As(err, &ae):
		return codeArgument
	case errors.Is(err, context.Canceled):
		return codeCancelled
	case batch.LayerErrors(err) != nil:
		return codeLayers
	case errors.As(err, &oe):
		return codeOption
	}
	return codeInternal
}

// statusOf classifies the problem of one layer.
func statusOf(err error) int {
	var (
		nf *quant.NonFiniteError
		se *quant.ShapeError
	)
	switch {
	case err == nil:
		return statusOK
	case errors.As(err, &nf):
		return statusNonFinite
	case errors.Is(err, quant.ErrEmpty):
		return statusEmpty
	case errors.As(err, &se):
		return statusShape
	}
	return statusFailed
}

// writeMessage copies msg into dst as a NUL-terminated string, cut at a
// UTF-8 character boundary if dst is too small. An empty dst is left alone.
func writeMessage(dst []byte, msg string) {
	if len(dst) == 0 {
		return
	}
	n := min(len(msg), len(dst)-1)
	for n > 0 && n < len(msg) && !utf8.RuneStart(msg[n]) {
		n--
	}
	copy(dst, msg[:n])
	dst[n] = 0
}
