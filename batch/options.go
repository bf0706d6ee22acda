package batch

import (
	"fmt"
	"runtime"

	"github.com/arrowquant/arrowquant/quant"
)

// Options control a batch. The zero value quantizes to 4 bits in groups of
// 128 with float16 scales on GOMAXPROCS workers and stops at the first bad layer.
type Options struct {
	Bits      int               // 2, 4 or 8; 0 means 4
	GroupSize int               // ≥ 1; 0 means 128
	Scales    quant.ScaleFormat // quant.Float16 (default, float32 where it must) or quant.Float32
	Workers   int               // goroutines quantizing; 0 means runtime.GOMAXPROCS(0)

	// ContinueOnError returns the good layers along with the error that names
	// the bad ones. Without it a bad layer means no results at all.
	ContinueOnError bool

	// SkipQuality leaves Result.Quality zero: the error sums behind it are
	// more than half of the quantization work, and a caller that never reads
	// them need not pay for them. Codes, scales and zero points are
	// byte-identical to a run without it, as are the errors.
	SkipQuality bool

	// Progress, if set, is called after each layer completes with the layer's
	// name and the fraction of all parameters done. Calls never overlap and
	// come from the goroutine that called Quantize or Stream; fractions never
	// decrease and the last is exactly 1. A panic in Progress is recovered and
	// does not stop the batch.
	Progress func(layer string, fraction float64)

	// Advance, if set, is called after every chunk with the number of
	// elements it held, from the worker goroutines and concurrently: it must
	// be safe for concurrent use and quick. It lets a progress bar move
	// inside one large layer; Progress remains the ordered per-layer report.
	Advance func(elements int)

	// ChunkElements is the target number of elements one worker quantizes at
	// a time (and the size of its scratch space); 0 means 1,048,576
	// (4 MiB of float32): big enough that handing chunks to workers costs
	// nothing measurable, small enough that a large layer still splits.
	ChunkElements int

	// MaxPending bounds, for Stream, the bytes of finished results waiting
	// for their turn to be emitted; 0 means 256 MiB. A single larger layer is
	// still processed, alone.
	MaxPending int64

	// RecycleResults lets Stream reuse a result's memory for a later layer
	// once emit has returned, so emit must not keep r.Codes, r.Scales or
	// r.ZeroPoints (copy what it needs). Fresh memory for every layer costs
	// a page fault and a cleared page per 4 KiB, about a tenth of the work
	// of quantizing a model file; recycled memory costs neither. At most
	// MaxPending bytes are kept idle for it. Quantize, which returns every
	// result, ignores it; a layer's Destination is never recycled.
	RecycleResults bool
}

func (o Options) maxPending() int64 {
	if o.MaxPending > 0 {
		return o.MaxPending
	}
	return 256 << 20
}

func (o Options) params() quant.Params {
	return quant.Params{Bits: o.Bits, GroupSize: o.GroupSize, Scales: o.Scales}.WithDefaults()
}

func (o Options) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return runtime.GOMAXPROCS(0)
}

func (o Options) chunkElements() int {
	if o.ChunkElements > 0 {
		return o.ChunkElements
	}
	return 1 << 20
}

func (o Options) validate() error {
	if err := o.params().Validate(); err != nil {
		return err
	}
	if o.Workers < 0 {
		return &quant.OptionError{Option: "worker count", Value: fmt.Sprint(o.Workers), Reason: "must not be negative"}
	}
	if o.ChunkElements < 0 {
		return &quant.OptionError{Option: "chunk size", Value: fmt.Sprint(o.ChunkElements), Reason: "must not be negative"}
	}
	return nil
}
