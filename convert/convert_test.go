package convert

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/arrowquant/arrowquant/batch"
	"github.com/arrowquant/arrowquant/quant"
	"github.com/arrowquant/arrowquant/safetensors"

	"github.com/arrowquant/arrowquant/internal/testfs"
)

const realDir = "../../shared/testdata/real"

// realModels lists the shared real models, skipping when they are absent.
func realModels(t *testing.T) []string {
	t.Helper()
	if _, err := os.Stat(realDir); err != nil {
		t.Skipf("real models not available: %v", err)
	}
	return []string{
		"blazeface.f32.safetensors", "iris.f32.safetensors", "mobilefacenet.f32.safetensors", "faceres-deep.f32.safetensors",
		"mobilefacenet.bf16.safetensors", "faceres-deep.f16.safetensors", "posenet-sharded",
	}
}

// quantizedModel writes the test model into a fresh folder and quantizes it
// with the default options to q.safetensors there; it returns the folder
// and the quantized file.
func quantizedModel(t testing.TB) (dir, q string) {
	t.Helper()
	dir = t.TempDir()
	q = filepath.Join(dir, "q.safetensors")
	if _, err := quantizeTo(t, writeModel(t, dir, -1), q, Options{}); err != nil {
		t.Fatal(err)
	}
	return dir, q
}

// openModel opens the model at path for the rest of the test.
func openModel(t testing.TB, path string) *safetensors.Model {
	t.Helper()
	m, err := safetensors.OpenModel(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func quantizeTo(t testing.TB, in, out string, opts Options) (*Report, error) {
	t.Helper()
	m := openModel(t, in)
	plan, err := NewPlan(m, opts)
	if err != nil {
		return nil, err
	}
	sink, err := NewSafetensorsSink(out, plan, opts.Batch.ContinueOnError)
	if err != nil {
		return nil, err
	}
	return Quantize(context.Background(), plan, sink, opts)
}

func decodeSource(t *safetensors.Tensor) []float32 {
	x := make([]float32, t.NumElements())
	switch t.DType {
	case safetensors.F16:
		quant.DecodeFloat16(x, t.Data)
	case safetensors.BF16:
		quant.DecodeBFloat16(x, t.Data)
	default:
		quant.DecodeFloat32(x, t.Data)
	}
	return x
}

// checkRoundTrip opens the quantized output and checks it against the
// source: kept tensors byte-identical, quantized ones within half a step.
func checkRoundTrip(t *testing.T, in, out string) (quantized int) {
	t.Helper()
	src := openModel(t, in)
	entries := readQuantized(t, out)
	if len(entries) != len(src.Tensors) {
		t.Fatalf("%d tensors out, %d in", len(entries), len(src.Tensors))
	}
	for i, e := range entries {
		s := &src.Tensors[i]
		if e.Name != s.Name {
			t.Fatalf("tensor %d: %q vs %q", i, e.Name, s.Name)
		}
		if e.Quant == nil {
			if e.Plain.DType != s.DType || !bytes.Equal(e.Plain.Data, s.Data) {
				t.Fatalf("kept tensor %s changed", e.Name)
			}
			continue
		}
		quantized++
		if e.SourceDType != s.DType {
			t.Fatalf("%s: source dtype %s recorded as %s", e.Name, s.DType, e.SourceDType)
		}
		x := decodeSource(s)
		got, err := quant.Dequantize(e.Quant)
		if err != nil {
			t.Fatal(err)
		}
		l := e.Quant.Layout()
		for j, v := range x {
			g := (j/l.Cols)*l.GroupsPerRow() + (j%l.Cols)/l.GroupSize
			sc := float64(e.Quant.Scales[g])
			tol := sc/2*(1+1e-6) + math.Abs(float64(v))*0x1p-22 + math.Abs(float64(e.Quant.ZeroPoints[g])*sc)*0x1p-22
			if d := math.Abs(float64(v) - float64(got[j])); d > tol {
				t.Fatalf("%s element %d: %v decodes to %v (error %g > %g)", e.Name, j, v, got[j], d, tol)
			}
		}
	}
	return quantized
}

func TestRealModelsRoundTripWithinTheBound(t *testing.T) {
	for _, name := range realModels(t) {
		for _, bits := range []int{2, 4, 8} {
			in := filepath.Join(realDir, name)
			out := filepath.Join(t.TempDir(), "out")
			if !strings.HasSuffix(name, "sharded") {
				out += ".safetensors"
			}
			rep, err := quantizeTo(t, in, out, Options{Batch: batch.Options{Bits: bits}, Policy: Policy{MinElements: DefaultMinElements}})
			if err != nil {
				t.Fatalf("%s at %d bits: %v", name, bits, err)
			}
			if n := checkRoundTrip(t, in, out); n == 0 || n != rep.Totals().Quantized {
				t.Fatalf("%s: %d tensors quantized, report says %d", name, n, rep.Totals().Quantized)
			}
			if tot := rep.Totals(); bits == 8 && tot.WorstCosine < 0.999 || bits == 4 && tot.MeanCosine < 0.99 {
				t.Fatalf("%s at %d bits: cosine mean %v worst %v", name, bits, tot.MeanCosine, tot.WorstCosine)
			}
		}
	}
}

func TestOutputBytesDoNotDependOnWorkers(t *testing.T) {
	for _, name := range []string{"faceres-deep.f16.safetensors", "posenet-sharded"} {
		realModels(t)
		in := filepath.Join(realDir, name)
		var outs [2][]byte
		for i, workers := range []int{1, 2} {
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			if _, err := quantizeTo(t, in, out, Options{Batch: batch.Options{Workers: workers, ChunkElements: 4096}, Policy: Policy{MinElements: 1}}); err != nil {
				t.Fatal(err)
			}
			outs[i] = readAll(t, out)
		}
		if !bytes.Equal(outs[0], outs[1]) {
			t.Fatalf("%s: output differs between 1 and 2 workers", name)
		}
	}
}

// readAll concatenates a file or the sorted files of a folder.
func readAll(t *testing.T, path string) []byte {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !st.IsDir() {
		b, _ := os.ReadFile(path)
		return b
	}
	entries, _ := os.ReadDir(path)
	var all []byte
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(path, e.Name()))
		all = append(append(all, e.Name()...), b...)
	}
	return all
}

func TestShardedInputGivesShardedOutputWithIndex(t *testing.T) {
	realModels(t)
	out := filepath.Join(t.TempDir(), "q")
	if _, err := quantizeTo(t, filepath.Join(realDir, "posenet-sharded"), out, Options{}); err != nil {
		t.Fatal(err)
	}
	idx, err := safetensors.ReadIndex(filepath.Join(out, "model.safetensors.index.json"))
	if err != nil {
		t.Fatal(err)
	}
	shards := map[string]bool{}
	for _, s := range idx.WeightMap {
		shards[s] = true
	}
	if len(shards) != 3 {
		t.Fatalf("weight map names %d shards, want 3", len(shards))
	}
	var qweights int
	for name := range idx.WeightMap {
		if strings.HasSuffix(name, SuffixCodes) {
			qweights++
		}
	}
	if qweights == 0 {
		t.Fatal("no quantized tensor in the index")
	}
}

func TestPolicyKeepsWhatItShouldAndSaysWhy(t *testing.T) {
	f32 := func(name string, shape ...int64) *safetensors.Tensor {
		n := int64(4)
		for _, d := range shape {
			n *= d
		}
		return &safetensors.Tensor{Name: name, DType: safetensors.F32, Shape: shape, Data: make([]byte, n)}
	}
	p := Policy{MinElements: 1024, Keep: []*regexp.Regexp{regexp.MustCompile(`embed`)}}
	tests := []struct {
		name   string
		t      *safetensors.Tensor
		want   bool
		reason string
	}{
		{"a large matrix is quantized", f32("w", 64, 64), true, ""},
		{"a bias is kept", f32("b", 4096), false, "rank 1"},
		{"a scalar is kept", f32("s"), false, "scalar"},
		{"a small matrix is kept", f32("small", 8, 8), false, "--min-elements"},
		{"a --keep match is kept", f32("embed.weight", 64, 64), false, "--keep embed"},
		{"an integer tensor is kept", &safetensors.Tensor{Name: "i", DType: safetensors.I32, Shape: []int64{64, 64}, Data: make([]byte, 4*4096)}, false, "I32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := p.Decide(tt.t)
			if got != tt.want || !strings.Contains(why, tt.reason) {
				t.Fatalf("got %v %q", got, why)
			}
		})
	}
	if q, _ := (Policy{QuantizeAll: true, Keep: p.Keep}).Decide(f32("embed", 4)); !q {
		t.Fatal("--quantize-all did not quantize a vector")
	}
}

// writeModel writes a small model with one matrix whose element bad is NaN
// when bad ≥ 0.
func writeModel(t testing.TB, dir string, bad int) string {
	t.Helper()
	data := make([]byte, 4*64*64)
	for i := 0; i < 64*64; i++ {
		v := float32(math.Sin(float64(i)))
		if i == bad {
			v = float32(math.NaN())
		}
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
	}
	path := filepath.Join(dir, "in.safetensors")
	err := safetensors.WriteFile(path, map[string]string{"format": "pt"}, []safetensors.Tensor{
		{Name: "a.weight", DType: safetensors.F32, Shape: []int64{64, 64}, Data: data},
		{Name: "b.bias", DType: safetensors.F32, Shape: []int64{2}, Data: make([]byte, 8)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func TestNaNWeightsFailAndLeaveNothingBehind(t *testing.T) {
	dir := t.TempDir()
	in := writeModel(t, dir, 77)
	out := filepath.Join(dir, "out.safetensors")
	_, err := quantizeTo(t, in, out, Options{})
	var nf *quant.NonFiniteError
	if !errors.As(err, &nf) || nf.Index != 77 || !strings.Contains(err.Error(), in) || !strings.Contains(err.Error(), `"a.weight"`) {
		t.Fatalf("error %v does not name the file, the layer and the index", err)
	}
	if names := testfs.Names(t, dir); len(names) != 1 {
		t.Fatalf("files left behind: %v", names)
	}
}

func TestContinueOnErrorKeepsTheBadLayerAsItWas(t *testing.T) {
	dir := t.TempDir()
	in := writeModel(t, dir, 5)
	out := filepath.Join(dir, "out.safetensors")
	rep, err := quantizeTo(t, in, out, Options{Batch: batch.Options{ContinueOnError: true}})
	if !errors.Is(err, ErrSomeLayersFailed) || rep == nil || rep.Totals().Failed != 1 {
		t.Fatalf("err %v", err)
	}
	entries := readQuantized(t, out)
	if len(entries) != 2 || entries[0].Quant != nil || entries[0].Name != "a.weight" {
		t.Fatalf("entries %+v", entries)
	}
}

func TestDequantizeGivesAPlainModelBackInTheSourceDTypes(t *testing.T) {
	realModels(t)
	for _, name := range []string{"mobilefacenet.bf16.safetensors", "posenet-sharded"} {
		in := filepath.Join(realDir, name)
		dir := t.TempDir()
		q, plain := filepath.Join(dir, "q"), filepath.Join(dir, "plain")
		if _, err := quantizeTo(t, in, q, Options{Batch: batch.Options{Bits: 8}}); err != nil {
			t.Fatal(err)
		}
		if err := Dequantize(openModel(t, q), plain, ""); err != nil {
			t.Fatal(err)
		}
		src, back := openModel(t, in), openModel(t, plain)
		if len(back.Tensors) != len(src.Tensors) {
			t.Fatalf("%d tensors back, %d in", len(back.Tensors), len(src.Tensors))
		}
		for i := range src.Tensors {
			s, b := &src.Tensors[i], &back.Tensors[i]
			if s.Name != b.Name || s.DType != b.DType || len(s.Data) != len(b.Data) {
				t.Fatalf("%s: %s %v vs %s %v", s.Name, s.DType, s.Shape, b.DType, b.Shape)
			}
		}
		if _, ok := back.Metadata[MetadataKey]; ok {
			t.Fatal("the arrowquant description survived dequantization")
		}
	}
}

func TestAQuantizedModelIsNotQuantizedAgain(t *testing.T) {
	dir, q := quantizedModel(t)
	if _, err := quantizeTo(t, q, filepath.Join(dir, "qq.safetensors"), Options{}); err == nil || !strings.Contains(err.Error(), "already quantized") {
		t.Fatalf("err %v", err)
	}
}

func TestTheOutputNeverReplacesTheInput(t *testing.T) {
	dir := t.TempDir()
	in := writeModel(t, dir, -1)
	before, _ := os.ReadFile(in)
	if _, err := quantizeTo(t, in, in, Options{}); err == nil {
		t.Fatal("quantizing a file onto itself succeeded")
	}
	after, _ := os.ReadFile(in)
	if !bytes.Equal(before, after) || len(testfs.Names(t, dir)) != 1 {
		t.Fatal("the input was touched")
	}
}

func optionsBits(bits int) batch.Options { return batch.Options{Bits: bits} }

// readQuantized opens a quantized model for the rest of the test and reads
// its entries.
func readQuantized(t *testing.T, path string) []Entry {
	t.Helper()
	m := openModel(t, path)
	entries, err := Read(m)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func TestSourceMetadataIsKeptBesideTheDescription(t *testing.T) {
	_, out := quantizedModel(t)
	m := openModel(t, out)
	if m.Metadata["format"] != "pt" {
		t.Fatalf("source metadata lost: %v", m.Metadata)
	}
	desc := m.Metadata[MetadataKey]
	if !strings.Contains(desc, `"format_version":1`) || !strings.Contains(desc, `"a.weight":{"bits":4,"group_size":128,"shape":[64,64],"dtype":"F32"}`) {
		t.Fatalf("description %s", desc)
	}
	if strings.Contains(desc, "b.bias") {
		t.Fatal("a kept tensor is described as quantized")
	}
}

func TestDequantizingAPlainModelIsRefused(t *testing.T) {
	dir := t.TempDir()
	in := writeModel(t, dir, -1)
	m := openModel(t, in)
	out := filepath.Join(dir, "out.safetensors")
	if err := Dequantize(m, out, ""); err == nil || !strings.Contains(err.Error(), in) || !strings.Contains(err.Error(), "nothing to dequantize") {
		t.Fatalf("err %v", err)
	}
	if names := testfs.Names(t, dir); len(names) != 1 {
		t.Fatalf("left behind: %v", names)
	}
}
