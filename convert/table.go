package convert

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/arrowquant/arrowquant/arrowio"
	"github.com/arrowquant/arrowquant/batch"
	"github.com/arrowquant/arrowquant/quant"
	"github.com/arrowquant/arrowquant/safetensors"
)

// tableSink writes the quantized tensors of a conversion as a result table
// (Parquet or Arrow IPC, see docs/FORMAT.md). A result table holds quantized
// layers only: tensors kept as they were are counted, not stored.
type tableSink struct {
	w       arrowio.Writer
	dropped int
}

// NewTableSink prepares to write a result table to dest in the format its
// extension names (.parquet, .arrow, …), refusing to replace any of inputs.
func NewTableSink(dest string, inputs []string) (Sink, error) {
	w, err := arrowio.Create(dest, &arrowio.CreateOptions{Refuse: inputs})
	if err != nil {
		return nil, err
	}
	return &tableSink{w: w}, nil
}

func (s *tableSink) WritePlain(*safetensors.Tensor) error { s.dropped++; return nil }
func (s *tableSink) WriteResult(r *batch.Result) error    { return s.w.Write(r) }
func (s *tableSink) Commit() error                        { return s.w.Commit() }
func (s *tableSink) Abort() error                         { return s.w.Abort() }

// copiesResults: arrowio.Writer.Write copies what it needs.
func (s *tableSink) copiesResults() {}

// Dropped reports how many tensors a sink received but could not store: the
// kept tensors of a conversion to a result table. It is 0 for other sinks.
func Dropped(s Sink) int {
	if t, ok := s.(*tableSink); ok {
		return t.dropped
	}
	return 0
}

// IsTable reports whether the file at path is a Parquet or Arrow IPC file,
// by its first bytes.
func IsTable(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 6)
	n, _ := f.Read(head)
	return strings.HasPrefix(string(head[:n]), "PAR1") || strings.HasPrefix(string(head[:n]), "ARROW1")
}

// QuantizeTable quantizes the layers of an input table (columns layer_name,
// weights and optional shape; see arrowio.Layers) into the result table w,
// and reports on every layer. On failure w is aborted. With
// opts.Batch.ContinueOnError the good layers are written and the error, which
// then wraps ErrSomeLayersFailed, names the bad ones.
func QuantizeTable(ctx context.Context, input string, tbl arrow.Table, w arrowio.Writer, opts Options) (rep *Report, err error) {
	defer func() {
		if err != nil && !errors.Is(err, ErrSomeLayersFailed) {
			w.Abort()
		}
	}()
	p := quant.Params{Bits: opts.Batch.Bits, GroupSize: opts.Batch.GroupSize}.WithDefaults()
	rep = &Report{Input: input, Bits: p.Bits, GroupSize: p.GroupSize}
	start := time.Now()
	opts.Batch.RecycleResults = true // w.Write copies, and the report keeps no slice of r
	streamErr := arrowio.Stream(ctx, tbl, opts.Batch, func(r *batch.Result) error {
		if err := w.Write(r); err != nil {
			return err
		}
		l := LayerReport{Name: r.Name, File: input, DType: string(safetensorsDType(r.SourceDType)), Shape: int64s(r.Shape),
			Elements: int64(r.Layout().Elements())}
		l.BytesIn = l.Elements * int64(r.SourceDType.Size())
		rep.Layers = append(rep.Layers, l)
		rep.quantized(r)
		return nil
	})
	if streamErr != nil && (!opts.Batch.ContinueOnError || ctx.Err() != nil || batch.LayerErrors(streamErr) == nil) {
		return nil, streamErr
	}
	if err := w.Commit(); err != nil {
		return nil, err
	}
	rep.Seconds = time.Since(start).Seconds()
	if streamErr != nil {
		for _, le := range batch.LayerErrors(streamErr) {
			rep.Layers = append(rep.Layers, LayerReport{Name: le.Layer, File: input, Action: "failed"})
		}
		slices.SortFunc(rep.Layers, func(a, b LayerReport) int { return strings.Compare(a.Name, b.Name) })
		rep.failed(streamErr)
		return rep, errors.Join(ErrSomeLayersFailed, streamErr)
	}
	return rep, nil
}

// DequantizeTable writes the layers of the result table at path as a plain
// safetensors file at dest, each decoded with quant.Dequantize and stored as
// dtype (F32 if empty: a result table does not record the source dtype).
func DequantizeTable(path, dest string, dtype safetensors.DType) error {
	if dtype == "" {
		dtype = safetensors.F32
	}
	if err := checkDType(dtype); err != nil {
		return err
	}
	layers, err := arrowio.ReadResults(path)
	if err != nil {
		return err
	}
	plan := make([]safetensors.PlannedTensor, len(layers))
	for i, l := range layers {
		plan[i] = safetensors.PlannedTensor{Name: l.Name, MaxBytes: int64(l.Layout().Elements()) * int64(dtype.Size())}
	}
	w, err := safetensors.Create(dest, map[string]string{"format": "pt", "source": "arrowquant dequantize " + path}, plan,
		&safetensors.CreateOptions{Refuse: []string{path}})
	if err != nil {
		return err
	}
	defer w.Abort()
	var encoded []byte
	for _, l := range layers {
		x, err := quant.Dequantize(&l.Tensor)
		if err != nil {
			return &FormatError{File: path, Tensor: l.Name, Msg: err.Error()}
		}
		encoded = appendEncoded(encoded[:0], x, dtype)
		if err := w.WriteTensor(l.Name, dtype, int64s(l.Shape), encoded); err != nil {
			return err
		}
	}
	return w.Commit()
}

// ReadTable reads the result table at path as entries, like Read does for a
// quantized safetensors model.
func ReadTable(path string) ([]Entry, error) {
	layers, err := arrowio.ReadResults(path)
	if err != nil {
		return nil, err
	}
	entries := make([]Entry, len(layers))
	for i := range layers {
		l := &layers[i]
		stored := int64(len(l.Codes) + 4*len(l.Scales) + 4*len(l.ZeroPoints))
		entries[i] = Entry{Name: l.Name, File: path, Quant: &l.Tensor, StoredBytes: stored}
	}
	slices.SortFunc(entries, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	return entries, nil
}
