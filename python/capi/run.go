package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arrowquant/arrowquant/batch"
	"github.com/arrowquant/arrowquant/quant"
)

// layerIO is one layer of an aq_quantize call seen from Go: views of the
// caller's memory, and the outcome that abi.go writes back.
type layerIO struct {
	name  string
	shape []int
	data  []byte // little-endian float32, row-major; read in place, never written

	// Destinations, which the engine fills in place; their content is
	// meaningful only when the layer succeeds.
	codes              []byte
	scales, zeroPoints []float32

	status   int   // statusNotDone until the engine settles the layer
	errIndex int64 // flat index of the first non-finite value, or -1
	err      error // the layer's own problem, without its name
}

// request holds the options of an aq_quantize call.
type request struct {
	bits, groupSize int
	continueOnError bool
	// progress, if set, is called on the calling goroutine once per settled
	// layer with its index in the call's layer array.
	progress func(layer int, fraction float64)
}

// maxGroupSize bounds the group size: no row is this long, and the sizes
// Python computes from it stay far from overflowing.
const maxGroupSize = 1<<31 - 1

// checkOptions refuses what the C caller must always state explicitly: the Go
// defaults for zero values do not cross the ABI, so that the caller's buffer
// sizes and the engine always agree.
func checkOptions(bits, groupSize int) error {
	if bits != 2 && bits != 4 && bits != 8 {
		return &quant.OptionError{Option: "bit width", Value: fmt.Sprint(bits), Reason: "must be 2, 4 or 8"}
	}
	if groupSize < 1 || groupSize > maxGroupSize {
		return &quant.OptionError{Option: "group size", Value: fmt.Sprint(groupSize), Reason: fmt.Sprintf("must be from 1 to %d", maxGroupSize)}
	}
	return nil
}

// quantize runs batch.Stream over layers, copies each result into the
// caller's buffers as it is emitted and settles every layer's outcome. It
// returns nil, the engine's joined *batch.LayerError values, an *argError, a
// *quant.OptionError or ctx.Err().
func quantize(ctx context.Context, layers []*layerIO, req request) error {
	for _, l := range layers {
		l.status, l.errIndex, l.err = statusNotDone, -1, nil
	}
	if err := checkOptions(req.bits, req.groupSize); err != nil {
		return err
	}
	p := quant.Params{Bits: req.bits, GroupSize: req.groupSize}
	index := make(map[string]int, len(layers))
	in := make([]batch.Layer, len(layers))
	for i, l := range layers {
		if _, dup := index[l.name]; dup {
			return &quant.OptionError{Option: "layer name", Value: fmt.Sprintf("%q", l.name), Reason: "appears more than once in the batch"}
		}
		index[l.name] = i
		if err := l.checkBuffers(p); err != nil {
			return err
		}
		in[i] = batch.Layer{Name: l.name, Shape: l.shape, DType: batch.Float32, Data: l.data,
			Dest: &batch.Destination{Codes: l.codes, Scales: l.scales, ZeroPoints: l.zeroPoints}}
	}
	opts := batch.Options{Bits: req.bits, GroupSize: req.groupSize, ContinueOnError: req.continueOnError, SkipQuality: true} // Python never returns quality
	if req.progress != nil {
		opts.Progress = func(name string, fraction float64) { req.progress(index[name], fraction) }
	}
	// The engine writes each layer straight into the caller's buffers
	// (batch.Layer.Dest): emitting a layer only settles its status.
	err := batch.Stream(ctx, in, opts, func(r *batch.Result) error {
		layers[index[r.Name]].status = statusOK
		return nil
	})
	for _, le := range batch.LayerErrors(err) {
		l := layers[index[le.Layer]]
		l.status, l.err = statusOf(le.Err), le.Err
		var nf *quant.NonFiniteError
		if errors.As(le.Err, &nf) {
			l.errIndex = nf.Index
		}
	}
	return err
}

// checkBuffers verifies that the destinations have exactly the sizes the
// layout implies. A shape the engine will refuse needs no buffers: the
// engine reports it as the layer's error.
func (l *layerIO) checkBuffers(p quant.Params) error {
	lay, err := quant.NewLayout(l.shape, p)
	if err != nil {
		return nil
	}
	if len(l.codes) != lay.CodesLen() || len(l.scales) != lay.ParamsLen() || len(l.zeroPoints) != lay.ParamsLen() {
		return argErrorf("layer %q of shape %v at %d bits in groups of %d needs %d code bytes and %d scales and zero points, but the buffers hold %d, %d and %d",
			l.name, l.shape, p.Bits, p.GroupSize, lay.CodesLen(), lay.ParamsLen(), len(l.codes), len(l.scales), len(l.zeroPoints))
	}
	return nil
}

// dequantize decodes t into dst with the one decoder, quant.DequantizeInto.
func dequantize(t *quant.Tensor, dst []float32) error {
	if err := checkOptions(t.Bits, t.GroupSize); err != nil {
		return err
	}
	if err := t.Check(); err != nil {
		return &argError{err}
	}
	if n := t.Layout().Elements(); len(dst) != n {
		return argErrorf("output holds %d values, want %d for shape %v", len(dst), n, t.Shape)
	}
	quant.DequantizeInto(dst, t)
	return nil
}

// pollInterval is how often a running call looks at its cancel flag: short
// enough that Ctrl-C feels immediate, long enough to cost nothing.
const pollInterval = 2 * time.Millisecond

// watchCancel calls cancel once *flag becomes non-zero, looking every
// interval. The returned stop ends the watch and returns only when the flag
// is no longer read, so no pointer outlives the call. A flag already set is
// seen before watchCancel returns, so a call cancelled before it starts does
// no work even if the watching goroutine is slow to run.
func watchCancel(flag *int32, interval time.Duration, cancel context.CancelFunc) (stop func()) {
	if atomic.LoadInt32(flag) != 0 {
		cancel()
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if atomic.LoadInt32(flag) != 0 {
				cancel()
				return
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
