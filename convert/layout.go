package convert

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/arrowquant/arrowquant/batch"
	"github.com/arrowquant/arrowquant/quant"
	"github.com/arrowquant/arrowquant/safetensors"
)

// The suffixes of the three tensors that hold a quantized tensor NAME.
const (
	SuffixCodes      = ".qweight"
	SuffixScales     = ".scales"
	SuffixZeroPoints = ".zero_points"
)

// MetadataKey is the __metadata__ key holding the arrowquant description.
const MetadataKey = "arrowquant"

// FormatVersion is the version of the quantized safetensors layout.
const FormatVersion = 1

// Description is the JSON stored under __metadata__["arrowquant"].
type Description struct {
	FormatVersion int                   `json:"format_version"`
	Tensors       map[string]TensorInfo `json:"tensors"`
}

// TensorInfo describes one quantized tensor of a file.
type TensorInfo struct {
	Bits      int     `json:"bits"`
	GroupSize int     `json:"group_size"`
	Shape     []int64 `json:"shape"`
	DType     string  `json:"dtype"` // the source dtype: F32, F16 or BF16
}

// layout is the geometry of a quantized tensor in the file.
type layout struct {
	rows, rowBytes, groups int64
}

func newLayout(shape []int64, bits, groupSize int) layout {
	rows := int64(1)
	for _, d := range shape[:len(shape)-1] {
		rows *= d
	}
	cols := shape[len(shape)-1]
	return layout{rows: rows, rowBytes: (cols*int64(bits) + 7) / 8, groups: (cols + int64(groupSize) - 1) / int64(groupSize)}
}

// plannedTensors lists the three stored tensors of a quantized tensor with
// their largest sizes (scales in float32).
func plannedTensors(name string, shape []int64, bits, groupSize int) []safetensors.PlannedTensor {
	l := newLayout(shape, bits, groupSize)
	return []safetensors.PlannedTensor{
		{Name: name + SuffixCodes, MaxBytes: l.rows * l.rowBytes},
		{Name: name + SuffixScales, MaxBytes: 4 * l.rows * l.groups},
		{Name: name + SuffixZeroPoints, MaxBytes: 4 * l.rows * l.groups},
	}
}

// storedTensors are the three tensors a result is written as. The scales
// and zero points are encoded into scratch, grown as needed and returned
// for the next call: the tensors are only valid until then.
func storedTensors(r *batch.Result, scratch []byte) ([]safetensors.Tensor, []byte) {
	shape := int64s(r.Shape)
	l := newLayout(shape, r.Bits, r.GroupSize)
	dt := safetensors.F16
	if r.Format == quant.Float32 {
		dt = safetensors.F32
	}
	scratch = appendEncoded(scratch[:0], r.Scales, dt)
	n := len(scratch)
	scratch = appendEncoded(scratch, r.ZeroPoints, dt)
	return []safetensors.Tensor{
		{Name: r.Name + SuffixCodes, DType: safetensors.U8, Shape: []int64{l.rows, l.rowBytes}, Data: r.Codes},
		{Name: r.Name + SuffixScales, DType: dt, Shape: []int64{l.rows, l.groups}, Data: scratch[:n:n]},
		{Name: r.Name + SuffixZeroPoints, DType: dt, Shape: []int64{l.rows, l.groups}, Data: scratch[n:]},
	}, scratch
}

func int64s(s []int) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}

func ints(s []int64) []int {
	out := make([]int, len(s))
	for i, d := range s {
		out[i] = int(d)
	}
	return out
}

// describe returns the metadata of a file holding the given quantized
// tensors, on top of the source metadata.
func describe(source map[string]string, infos map[string]TensorInfo) (map[string]string, error) {
	meta := make(map[string]string, len(source)+1)
	for k, v := range source {
		meta[k] = v
	}
	b, err := json.Marshal(Description{FormatVersion: FormatVersion, Tensors: infos})
	if err != nil {
		return nil, err
	}
	meta[MetadataKey] = string(b)
	return meta, nil
}

// Entry is one tensor of a quantized model as a user sees it: either a
// quantized tensor (Quant set) or a tensor stored as it was (Plain set).
type Entry struct {
	Name        string
	File        string
	SourceDType safetensors.DType // for quantized tensors, the dtype before quantization
	Quant       *quant.Tensor
	Plain       *safetensors.Tensor
	StoredBytes int64 // bytes the tensor takes in the file
}

// Elements is the number of elements of the tensor.
func (e *Entry) Elements() int64 {
	if e.Quant != nil {
		return int64(e.Quant.Layout().Elements())
	}
	return e.Plain.NumElements()
}

// FormatError reports a quantized file that does not follow the layout.
type FormatError struct {
	File, Tensor, Msg string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%s: tensor %q: %s", e.File, e.Tensor, e.Msg)
}

// Read interprets an opened model: tensors described in the arrowquant
// metadata of their file become quantized entries (their three stored
// tensors checked against the description), all others plain entries. The
// entries are sorted by name and view the model's memory.
func Read(m *safetensors.Model) ([]Entry, error) {
	var entries []Entry
	for _, f := range m.Shards {
		desc, err := description(f)
		if err != nil {
			return nil, err
		}
		parts := map[string]bool{}
		names := slices.Sorted(maps.Keys(desc.Tensors))
		for _, name := range names {
			e, err := quantEntry(f, name, desc.Tensors[name])
			if err != nil {
				return nil, err
			}
			entries = append(entries, e)
			parts[name+SuffixCodes], parts[name+SuffixScales], parts[name+SuffixZeroPoints] = true, true, true
		}
		for i := range f.Tensors {
			t := &f.Tensors[i]
			if !parts[t.Name] {
				entries = append(entries, Entry{Name: t.Name, File: f.Path, SourceDType: t.DType, Plain: t, StoredBytes: int64(len(t.Data))})
			}
		}
	}
	slices.SortFunc(entries, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(entries); i++ {
		if entries[i].Name == entries[i-1].Name {
			return nil, &FormatError{File: entries[i].File, Tensor: entries[i].Name, Msg: "present both quantized and plain"}
		}
	}
	return entries, nil
}

func description(f *safetensors.File) (Description, error) {
	var d Description
	raw, ok := f.Metadata[MetadataKey]
	if !ok {
		return d, nil
	}
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		return d, &FormatError{File: f.Path, Tensor: "__metadata__", Msg: fmt.Sprintf("invalid %q description: %v", MetadataKey, err)}
	}
	if d.FormatVersion != FormatVersion {
		return d, &FormatError{File: f.Path, Tensor: "__metadata__", Msg: fmt.Sprintf("arrowquant format_version %d, this build reads %d", d.FormatVersion, FormatVersion)}
	}
	return d, nil
}

func quantEntry(f *safetensors.File, name string, info TensorInfo) (Entry, error) {
	bad := func(format string, args ...any) (Entry, error) {
		return Entry{}, &FormatError{File: f.Path, Tensor: name, Msg: fmt.Sprintf(format, args...)}
	}
	if info.Bits != 2 && info.Bits != 4 && info.Bits != 8 {
		return bad("bit width %d: must be 2, 4 or 8", info.Bits)
	}
	if info.GroupSize < 1 || len(info.Shape) == 0 || slices.Min(info.Shape) < 1 {
		return bad("invalid group size %d or shape %v", info.GroupSize, info.Shape)
	}
	if _, ok := sourceDType(safetensors.DType(info.DType)); !ok {
		return bad("source dtype %q is not F32, F16 or BF16", info.DType)
	}
	if _, err := quant.NewLayout(ints(info.Shape), quant.Params{Bits: info.Bits, GroupSize: info.GroupSize}); err != nil {
		return bad("%v", err)
	}
	l := newLayout(info.Shape, info.Bits, info.GroupSize)
	get := func(suffix string, want []int64, dtypes ...safetensors.DType) (*safetensors.Tensor, error) {
		t, ok := f.Tensor(name + suffix)
		if !ok {
			return nil, &FormatError{File: f.Path, Tensor: name + suffix, Msg: "missing (the description lists " + name + ")"}
		}
		if !slices.Contains(dtypes, t.DType) || !slices.Equal(t.Shape, want) {
			return nil, &FormatError{File: f.Path, Tensor: t.Name, Msg: fmt.Sprintf("dtype %s shape %v, want %v shape %v", t.DType, t.Shape, dtypes, want)}
		}
		return t, nil
	}
	codes, err := get(SuffixCodes, []int64{l.rows, l.rowBytes}, safetensors.U8)
	if err != nil {
		return Entry{}, err
	}
	scales, err := get(SuffixScales, []int64{l.rows, l.groups}, safetensors.F16, safetensors.F32)
	if err != nil {
		return Entry{}, err
	}
	zeros, err := get(SuffixZeroPoints, []int64{l.rows, l.groups}, scales.DType)
	if err != nil {
		return Entry{}, err
	}
	q := &quant.Tensor{Shape: ints(info.Shape), Bits: info.Bits, GroupSize: info.GroupSize, Codes: codes.Data,
		Scales: decodeParams(scales), ZeroPoints: decodeParams(zeros)}
	if scales.DType == safetensors.F32 {
		q.Format = quant.Float32
	}
	for i := range q.Scales {
		if s, z := float64(q.Scales[i]), float64(q.ZeroPoints[i]); !(s > 0) || math.IsInf(s, 0) || math.IsNaN(z) || math.IsInf(z, 0) {
			return bad("group %d has scale %v and zero point %v: scales must be positive and finite", i, s, z)
		}
	}
	if err := q.Check(); err != nil {
		return bad("%v", err)
	}
	stored := int64(len(codes.Data) + len(scales.Data) + len(zeros.Data))
	return Entry{Name: name, File: f.Path, SourceDType: safetensors.DType(info.DType), Quant: q, StoredBytes: stored}, nil
}

func decodeParams(t *safetensors.Tensor) []float32 {
	out := make([]float32, len(t.Data)/t.DType.Size())
	if t.DType == safetensors.F16 {
		quant.DecodeFloat16(out, t.Data)
	} else {
		quant.DecodeFloat32(out, t.Data)
	}
	return out
}
