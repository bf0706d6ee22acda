package convert

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"

	"github.com/arrowquant/arrowquant/quant"
	"github.com/arrowquant/arrowquant/safetensors"
)

// Dequantize writes a plain safetensors model at dest from the quantized
// model m: every quantized tensor decoded with quant.Dequantize and stored as
// dtype (or, if dtype is empty, as its source dtype), every other tensor
// copied. The arrowquant description is dropped from the metadata. Memory
// holds one decoded tensor at a time.
func Dequantize(m *safetensors.Model, dest string, dtype safetensors.DType) error {
	if dtype != "" {
		if err := checkDType(dtype); err != nil {
			return err
		}
	}
	entries, err := Read(m)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(entries, func(e Entry) bool { return e.Quant != nil }) {
		return fmt.Errorf("%s: no tensor was quantized by arrowquant: nothing to dequantize", m.Path)
	}
	plans := map[string][]safetensors.PlannedTensor{}
	for _, e := range entries {
		shard := filepath.Base(e.File)
		size := int64(len(entryData(&e)))
		if e.Quant != nil {
			size = e.Elements() * int64(outDType(e, dtype).Size())
		}
		plans[shard] = append(plans[shard], safetensors.PlannedTensor{Name: e.Name, MaxBytes: size})
	}
	plainMeta := func(f *safetensors.File) (map[string]string, error) {
		if len(f.Metadata) == 0 {
			return nil, nil
		}
		md := maps.Clone(f.Metadata)
		delete(md, MetadataKey)
		return md, nil
	}
	out, err := openOutput(dest, m, plans, plainMeta)
	if err != nil {
		return err
	}
	defer out.abort()
	var buf []float32
	var encoded []byte
	for _, e := range entries {
		w := out.writers[filepath.Base(e.File)]
		if e.Quant == nil {
			if err := w.WriteTensor(e.Name, e.Plain.DType, e.Plain.Shape, e.Plain.Data); err != nil {
				return err
			}
			continue
		}
		n := int(e.Elements())
		if cap(buf) < n {
			buf = make([]float32, n)
		}
		quant.DequantizeInto(buf[:n], e.Quant)
		dt := outDType(e, dtype)
		encoded = appendEncoded(encoded[:0], buf[:n], dt)
		if err := w.WriteTensor(e.Name, dt, int64s(e.Quant.Shape), encoded); err != nil {
			return err
		}
	}
	return out.commit(plainMeta)
}

func checkDType(dtype safetensors.DType) error {
	switch dtype {
	case safetensors.F32, safetensors.F16, safetensors.BF16:
		return nil
	}
	return fmt.Errorf("cannot dequantize to %s: choose F32, F16 or BF16", dtype)
}

func entryData(e *Entry) []byte {
	if e.Plain != nil {
		return e.Plain.Data
	}
	return nil
}

func outDType(e Entry, dtype safetensors.DType) safetensors.DType {
	if dtype != "" {
		return dtype
	}
	return e.SourceDType
}

// appendEncoded appends x stored in dtype (F32, F16 or BF16, rounding to
// nearest even) to dst, so that a caller can reuse one buffer: fresh memory
// costs page faults, which is most of what encoding costs.
func appendEncoded(dst []byte, x []float32, dtype safetensors.DType) []byte {
	n := len(dst)
	dst = slices.Grow(dst, dtype.Size()*len(x))[:n+dtype.Size()*len(x)]
	b := dst[n:]
	switch dtype {
	case safetensors.F16:
		quant.EncodeFloat16(b, x)
	case safetensors.BF16:
		for i, v := range x {
			binary.LittleEndian.PutUint16(b[2*i:], quant.Float32ToBFloat16(v))
		}
	default:
		for i, v := range x {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
	}
	return dst
}
