package convert

import (
	"path/filepath"

	"github.com/arrowquant/arrowquant/batch"
	"github.com/arrowquant/arrowquant/safetensors"
)

// Sink receives the output of a conversion. Nothing is visible at the
// destination before Commit; Abort removes every trace and is safe after
// Commit.
type Sink interface {
	WritePlain(t *safetensors.Tensor) error // a tensor kept as it is
	WriteResult(r *batch.Result) error      // a quantized tensor
	Commit() error
	Abort() error
}

// A copyingSink copies everything it needs from a result before WriteResult
// returns, so Quantize may let the engine reuse the result's memory for a
// later layer (batch.Options.RecycleResults).
type copyingSink interface {
	Sink
	copiesResults()
}

// safetensorsSink writes the quantized layout of docs/FORMAT.md.
type safetensorsSink struct {
	out     *output
	plan    *Plan
	shardOf map[string]string                // output tensor name → shard
	infos   map[string]map[string]TensorInfo // shard → quantized tensors written
	scratch []byte                           // scales and zero points being written, reused
}

// NewSafetensorsSink prepares to write the plan's output to dest, a file for
// a single-file model and a folder for a sharded one. With continueOnError,
// room is also kept for every quantized tensor to be written as it was,
// should its quantization fail.
func NewSafetensorsSink(dest string, plan *Plan, continueOnError bool) (Sink, error) {
	s := &safetensorsSink{plan: plan, shardOf: map[string]string{}, infos: map[string]map[string]TensorInfo{}}
	plans := map[string][]safetensors.PlannedTensor{}
	maxInfos := map[string]map[string]TensorInfo{}
	for _, e := range plan.Entries {
		shard := shardName(e.Tensor)
		planned := []safetensors.PlannedTensor{{Name: e.Tensor.Name, MaxBytes: int64(len(e.Tensor.Data))}}
		if e.Quantize {
			q := plannedTensors(e.Tensor.Name, e.Tensor.Shape, plan.Params.Bits, plan.Params.GroupSize)
			if continueOnError {
				// Either the three quantized tensors or the original is written.
				planned = append(planned, q...)
				for i := range planned {
					planned[i].Optional = true
				}
			} else {
				planned = q
			}
			if maxInfos[shard] == nil {
				maxInfos[shard] = map[string]TensorInfo{}
			}
			maxInfos[shard][e.Tensor.Name] = s.info(e.Tensor)
		}
		for _, pt := range planned {
			s.shardOf[pt.Name] = shard
		}
		plans[shard] = append(plans[shard], planned...)
	}
	// The header must be reserved before the data; the description of every
	// tensor that may be quantized is its largest possible metadata.
	out, err := openOutput(dest, plan.Model, plans, func(f *safetensors.File) (map[string]string, error) {
		s.infos[filepath.Base(f.Path)] = map[string]TensorInfo{}
		return describe(f.Metadata, maxInfos[filepath.Base(f.Path)])
	})
	if err != nil {
		return nil, err
	}
	s.out = out
	return s, nil
}

func (s *safetensorsSink) info(t *safetensors.Tensor) TensorInfo {
	return TensorInfo{Bits: s.plan.Params.Bits, GroupSize: s.plan.Params.GroupSize, Shape: t.Shape, DType: string(t.DType)}
}

// WritePlain and WriteResult are each a tensor's last use of the source:
// releasing its pages then spreads the unmapping of the model over the run
// instead of leaving it all to the end.

func (s *safetensorsSink) WritePlain(t *safetensors.Tensor) error {
	defer s.plan.Model.Release(t)
	return s.out.writers[s.shardOf[t.Name]].WriteTensor(t.Name, t.DType, t.Shape, t.Data)
}

func (s *safetensorsSink) WriteResult(r *batch.Result) error {
	shard := s.shardOf[r.Name+SuffixCodes]
	var stored []safetensors.Tensor
	stored, s.scratch = storedTensors(r, s.scratch)
	for _, t := range stored {
		if err := s.out.writers[shard].WriteTensor(t.Name, t.DType, t.Shape, t.Data); err != nil {
			return err
		}
	}
	src, _ := s.plan.Model.Tensor(r.Name)
	s.infos[shard][r.Name] = s.info(src)
	s.plan.Model.Release(src)
	return nil
}

func (s *safetensorsSink) Commit() error {
	return s.out.commit(func(f *safetensors.File) (map[string]string, error) {
		return describe(f.Metadata, s.infos[filepath.Base(f.Path)])
	})
}

func (s *safetensorsSink) Abort() error { return s.out.abort() }

// copiesResults: WriteTensor copies the bytes before it returns.
func (s *safetensorsSink) copiesResults() {}
