package batch

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/arrowquant/arrowquant/quant"
)

// Quantize quantizes every layer and returns the results sorted by name.
//
// Invalid options and duplicate names fail before any work. Problems with
// individual layers come back as one error joining a *LayerError per bad
// layer, in name order; then Quantize returns no results, unless
// opts.ContinueOnError is set, in which case it returns the good ones too.
// If ctx is cancelled, Quantize returns ctx.Err() within about one chunk of
// work per worker, and no goroutine it started outlives it.
func Quantize(ctx context.Context, layers []Layer, opts Options) ([]*Result, error) {
	results := make([]*Result, 0, len(layers))
	opts.MaxPending = math.MaxInt64 // every result is kept anyway
	opts.RecycleResults = false
	err := Stream(ctx, layers, opts, func(r *Result) error {
		results = append(results, r)
		return nil
	})
	if err != nil && (!opts.ContinueOnError || LayerErrors(err) == nil) {
		return nil, err
	}
	return results, err
}

// Stream quantizes every layer like Quantize, but hands each result to emit,
// in name order, as soon as it and every layer before it are done. emit runs
// on the calling goroutine, one call at a time; an error from it stops the
// batch and is returned. At most opts.MaxPending bytes of results wait in
// memory for their turn. Without opts.ContinueOnError, emit is not called
// after a bad layer is found, but layers before it may already have been
// emitted: a caller writing a file discards it when Stream fails.
func Stream(ctx context.Context, layers []Layer, opts Options, emit func(*Result) error) error {
	if err := opts.validate(); err != nil {
		return err
	}
	jobs, err := plan(layers, opts)
	if err != nil {
		return err
	}
	r := &run{opts: opts, params: opts.params(), jobs: jobs, emit: emit}
	if opts.RecycleResults {
		r.recycle = &recycler{limit: opts.maxPending()}
	}
	return r.do(ctx)
}

// run is the state of one Stream call.
type run struct {
	opts    Options
	params  quant.Params
	jobs    []*job
	emit    func(*Result) error
	recycle *recycler   // nil unless Options.RecycleResults
	failed  atomic.Bool // a layer failed and ContinueOnError is off: only look for more errors
}

type chunk struct {
	job  *job
	span int
}

func (r *run) do(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	maxPending := r.opts.maxPending()
	window := semaphore.NewWeighted(maxPending)
	work := make(chan chunk)
	finished := make(chan *job, len(r.jobs))

	var total int64
	for _, j := range r.jobs {
		total += j.elements
		if j.refused && !r.opts.ContinueOnError {
			r.failed.Store(true)
		}
	}

	g.Go(func() error { // the feeder: layers in name order, each after its window share
		defer close(work)
		for _, j := range r.jobs {
			if j.refused {
				continue
			}
			if err := window.Acquire(gctx, min(j.resultBytes(), maxPending)); err != nil {
				return err
			}
			j.start(r.params, r.recycle)
			for i := range j.spans {
				select {
				case work <- chunk{j, i}:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
		}
		return nil
	})
	var workers sync.WaitGroup
	for range r.opts.workers() {
		workers.Add(1)
		g.Go(func() error {
			defer workers.Done()
			w := worker{run: r}
			for c := range work {
				if gctx.Err() != nil {
					continue // drain: the feeder stops on its own
				}
				if w.do(c) {
					finished <- c.job
				}
			}
			return nil
		})
	}
	go func() { workers.Wait(); close(finished) }()

	emitErr := r.collect(finished, window, maxPending, total, g)
	waitErr := g.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if emitErr != nil {
		return emitErr
	}
	if waitErr != nil {
		return waitErr
	}
	var errs []error
	for _, j := range r.jobs {
		if j.err != nil {
			errs = append(errs, j.err)
		}
	}
	return errors.Join(errs...)
}

// collect runs on the caller's goroutine: it reports progress as layers
// finish and emits results in name order. It returns once every worker has
// stopped.
func (r *run) collect(finished <-chan *job, window *semaphore.Weighted, maxPending, total int64, g *errgroup.Group) error {
	done := make([]bool, len(r.jobs))
	count, next := 0, 0
	var doneElems int64
	var emitErr error
	complete := func(j *job) {
		done[j.idx] = true
		count++
		doneElems += j.elements
		fraction := 1.0
		if count < len(r.jobs) {
			fraction = float64(doneElems) / float64(max(total, 1))
		}
		r.progress(j.layer.Name, fraction)
		for next < len(r.jobs) && done[next] {
			n := r.jobs[next]
			if emitErr == nil && n.err == nil && (r.opts.ContinueOnError || !r.failed.Load()) {
				emitErr = r.callEmit(n.result)
				if emitErr != nil {
					g.Go(func() error { return emitErr }) // cancels gctx, stopping the others
				}
			}
			if n.result != nil && n.layer.Dest == nil {
				r.recycle.put(&n.result.Tensor)
			}
			if !n.refused {
				window.Release(min(n.resultBytes(), maxPending))
			}
			n.result = nil
			next++
		}
	}
	for _, j := range r.jobs {
		if j.refused {
			complete(j)
		}
	}
	for j := range finished {
		complete(j)
	}
	return emitErr
}

func (r *run) progress(name string, fraction float64) {
	if r.opts.Progress == nil {
		return
	}
	defer func() { _ = recover() }() // a broken progress callback must not break the batch
	r.opts.Progress(name, fraction)
}

func (r *run) callEmit(res *Result) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("batch: emitting layer %q panicked: %v", res.Name, p)
		}
	}()
	return r.emit(res)
}

// start gives the layer its result memory just before its first chunk is
// sent: the caller's Destination, or buffers from rec (new ones when rec is
// nil or has none large enough).
func (j *job) start(p quant.Params, rec *recycler) {
	t := quant.Tensor{Shape: append([]int(nil), j.layer.Shape...), Bits: p.Bits, GroupSize: p.GroupSize, Format: p.Scales}
	if d := j.layer.Dest; d != nil {
		t.Codes, t.Scales, t.ZeroPoints = d.Codes, d.Scales, d.ZeroPoints
	} else {
		b := rec.get(j.layout.CodesLen(), j.layout.ParamsLen())
		t.Codes, t.Scales, t.ZeroPoints = b.codes, b.scales, b.zeroes
	}
	j.result = &Result{Name: j.layer.Name, SourceDType: j.layer.DType, Tensor: t}
	j.sums = make([]quant.Sums, len(j.spans))
	j.formats = make([]quant.ScaleFormat, len(j.spans))
	j.errs = make([]error, len(j.spans))
	j.pending.Store(int64(len(j.spans)))
}

// worker owns the scratch space of one goroutine.
type worker struct {
	run *run
	q   quant.Quantizer
	buf []float32
}

// do processes one chunk and reports whether it was the last of its layer,
// in which case the layer has been finished.
func (w *worker) do(c chunk) (last bool) {
	j := c.job
	j.sums[c.span], j.formats[c.span], j.errs[c.span] = w.quantize(j, c.span)
	if advance := w.run.opts.Advance; advance != nil {
		advance(j.spans[c.span].len())
	}
	if j.pending.Add(-1) != 0 {
		return false
	}
	w.finish(j)
	return true
}

// quantize quantizes one span, in float32 scale mode straight away if the
// layer is already known to need it; a recovered panic becomes the error.
func (w *worker) quantize(j *job, i int) (sums quant.Sums, format quant.ScaleFormat, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error: %v", p)
		}
	}()
	s := j.spans[i]
	src := w.source(j, s)
	if w.run.failed.Load() {
		return quant.Sums{}, 0, quant.CheckFinite(src, int64(s.first(j.layout.Cols)))
	}
	format = w.run.params.Scales
	if j.needF32.Load() {
		format = quant.Float32
	}
	sums, err = w.block(j, s, src, format)
	if quant.IsNeedFloat32(err) {
		j.needF32.Store(true)
		format = quant.Float32
		sums, err = w.block(j, s, src, format)
	}
	return sums, format, err
}

// block quantizes span s of j from src, without the quality sums (zero Sums)
// when the run skips them.
func (w *worker) block(j *job, s span, src []float32, format quant.ScaleFormat) (quant.Sums, error) {
	t := &j.result.Tensor
	if w.run.opts.SkipQuality {
		return quant.Sums{}, w.q.EncodeBlock(t, src, s.r0, s.nrows, s.c0, s.c1, format)
	}
	return w.q.QuantizeBlock(t, src, s.r0, s.nrows, s.c0, s.c1, format)
}

// finish redoes in float32 the spans quantized with float16 scales before the
// layer was found to need float32, then adds the spans' figures in span
// order and settles the layer's error: the first bad element by position.
func (w *worker) finish(j *job) {
	if j.needF32.Load() {
		for i, f := range j.formats {
			if f != quant.Float32 && j.errs[i] == nil {
				s := j.spans[i]
				j.sums[i], j.errs[i] = w.block(j, s, w.source(j, s), quant.Float32)
			}
		}
		j.result.Format = quant.Float32
	}
	var sums quant.Sums
	for i := range j.spans {
		if err := j.errs[i]; err != nil {
			j.err = &LayerError{Layer: j.layer.Name, Err: err}
			if !w.run.opts.ContinueOnError {
				w.run.failed.Store(true)
			}
			return
		}
		sums.Add(j.sums[i])
	}
	if !w.run.opts.SkipQuality {
		j.result.Quality = sums.Quality()
	}
}

// source returns the span's values as float32: the layer's own memory when it
// already is aligned float32, else decoded into the worker's scratch.
func (w *worker) source(j *job, s span) []float32 {
	size := j.layer.DType.Size()
	n := s.len()
	b := j.layer.Data[s.first(j.layout.Cols)*size:][:n*size]
	if j.layer.DType == Float32 && uintptr(unsafe.Pointer(&b[0]))%4 == 0 {
		return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
	}
	if cap(w.buf) < n {
		w.buf = make([]float32, n)
	}
	dst := w.buf[:n]
	switch j.layer.DType {
	case Float32:
		quant.DecodeFloat32(dst, b)
	case Float16:
		quant.DecodeFloat16(dst, b)
	case BFloat16:
		quant.DecodeBFloat16(dst, b)
	}
	return dst
}
