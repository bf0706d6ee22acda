package convert

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/arrowquant/arrowquant/batch"
)

// Quantize runs plan, writing through sink, and reports on every tensor.
// On failure the sink is aborted, so nothing is left at the destination, and
// every failing layer is named with its file. With
// opts.Batch.ContinueOnError, layers that fail are written as they were and
// listed in the report and in the returned error, which then wraps
// ErrSomeLayersFailed alongside the output.
func Quantize(ctx context.Context, plan *Plan, sink Sink, opts Options) (rep *Report, err error) {
	defer func() {
		if err != nil && !errors.Is(err, ErrSomeLayersFailed) {
			sink.Abort()
		}
	}()
	start := time.Now()
	if _, ok := sink.(copyingSink); ok {
		opts.Batch.RecycleResults = true
	}
	rep = newReport(plan)
	for _, e := range plan.Entries {
		if !e.Quantize {
			if err := sink.WritePlain(e.Tensor); err != nil {
				return nil, err
			}
		}
	}
	emitted := map[string]bool{}
	streamErr := batch.Stream(ctx, plan.layers(), opts.Batch, func(r *batch.Result) error {
		if err := sink.WriteResult(r); err != nil {
			return err
		}
		emitted[r.Name] = true
		rep.quantized(r)
		return nil
	})
	if streamErr != nil && (!opts.Batch.ContinueOnError || ctx.Err() != nil || batch.LayerErrors(streamErr) == nil) {
		return nil, withFiles(plan, streamErr)
	}
	for _, e := range plan.Entries {
		if e.Quantize && !emitted[e.Tensor.Name] {
			if err := sink.WritePlain(e.Tensor); err != nil {
				return nil, err
			}
		}
	}
	if err := sink.Commit(); err != nil {
		return nil, err
	}
	rep.Seconds = time.Since(start).Seconds()
	if streamErr != nil {
		rep.failed(streamErr)
		return rep, errors.Join(ErrSomeLayersFailed, withFiles(plan, streamErr))
	}
	return rep, nil
}

// ErrSomeLayersFailed is joined into the error of a conversion that went on
// past bad layers and wrote them as they were.
var ErrSomeLayersFailed = errors.New("some layers could not be quantized and were kept as they were")

// withFiles prefixes every layer error with the file the layer came from.
func withFiles(plan *Plan, err error) error {
	les := batch.LayerErrors(err)
	if les == nil {
		return err
	}
	out := make([]error, len(les))
	for i, le := range les {
		out[i] = le
		if t, ok := plan.Model.Tensor(le.Layer); ok {
			out[i] = fmt.Errorf("%s: %w", t.File, le)
		}
	}
	return errors.Join(out...)
}

// finite returns a pointer to v, or nil when v is infinite (exact decoding),
// which JSON cannot carry.
func finite(v float64) *float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return nil
	}
	return &v
}
