package safetensors

import (
	"cmp"
	"io"
	"slices"
)

// Encode writes a complete safetensors file holding tensors and metadata
// (nil for none) to w. Only each tensor's Name, DType, Shape and Data are
// used. The data section holds the tensors in name order; the output is the
// same bytes WriteFile writes.
func Encode(w io.Writer, metadata map[string]string, tensors []Tensor) error {
	return encode(w, "", metadata, tensors)
}

func encode(w io.Writer, path string, metadata map[string]string, tensors []Tensor) error {
	sorted, slots, err := plan(path, metadata, tensors)
	if err != nil {
		return err
	}
	headerLen, _, err := reserve(metadata, slots)
	if err != nil {
		return err
	}
	entries := make([]entry, len(slots))
	var offset int64
	for i, s := range slots {
		entries[i] = s.e
		entries[i].Begin = offset
		offset += int64(len(sorted[i].Data))
		entries[i].End = offset
	}
	head, err := headerBytes(metadata, entries, headerLen)
	if err != nil {
		return err
	}
	if _, err := w.Write(head); err != nil {
		return err
	}
	for _, t := range sorted {
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
}

// WriteFile writes tensors and metadata (nil for none) to the file path,
// atomically, through a Writer: see Encode for the layout.
func WriteFile(path string, metadata map[string]string, tensors []Tensor) error {
	sorted, slots, err := plan(path, metadata, tensors)
	if err != nil {
		return err
	}
	names := make([]string, len(slots))
	for i, s := range slots {
		names[i] = s.name
	}
	w, err := newWriter(path, metadata, names, slots, nil)
	if err != nil {
		return err
	}
	defer w.Abort()
	for _, t := range sorted {
		if err := w.WriteTensor(t.Name, t.DType, t.Shape, t.Data); err != nil {
			return err
		}
	}
	return w.Commit()
}

// plan checks tensors and returns them sorted by name, with slots that
// already know their dtype and shape, so that the header reserved for them
// is as short as it can be.
func plan(path string, metadata map[string]string, tensors []Tensor) ([]Tensor, []slot, error) {
	sorted := slices.Clone(tensors)
	slices.SortFunc(sorted, func(a, b Tensor) int { return cmp.Compare(a.Name, b.Name) })
	names := make([]string, len(sorted))
	for i, t := range sorted {
		names[i] = t.Name
	}
	if err := checkNames(path, metadata, names); err != nil {
		return nil, nil, err
	}
	slots := make([]slot, len(sorted))
	for i, t := range sorted {
		e := entry{Name: t.Name, DType: t.DType, Shape: t.Shape}
		if err := checkTensor(path, e, t.Data); err != nil {
			return nil, nil, err
		}
		slots[i] = slot{name: t.Name, maxBytes: int64(len(t.Data)), known: true, e: e}
	}
	return sorted, slots, nil
}
