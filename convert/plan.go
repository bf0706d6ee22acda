package convert

import (
	"fmt"
	"path/filepath"

	"github.com/arrowquant/arrowquant/batch"
	"github.com/arrowquant/arrowquant/quant"
	"github.com/arrowquant/arrowquant/safetensors"
)

// Options control a conversion.
type Options struct {
	Batch  batch.Options // bits, group size, workers, continue-on-error, progress
	Policy Policy
}

// Plan says what happens to every tensor of a model.
type Plan struct {
	Model   *safetensors.Model
	Params  quant.Params // with defaults applied
	Entries []PlanEntry  // every tensor, sorted by name
}

// PlanEntry is the fate of one source tensor.
type PlanEntry struct {
	Tensor   *safetensors.Tensor
	Quantize bool
	Reason   string // why it is kept, when it is
}

// NewPlan applies opts.Policy to every tensor of m. It refuses a model that
// arrowquant already quantized and output names that would collide with
// source tensors.
func NewPlan(m *safetensors.Model, opts Options) (*Plan, error) {
	p := quant.Params{Bits: opts.Batch.Bits, GroupSize: opts.Batch.GroupSize, Scales: opts.Batch.Scales}.WithDefaults()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	for _, f := range m.Shards {
		if _, ok := f.Metadata[MetadataKey]; ok {
			return nil, fmt.Errorf("%s: already quantized by arrowquant (use 'arrowquant dequantize' first)", f.Path)
		}
	}
	plan := &Plan{Model: m, Params: p}
	for i := range m.Tensors {
		t := &m.Tensors[i]
		q, why := opts.Policy.Decide(t)
		plan.Entries = append(plan.Entries, PlanEntry{Tensor: t, Quantize: q, Reason: why})
	}
	for _, e := range plan.Entries {
		if !e.Quantize {
			continue
		}
		for _, suffix := range []string{SuffixCodes, SuffixScales, SuffixZeroPoints} {
			if other, ok := m.Tensor(e.Tensor.Name + suffix); ok {
				return nil, fmt.Errorf("%s: tensor %q: quantizing %q would create a tensor of the same name", other.File, other.Name, e.Tensor.Name)
			}
		}
	}
	return plan, nil
}

// Estimate returns the bytes of tensor data in the source and, assuming
// float16 scales, in the output (headers excluded).
func (p *Plan) Estimate() (in, out int64) {
	for _, e := range p.Entries {
		in += int64(len(e.Tensor.Data))
		if !e.Quantize {
			out += int64(len(e.Tensor.Data))
			continue
		}
		l := newLayout(e.Tensor.Shape, p.Params.Bits, p.Params.GroupSize)
		out += l.rows*l.rowBytes + 2*2*l.rows*l.groups
	}
	return in, out
}

// layers returns the engine's view of the tensors to quantize.
func (p *Plan) layers() []batch.Layer {
	var layers []batch.Layer
	for _, e := range p.Entries {
		if e.Quantize {
			dt, _ := sourceDType(e.Tensor.DType)
			layers = append(layers, batch.Layer{Name: e.Tensor.Name, Shape: ints(e.Tensor.Shape), DType: dt, Data: e.Tensor.Data})
		}
	}
	return layers
}

// shardName is the output file a source tensor's data goes to: the source
// shard's base name, so a sharded model stays sharded the same way.
func shardName(t *safetensors.Tensor) string { return filepath.Base(t.File) }
