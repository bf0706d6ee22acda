package convert

import (
	"cmp"
	"slices"

	"github.com/arrowquant/arrowquant/batch"
)

// Report describes a conversion, tensor by tensor. It is what --report
// writes as JSON.
type Report struct {
	Input     string        `json:"input"`
	Bits      int           `json:"bits"`
	GroupSize int           `json:"group_size"`
	Seconds   float64       `json:"seconds"`
	Layers    []LayerReport `json:"layers"`
}

// LayerReport is the fate and quality of one tensor.
type LayerReport struct {
	Name       string   `json:"name"`
	File       string   `json:"file"`
	Action     string   `json:"action"` // "quantized", "kept" or "failed"
	Reason     string   `json:"reason,omitempty"`
	DType      string   `json:"dtype"`
	Shape      []int64  `json:"shape"`
	Elements   int64    `json:"elements"`
	BytesIn    int64    `json:"bytes_in"`
	BytesOut   int64    `json:"bytes_out"`
	ScaleDType string   `json:"scale_dtype,omitempty"`
	Cosine     *float64 `json:"cosine,omitempty"`
	RMSE       *float64 `json:"rmse,omitempty"`
	MaxAbsErr  *float64 `json:"max_abs_error,omitempty"`
	SNRdB      *float64 `json:"snr_db,omitempty"` // absent when decoding is exact
}

func newReport(plan *Plan) *Report {
	r := &Report{Input: plan.Model.Path, Bits: plan.Params.Bits, GroupSize: plan.Params.GroupSize}
	for _, e := range plan.Entries {
		t := e.Tensor
		lr := LayerReport{Name: t.Name, File: t.File, Action: "kept", Reason: e.Reason, DType: string(t.DType),
			Shape: t.Shape, Elements: t.NumElements(), BytesIn: int64(len(t.Data)), BytesOut: int64(len(t.Data))}
		if e.Quantize {
			lr.Action, lr.BytesOut = "failed", int64(len(t.Data))
		}
		r.Layers = append(r.Layers, lr)
	}
	return r
}

func (r *Report) layer(name string) *LayerReport {
	i, ok := slices.BinarySearchFunc(r.Layers, name, func(l LayerReport, n string) int { return cmp.Compare(l.Name, n) })
	if !ok {
		return nil
	}
	return &r.Layers[i]
}

func (r *Report) quantized(res *batch.Result) {
	l := r.layer(res.Name)
	l.Action, l.Reason = "quantized", ""
	l.BytesOut = int64(len(res.Codes))
	per := 2
	if res.Format.String() == "f32" {
		per = 4
	}
	l.BytesOut += int64(2 * per * len(res.Scales))
	l.ScaleDType = res.Format.String()
	q := res.Quality
	l.Cosine, l.RMSE, l.MaxAbsErr, l.SNRdB = finite(q.Cosine), finite(q.RMSE), finite(q.MaxAbsError), finite(q.SNRdB)
}

// failed records the reasons of the layers that could not be quantized.
func (r *Report) failed(err error) {
	for _, le := range batch.LayerErrors(err) {
		if l := r.layer(le.Layer); l != nil {
			l.Reason = le.Err.Error()
		}
	}
}

// Totals are the figures of the summary.
type Totals struct {
	Quantized, Kept, Failed int
	ParamsQuantized, Params int64
	BytesIn, BytesOut       int64
	BytesOutQuantized       int64
	MeanCosine, WorstCosine float64
	Worst                   []LayerReport // the quantized layers of lowest cosine, worst first (up to 3)
}

// Totals adds up the layers.
func (r *Report) Totals() Totals {
	var t Totals
	var sumCos float64
	var quantized []LayerReport
	for _, l := range r.Layers {
		t.Params += l.Elements
		t.BytesIn += l.BytesIn
		t.BytesOut += l.BytesOut
		switch l.Action {
		case "quantized":
			t.Quantized++
			t.ParamsQuantized += l.Elements
			t.BytesOutQuantized += l.BytesOut
			if l.Cosine != nil {
				sumCos += *l.Cosine
			}
			quantized = append(quantized, l)
		case "kept":
			t.Kept++
		default:
			t.Failed++
		}
	}
	if t.Quantized > 0 {
		t.MeanCosine = sumCos / float64(t.Quantized)
		slices.SortStableFunc(quantized, func(a, b LayerReport) int { return cmp.Compare(cosine(a), cosine(b)) })
		t.WorstCosine = cosine(quantized[0])
		t.Worst = quantized[:min(3, len(quantized))]
	}
	return t
}

func cosine(l LayerReport) float64 {
	if l.Cosine == nil {
		return 1
	}
	return *l.Cosine
}
