package arrowio

import (
	"context"
	"runtime"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"golang.org/x/sync/errgroup"

	"github.com/arrowquant/arrowquant/batch"
	"github.com/arrowquant/arrowquant/quant"
)

// Stream quantizes the layers of the input table tbl (see Layers for its
// columns) with batch.Stream and hands each result to emit, in name order,
// as it completes. Pass a Writer's Write method as emit to write a result
// file with bounded memory; it copies what it needs, so opts.RecycleResults
// may be set to reuse the results' memory.
//
// Invalid options fail first, as the *quant.OptionError of the engine, then
// schema problems, as *ColumnError. Problems with rows — null names or
// weights, shapes that do not match, duplicate names, NaN or ±Inf weights —
// are all reported in one error, in layer name order (see Layers). Without
// opts.ContinueOnError, nothing is emitted when any row has a problem; as
// in the engine, finding the problems costs one pass over the weights, not
// a quantization. With it, every good row is quantized and emitted and the
// error is returned too. An error from emit or from ctx stops the work and
// is returned as it is.
func Stream(ctx context.Context, tbl arrow.Table, opts batch.Options, emit func(*batch.Result) error) error {
	// The engine checks the options before any work: asking it with no
	// layers gives its own *quant.OptionError before the table is read.
	if err := batch.Stream(ctx, nil, opts, emit); err != nil {
		return err
	}
	tr := array.NewTableReader(tbl, -1)
	defer tr.Release()
	in, err := readLayers(tr)
	if in == nil {
		return err
	}
	defer in.release()
	if err != nil && !opts.ContinueOnError {
		found, err := in.scanFinite(ctx, opts)
		if err != nil {
			return err
		}
		return joinSorted(append(in.errs, found...))
	}
	err = batch.Stream(ctx, in.layers, opts, emit)
	if err != nil && !onlyRowErrors(err) {
		return err
	}
	return joinSorted(append(in.errs, in.locate(err)...))
}

// Quantize quantizes the layers of the input table tbl (see Layers) through
// the batch engine and returns the result table (see ResultSchema), one
// record batch per layer, in name order. The codes and scales are those
// batch.Quantize gives for the same weights and options.
//
// Errors are those of Stream. When some rows have problems, Quantize
// returns no table, unless opts.ContinueOnError is set: then it returns the
// table of the good layers along with the error. The caller releases the
// table.
func Quantize(ctx context.Context, tbl arrow.Table, opts batch.Options) (arrow.Table, error) {
	var recs []arrow.RecordBatch
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	err := Stream(ctx, tbl, opts, func(r *batch.Result) error {
		recs = append(recs, resultRecord(r))
		return nil
	})
	if err != nil && (!opts.ContinueOnError || !onlyRowErrors(err)) {
		return nil, err
	}
	return array.NewTableFromRecords(resultSchema, recs), err
}

// locate adds the row and column to the engine's per-layer errors.
func (in *input) locate(err error) []error {
	if err == nil {
		return nil
	}
	var errs []error
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		errs = u.Unwrap()
	} else {
		errs = []error{err}
	}
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
		if le, ok := e.(*batch.LayerError); ok {
			if row, ok := in.rows[le.Layer]; ok {
				out[i] = rowError(le.Layer, true, row, colWeights, le.Err)
			}
		}
	}
	return out
}

// scanFinite reports, as row errors, the first NaN or ±Inf of every valid
// layer: what the engine looks for once a batch has failed and it no longer
// quantizes.
func (in *input) scanFinite(ctx context.Context, opts batch.Options) ([]error, error) {
	const chunk = 1 << 16
	found := make([]error, len(in.layers))
	g, gctx := errgroup.WithContext(ctx)
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	g.SetLimit(workers)
	for i, l := range in.layers {
		g.Go(func() error {
			buf := make([]float32, chunk)
			size := l.DType.Size()
			n := len(l.Data) / size
			for off := 0; off < n; off += chunk {
				if err := gctx.Err(); err != nil {
					return err
				}
				m := min(chunk, n-off)
				src := l.Data[off*size : (off+m)*size]
				switch l.DType {
				case batch.Float16:
					quant.DecodeFloat16(buf, src)
				default:
					quant.DecodeFloat32(buf, src)
				}
				if err := quant.CheckFinite(buf[:m], int64(off)); err != nil {
					found[i] = rowError(l.Name, true, in.rows[l.Name], colWeights, err)
					return nil
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var errs []error
	for _, e := range found {
		if e != nil {
			errs = append(errs, e)
		}
	}
	return errs, nil
}
