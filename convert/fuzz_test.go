package convert

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/arrowquant/arrowquant/quant"
	"github.com/arrowquant/arrowquant/safetensors"

	"github.com/arrowquant/arrowquant/internal/testfs"
)

// FuzzRead feeds arbitrary bytes through the safetensors parser and then
// the quantized-layout reader: nothing may panic, and every quantized tensor
// Read accepts must decode.
func FuzzRead(f *testing.F) {
	dir := f.TempDir()
	in := writeModel(f, dir, -1)
	for i, bits := range []string{"2", "4", "8"} {
		out := filepath.Join(dir, bits+".safetensors")
		if _, err := quantizeTo(f, in, out, Options{Batch: optionsBits(2 << i)}); err != nil {
			f.Fatal(err)
		}
		b, _ := os.ReadFile(out)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := safetensors.Parse("fuzz.safetensors", b)
		if err != nil {
			return
		}
		m := &safetensors.Model{Path: file.Path, Tensors: file.Tensors, Metadata: file.Metadata, Shards: []*safetensors.File{file}}
		entries, err := Read(m)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Read returned %T %v, want a *FormatError", err, err)
			}
			return
		}
		for _, e := range entries {
			if e.Quant == nil {
				continue
			}
			if e.Quant.Layout().Elements() > 1<<20 {
				continue // valid but too large to decode on every iteration
			}
			if _, err := quant.Dequantize(e.Quant); err != nil {
				t.Fatalf("%s: Read accepted a tensor that does not decode: %v", e.Name, err)
			}
		}
	})
}

func TestACancelledConversionLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	in := writeModel(t, dir, -1)
	m := openModel(t, in)
	plan, err := NewPlan(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.safetensors")
	sink, err := NewSafetensorsSink(out, plan, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Quantize(ctx, plan, sink, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if names := testfs.Names(t, dir); len(names) != 1 {
		t.Fatalf("left behind: %v", names)
	}
}

func TestReadRefusesALayoutThatDisagreesWithItsDescription(t *testing.T) {
	_, q := quantizedModel(t)
	b, _ := os.ReadFile(q)
	// Claim 8 bits where 4 were written: the code tensor's shape is then wrong.
	bad := bytes.Replace(b, []byte(`\"bits\":4`), []byte(`\"bits\":8`), 1)
	if bytes.Equal(bad, b) {
		t.Fatal("test could not find the bit width in the header")
	}
	file, err := safetensors.Parse(q, bad)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Read(&safetensors.Model{Path: q, Tensors: file.Tensors, Shards: []*safetensors.File{file}})
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Tensor != "a.weight.qweight" {
		t.Fatalf("err %v", err)
	}
}
