// Package convert turns model files into quantized model files and back: it
// decides which tensors to quantize, lays quantized tensors out in a
// safetensors file (see docs/FORMAT.md), streams them through the batch
// engine into a writer, and reports per-layer quality. The command line is a
// thin shell around it.
package convert

import (
	"fmt"
	"regexp"

	"github.com/arrowquant/arrowquant/batch"
	"github.com/arrowquant/arrowquant/safetensors"
)

// DefaultMinElements is the smallest tensor quantized by default.
const DefaultMinElements = 1024

// Policy decides which tensors are quantized. The zero value quantizes every
// floating tensor of rank ≥ 2 (no minimum size).
type Policy struct {
	MinElements int64            // tensors with fewer elements are kept
	Keep        []*regexp.Regexp // tensors whose name matches any are kept
	QuantizeAll bool             // quantize every floating tensor of rank ≥ 1 regardless of the rules above
}

// Decide reports whether t is quantized and, if not, why it is kept.
func (p Policy) Decide(t *safetensors.Tensor) (quantize bool, reason string) {
	if _, ok := sourceDType(t.DType); !ok {
		return false, fmt.Sprintf("dtype %s is not F32, F16 or BF16", t.DType)
	}
	if len(t.Shape) == 0 {
		return false, "scalar"
	}
	if t.NumElements() == 0 {
		return false, "empty"
	}
	if p.QuantizeAll {
		return true, ""
	}
	for _, re := range p.Keep {
		if re.MatchString(t.Name) {
			return false, fmt.Sprintf("matches --keep %s", re)
		}
	}
	if len(t.Shape) == 1 {
		return false, "rank 1 (bias, norm or vector)"
	}
	if n := t.NumElements(); n < p.MinElements {
		return false, fmt.Sprintf("%d elements, fewer than --min-elements %d", n, p.MinElements)
	}
	return true, ""
}

// sourceDType maps a safetensors dtype to the engine's, for quantizable types.
func sourceDType(d safetensors.DType) (batch.DType, bool) {
	switch d {
	case safetensors.F32:
		return batch.Float32, true
	case safetensors.F16:
		return batch.Float16, true
	case safetensors.BF16:
		return batch.BFloat16, true
	}
	return 0, false
}

// safetensorsDType is the inverse of sourceDType.
func safetensorsDType(d batch.DType) safetensors.DType {
	switch d {
	case batch.Float16:
		return safetensors.F16
	case batch.BFloat16:
		return safetensors.BF16
	}
	return safetensors.F32
}
