package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/arrowquant/arrowquant/arrowio"
	"github.com/arrowquant/arrowquant/batch"
	"github.com/arrowquant/arrowquant/convert"
	"github.com/arrowquant/arrowquant/safetensors"
)

func TestResultTablesHoldTheSameLayersAsSafetensors(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "q.safetensors")
	if code, _, stderr := aq(t, "quantize", blazeface, "-o", st, "-q"); code != 0 {
		t.Fatal(stderr)
	}
	m, err := safetensors.OpenModel(st)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	want, err := convert.Read(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{".parquet", ".arrow"} {
		out := filepath.Join(dir, "q"+ext)
		code, _, stderr := aq(t, "quantize", blazeface, "-o", out)
		if code != 0 || !strings.Contains(stderr, "92 kept tensors are not in") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		got, err := convert.ReadTable(out)
		if err != nil {
			t.Fatal(err)
		}
		i := 0
		for _, w := range want {
			if w.Quant == nil {
				continue
			}
			g := got[i]
			i++
			if g.Name != w.Name || !bytes.Equal(g.Quant.Codes, w.Quant.Codes) || !slices.Equal(g.Quant.Scales, w.Quant.Scales) || !slices.Equal(g.Quant.ZeroPoints, w.Quant.ZeroPoints) {
				t.Fatalf("%s: layer %s differs from the safetensors output", ext, w.Name)
			}
		}
		if i != len(got) {
			t.Fatalf("%s: %d layers, want %d", ext, len(got), i)
		}
		code, stdout, _ := aq(t, "inspect", out)
		if code != 0 || !strings.Contains(stdout, "20 tensors") {
			t.Fatalf("inspect %s exit %d:\n%s", ext, code, stdout)
		}
		back := filepath.Join(dir, "back"+ext+".safetensors")
		if code, _, stderr := aq(t, "dequantize", out, "-o", back); code != 0 {
			t.Fatal(stderr)
		}
	}
}

// writeInputTable writes an Arrow IPC file with the input columns
// layer_name, weights and shape, one row per layer.
func writeInputTable(t *testing.T, path string, names []string, weights [][]float32, shapes [][]int64) {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "layer_name", Type: arrow.BinaryTypes.String},
		{Name: "weights", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)},
		{Name: "shape", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64)},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range names {
		b.Field(0).(*array.StringBuilder).Append(names[i])
		lw := b.Field(1).(*array.ListBuilder)
		lw.Append(true)
		lw.ValueBuilder().(*array.Float32Builder).AppendValues(weights[i], nil)
		ls := b.Field(2).(*array.ListBuilder)
		ls.Append(true)
		ls.ValueBuilder().(*array.Int64Builder).AppendValues(shapes[i], nil)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestAnInputTableIsQuantizedLikeTheLibraryDoes(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "weights.arrow")
	w0, w1 := make([]float32, 64*300), make([]float32, 1000)
	for i := range w0 {
		w0[i] = float32(math.Sin(float64(i) * 0.37))
	}
	for i := range w1 {
		w1[i] = float32(math.Cos(float64(i)))
	}
	writeInputTable(t, in, []string{"layer.1", "layer.0"}, [][]float32{w0, w1}, [][]int64{{64, 300}, {1000}})
	out := filepath.Join(dir, "q.parquet")
	if code, _, stderr := aq(t, "quantize", in, "-o", out, "--bits", "2", "-q"); code != 0 {
		t.Fatal(stderr)
	}
	got, err := arrowio.ReadResults(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := batch.Quantize(context.Background(), []batch.Layer{
		batch.Float32Layer("layer.1", []int{64, 300}, w0), batch.Float32Layer("layer.0", []int{1000}, w1)}, batch.Options{Bits: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d layers", len(got))
	}
	for i := range want {
		if got[i].Name != want[i].Name || !bytes.Equal(got[i].Codes, want[i].Codes) || !slices.Equal(got[i].Scales, want[i].Scales) {
			t.Fatalf("layer %s differs from batch.Quantize", want[i].Name)
		}
	}
	if code, _, stderr := aq(t, "quantize", in, "-o", filepath.Join(dir, "q.safetensors")); code != 2 || !strings.Contains(stderr, "is a table") {
		t.Fatalf("a table to safetensors: exit %d, %s", code, stderr)
	}
	bad := filepath.Join(dir, "bad.arrow")
	w1[17] = float32(math.NaN())
	writeInputTable(t, bad, []string{"layer.0"}, [][]float32{w1}, [][]int64{{1000}})
	code, _, stderr := aq(t, "quantize", bad, "-o", filepath.Join(dir, "bad.parquet"))
	if code != 1 || !strings.Contains(stderr, bad) || !strings.Contains(stderr, `"layer.0"`) || !strings.Contains(stderr, "17") {
		t.Fatalf("NaN in a table: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.parquet")); err == nil {
		t.Fatal("a failed quantization left its output")
	}
}
