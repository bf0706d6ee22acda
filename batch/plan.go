package batch

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/arrowquant/arrowquant/quant"
)

// job is one layer's work and the state its chunks share.
type job struct {
	idx      int // position in name order
	layer    Layer
	layout   quant.Layout
	elements int64
	spans    []span
	refused  bool  // the layer failed its checks and is never dispatched
	err      error // the layer's error: set by plan if refused, else by finish

	// Written by the feeder before the chunks are sent, then by each chunk at
	// its own index only, and read by whoever finishes the last chunk.
	result  *Result
	sums    []quant.Sums
	formats []quant.ScaleFormat
	errs    []error
	needF32 atomic.Bool
	pending atomic.Int64
}

// span is a block of a layer: rows [r0, r0+nrows) at columns [c0, c1). Its
// elements are contiguous in the source because either it has one row or it
// spans whole rows.
type span struct{ r0, nrows, c0, c1 int }

func (s span) first(cols int) int { return s.r0*cols + s.c0 }
func (s span) len() int           { return s.nrows * (s.c1 - s.c0) }

// plan sorts the layers by name, refuses duplicate names, checks each layer's
// shape and data and cuts the valid ones into spans. The cut depends only on
// the layer and the options, never on the number of workers, which is what
// makes results byte-identical however the work is scheduled.
func plan(layers []Layer, opts Options) ([]*job, error) {
	jobs := make([]*job, len(layers))
	for i := range layers {
		jobs[i] = &job{layer: layers[i]}
	}
	slices.SortStableFunc(jobs, func(a, b *job) int { return cmp.Compare(a.layer.Name, b.layer.Name) })
	for i := 1; i < len(jobs); i++ {
		if jobs[i].layer.Name == jobs[i-1].layer.Name {
			return nil, &quant.OptionError{Option: "layer name", Value: fmt.Sprintf("%q", jobs[i].layer.Name), Reason: "appears more than once in the batch"}
		}
	}
	p := opts.params()
	for i, j := range jobs {
		j.idx = i
		if err := j.check(p); err != nil {
			j.err, j.refused = &LayerError{Layer: j.layer.Name, Err: err}, true
			continue
		}
		j.spans = cut(j.layout, opts.chunkElements())
	}
	return jobs, nil
}

func (j *job) check(p quant.Params) error {
	size := j.layer.DType.Size()
	if size == 0 {
		return &DTypeError{DType: j.layer.DType}
	}
	l, err := quant.NewLayout(j.layer.Shape, p)
	if err != nil {
		var se *quant.ShapeError
		if errors.As(err, &se) && se.Elements < 0 {
			se.Elements = int64(len(j.layer.Data) / size)
		}
		return err
	}
	if len(j.layer.Data)%size != 0 || int64(len(j.layer.Data)/size) != int64(l.Elements()) {
		return &quant.ShapeError{Shape: j.layer.Shape, Elements: int64(len(j.layer.Data) / size),
			Reason: fmt.Sprintf("does not match the data (%d bytes of %v)", len(j.layer.Data), j.layer.DType)}
	}
	if d := j.layer.Dest; d != nil && (len(d.Codes) != l.CodesLen() || len(d.Scales) != l.ParamsLen() || len(d.ZeroPoints) != l.ParamsLen()) {
		return fmt.Errorf("destination holds %d code bytes, %d scales and %d zero points; shape %v at %d bits in groups of %d needs %d, %d and %d",
			len(d.Codes), len(d.Scales), len(d.ZeroPoints), j.layer.Shape, p.Bits, p.GroupSize, l.CodesLen(), l.ParamsLen(), l.ParamsLen())
	}
	j.layout, j.elements = l, int64(l.Elements())
	return nil
}

// cut splits a layer into spans of about target elements: several whole
// rows, or, when one row alone is longer, pieces of a row that hold whole
// groups and start on byte boundaries.
func cut(l quant.Layout, target int) []span {
	var spans []span
	if l.Cols <= target {
		per := target / l.Cols
		for r := 0; r < l.Rows; r += per {
			spans = append(spans, span{r, min(per, l.Rows-r), 0, l.Cols})
		}
		return spans
	}
	align := l.SegmentAlign()
	seg := max(align, target/align*align)
	for r := 0; r < l.Rows; r++ {
		for c := 0; c < l.Cols; c += seg {
			spans = append(spans, span{r, 1, c, min(c+seg, l.Cols)})
		}
	}
	return spans
}

// resultBytes is what a layer's result occupies, for the Stream window.
func (j *job) resultBytes() int64 {
	return int64(j.layout.CodesLen()) + 8*int64(j.layout.ParamsLen())
}
