package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arrowquant/arrowquant/internal/testfs"
)

const realDir = "../../../shared/testdata/real"
const blazeface = "../../testdata/blazeface.f32.safetensors"

// aq runs the command line and returns its exit status and output.
func aq(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestQuantizeTheShippedModel(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "bf.int4.safetensors")
	report := filepath.Join(dir, "report.json")
	code, stdout, stderr := aq(t, "quantize", blazeface, "-o", out, "--report", report)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"20 quantized, 92 kept", "dtype I32", "rank 1", "bits/weight", "cosine      mean", "params/s"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	var rep struct {
		Layers []struct {
			Name, Action, Reason string
			Cosine               *float64
		}
	}
	b, err := os.ReadFile(report)
	if err != nil || json.Unmarshal(b, &rep) != nil || len(rep.Layers) != 112 {
		t.Fatalf("report: %v, %d layers", err, len(rep.Layers))
	}
	for _, l := range rep.Layers {
		if (l.Action == "quantized") != (l.Cosine != nil) || (l.Action == "kept" && l.Reason == "") {
			t.Fatalf("report layer %+v", l)
		}
	}
	code, stdout, _ = aq(t, "inspect", out)
	if code != 0 || !strings.Contains(stdout, "4-bit, groups of 128, f16 scales") || !strings.Contains(stdout, "112 tensors") {
		t.Fatalf("inspect exit %d:\n%s", code, stdout)
	}
	back := filepath.Join(dir, "back.safetensors")
	if code, _, stderr := aq(t, "dequantize", out, "-o", back, "--dtype", "f16"); code != 0 {
		t.Fatalf("dequantize exit %d: %s", code, stderr)
	}
	code, stdout, _ = aq(t, "inspect", back)
	if code != 0 || strings.Contains(stdout, "4-bit") || !strings.Contains(stdout, "F16") {
		t.Fatalf("the dequantized model is not plain F16:\n%s", stdout)
	}
}

func TestQuietPrintsNothingAndDryRunWritesNothing(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := aq(t, "quantize", blazeface, "-o", filepath.Join(dir, "q.safetensors"), "--quiet")
	if code != 0 || stdout != "" || stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, _ = aq(t, "quantize", blazeface, "-o", filepath.Join(dir, "dry.safetensors"), "--dry-run", "--keep", "unknown_1.*")
	if code != 0 || !strings.Contains(stdout, "matches --keep unknown_1.*") || !strings.Contains(stdout, "about") {
		t.Fatalf("dry run exit %d:\n%s", code, stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, "dry.safetensors")); err == nil {
		t.Fatal("--dry-run wrote the output")
	}
}

func TestWorkersDoNotChangeTheOutputBytes(t *testing.T) {
	if _, err := os.Stat(realDir); err != nil {
		t.Skip("real models not available")
	}
	dir := t.TempDir()
	var files [2][]byte
	for i, w := range []string{"1", "2"} {
		out := filepath.Join(dir, w+".safetensors")
		if code, _, stderr := aq(t, "quantize", filepath.Join(realDir, "faceres-deep.f32.safetensors"), "-o", out, "--workers", w, "-q"); code != 0 {
			t.Fatal(stderr)
		}
		files[i], _ = os.ReadFile(out)
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Fatal("--workers 1 and --workers 2 wrote different files")
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bit width 3", []string{"quantize", blazeface, "-o", "x", "--bits", "3"}, "invalid bit width 3: must be 2, 4 or 8"},
		{"group size 0", []string{"quantize", blazeface, "-o", "x", "--group-size", "0"}, "--group-size 0"},
		{"missing output", []string{"quantize", blazeface}, "-o OUTPUT"},
		{"missing input", []string{"quantize"}, "takes 1 argument"},
		{"unknown flag", []string{"quantize", blazeface, "--frobnicate"}, "unknown flag"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"bad --keep", []string{"quantize", blazeface, "-o", "x", "--keep", "("}, "invalid --keep"},
		{"bad --scales", []string{"quantize", blazeface, "-o", "x", "--scales", "f8"}, "invalid --scales"},
		{"bad --dtype", []string{"dequantize", blazeface, "-o", "x", "--dtype", "f64"}, "invalid --dtype"},
		{"negative workers", []string{"quantize", blazeface, "-o", "x", "--workers", "-1"}, "--workers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := aq(t, tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q, want 2 and %q", code, stderr, tt.want)
			}
		})
	}
}

// rawModel builds safetensors bytes from a header and data.
func rawModel(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func f32Bytes(n int, nanAt int) []byte {
	b := make([]byte, 4*n)
	for i := 0; i < n; i++ {
		v := float32(math.Cos(float64(i)))
		if i == nanAt {
			v = float32(math.NaN())
		}
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func TestBadInputsFailNamingTheFileAndLeaveNothing(t *testing.T) {
	good := rawModel(`{"w":{"dtype":"F32","shape":[32,64],"data_offsets":[0,8192]}}`, f32Bytes(2048, -1))
	tests := []struct {
		name  string
		bytes []byte
		want  []string
	}{
		{"a truncated file", good[:500], []string{"past the end"}},
		{"a corrupt header", rawModel(`{"w":{"dtype":"F32",`, nil), []string{"JSON"}},
		{"overlapping offsets", rawModel(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, make([]byte, 12)), []string{"overlap"}},
		{"a wrong byte length", rawModel(`{"w":{"dtype":"F32","shape":[32,64],"data_offsets":[0,8188]}}`, f32Bytes(2047, -1)), []string{`"w"`}},
		{"NaN weights", rawModel(`{"w":{"dtype":"F32","shape":[32,64],"data_offsets":[0,8192]}}`, f32Bytes(2048, 999)), []string{`layer "w"`, "NaN", "index 999"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "in.safetensors")
			if err := os.WriteFile(in, tt.bytes, 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := aq(t, "quantize", in, "-o", filepath.Join(dir, "out.safetensors"), "-q")
			if code != 1 || !strings.Contains(stderr, in) {
				t.Fatalf("exit %d, stderr %q: want 1 and the file named", code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Fatalf("stderr %q lacks %q", stderr, w)
				}
			}
			if entries := testfs.Names(t, dir); len(entries) != 1 {
				t.Fatalf("left behind: %v", entries)
			}
		})
	}
}

func TestAMissingShardFailsAndLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	os.Mkdir(model, 0o755)
	os.WriteFile(filepath.Join(model, "model-1.safetensors"), rawModel(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)), 0o644)
	os.WriteFile(filepath.Join(model, "model.safetensors.index.json"), []byte(`{"weight_map":{"a":"model-1.safetensors","b":"model-2.safetensors"}}`), 0o644)
	code, _, stderr := aq(t, "quantize", model, "-o", filepath.Join(dir, "out"), "-q")
	if code != 1 || !strings.Contains(stderr, "model-2.safetensors") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if entries := testfs.Names(t, dir); len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
}

func TestContinueOnErrorWritesTheModelAndWarns(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.safetensors")
	os.WriteFile(in, rawModel(`{"w":{"dtype":"F32","shape":[32,64],"data_offsets":[0,8192]}}`, f32Bytes(2048, 3)), 0o644)
	out := filepath.Join(dir, "out.safetensors")
	code, stdout, stderr := aq(t, "quantize", in, "-o", out, "--continue-on-error")
	if code != 0 || !strings.Contains(stderr, `layer "w"`) || !strings.Contains(stdout, "1 failed and kept as they were") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
}
