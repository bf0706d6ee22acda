package safetensors

import (
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/arrowquant/arrowquant/internal/testfs"
)

// realFiles are the single-file real models and what they hold.
var realFiles = []struct {
	file    string
	tensors int
	dtypes  map[DType]int
}{
	{"faceres-deep.f32.safetensors", 128, map[DType]int{F32: 127, I32: 1}},
	{"faceres-deep.f16.safetensors", 128, map[DType]int{F16: 127, I32: 1}},
	{"mobilefacenet.f32.safetensors", 139, map[DType]int{F32: 138, I32: 1}},
	{"mobilefacenet.bf16.safetensors", 139, map[DType]int{BF16: 138, I32: 1}},
	{"iris.f32.safetensors", 191, nil},
	{"blazeface.f32.safetensors", 112, nil},
}

func needReal(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(realDir); errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s is absent", realDir)
	}
}

func TestRealModelsOpenAndRewriteIdentically(t *testing.T) {
	needReal(t)
	dir := t.TempDir()
	for _, tc := range realFiles {
		t.Run(tc.file+" opens and rewrites identically", func(t *testing.T) {
			path := filepath.Join(realDir, tc.file)
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if len(f.Tensors) != tc.tensors {
				t.Errorf("%d tensors, want %d", len(f.Tensors), tc.tensors)
			}
			dtypes := map[DType]int{}
			for _, tt := range f.Tensors {
				dtypes[tt.DType]++
				if int64(len(tt.Data)) != tt.NumElements()*int64(tt.DType.Size()) || tt.File != path {
					t.Errorf("tensor %q: %d bytes for %s%v in %s", tt.Name, len(tt.Data), tt.DType, tt.Shape, tt.File)
				}
			}
			if tc.dtypes != nil && !maps.Equal(dtypes, tc.dtypes) {
				t.Errorf("dtypes %v, want %v", dtypes, tc.dtypes)
			}
			if !strings.Contains(f.Metadata["source"], "human-models") {
				t.Errorf("metadata %v has no source", f.Metadata)
			}

			out := filepath.Join(dir, tc.file)
			if err := WriteFile(out, f.Metadata, f.Tensors); err != nil {
				t.Fatal(err)
			}
			g, err := Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			sameTensors(t, g.Tensors, f.Tensors)
			sameMetadata(t, g.Metadata, f.Metadata)
			st0, _ := os.Stat(path)
			st1, _ := os.Stat(out)
			if d := st1.Size() - st0.Size(); d < -int64(f.HeaderSize) || d > int64(f.HeaderSize) {
				t.Errorf("rewritten file is %d bytes, the original %d", st1.Size(), st0.Size())
			}
		})
	}
}

func TestRealShardedModel(t *testing.T) {
	needReal(t)
	dir := filepath.Join(realDir, "posenet-sharded")
	m, err := OpenModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if len(m.Tensors) != 62 || len(m.Shards) != 3 || m.Index == nil {
		t.Fatalf("%d tensors in %d shards, index %v; want 62 in 3", len(m.Tensors), len(m.Shards), m.Index)
	}
	var total int64
	for _, tt := range m.Tensors {
		total += int64(len(tt.Data))
		if want := m.Index.WeightMap[tt.Name]; filepath.Base(tt.File) != want {
			t.Errorf("tensor %q read from %s, the index says %s", tt.Name, tt.File, want)
		}
		if got, ok := m.Tensor(tt.Name); !ok || got.File != tt.File {
			t.Errorf("Tensor(%q) = %v, %v", tt.Name, got, ok)
		}
	}
	if got := m.Index.Metadata["total_size"]; got != json.Number("5032780") || total != 5032780 {
		t.Errorf("total_size %v, tensors hold %d bytes", got, total)
	}
	if _, ok := m.Tensor("no such tensor"); ok {
		t.Error("Tensor found a name that is not there")
	}
	if m.Metadata["format"] != "pt" {
		t.Errorf("metadata %v", m.Metadata)
	}

	// Rewriting every shard and the index gives a model that reopens
	// identically.
	out := t.TempDir()
	for _, f := range m.Shards {
		if err := WriteFile(filepath.Join(out, filepath.Base(f.Path)), f.Metadata, f.Tensors); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteIndex(out, m.Index.Metadata, m.Index.WeightMap); err != nil {
		t.Fatal(err)
	}
	m2, err := OpenModel(out)
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	sameTensors(t, m2.Tensors, m.Tensors)
	sameMetadata(t, m2.Metadata, m.Metadata)
	if !maps.Equal(m2.Index.WeightMap, m.Index.WeightMap) || m2.Index.Metadata["total_size"] != json.Number("5032780") {
		t.Errorf("index %+v", m2.Index)
	}
}

func TestOpenModelOfOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := WriteFile(path, sampleMetadata(), sampleTensors()); err != nil {
		t.Fatal(err)
	}
	m, err := OpenModel(path)
	if err != nil {
		t.Fatal(err)
	}
	sameTensors(t, m.Tensors, sampleTensors())
	sameMetadata(t, m.Metadata, sampleMetadata())
	if m.Index != nil || len(m.Shards) != 1 {
		t.Errorf("index %v, %d shards", m.Index, len(m.Shards))
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if m.Tensors[0].Data != nil {
		t.Error("Close left a view into the unmapped file")
	}
}

// shard is a small file for model folders.
func shard(names ...string) []Tensor {
	var ts []Tensor
	for _, n := range names {
		ts = append(ts, Tensor{Name: n, DType: U8, Shape: []int64{1}, Data: []byte{byte(len(n))}})
	}
	return ts
}

func TestOpenModelOfAFolder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		shards map[string][]Tensor
		index  map[string]string // nil for no index
		extra  map[string]string // more files: name -> content
		want   []string          // tensor names; nil if an error is wanted
		msg    string
	}{
		{
			name:   "a folder without an index opens every shard",
			shards: map[string][]Tensor{"b.safetensors": shard("y", "a"), "a.safetensors": shard("x")},
			extra:  map[string]string{"README.md": "hi"},
			want:   []string{"a", "x", "y"},
		},
		{
			name:   "a folder with an index opens what it names and ignores other files",
			shards: map[string][]Tensor{"1.safetensors": shard("a"), "2.safetensors": shard("b"), "consolidated.safetensors": shard("a", "b")},
			index:  map[string]string{"a": "1.safetensors", "b": "2.safetensors"},
			want:   []string{"a", "b"},
		},
		{
			name:   "a tensor in two shards is refused",
			shards: map[string][]Tensor{"a.safetensors": shard("x", "y"), "b.safetensors": shard("y")},
			msg:    `tensor "y": in two shards`,
		},
		{
			name: "an empty folder is refused",
			msg:  "folder holds no .safetensors file",
		},
		{
			name:   "an index naming a missing shard is refused",
			shards: map[string][]Tensor{"1.safetensors": shard("a")},
			index:  map[string]string{"a": "1.safetensors", "b": "2.safetensors"},
			msg:    `tensor "b": weight_map names shard "2.safetensors", which does not exist`,
		},
		{
			name:   "an index putting a tensor in the wrong shard is refused",
			shards: map[string][]Tensor{"1.safetensors": shard("a"), "2.safetensors": shard("b")},
			index:  map[string]string{"a": "2.safetensors", "b": "1.safetensors"},
			msg:    `tensor "a": the weight_map of`,
		},
		{
			name:   "an index naming a tensor no shard holds is refused",
			shards: map[string][]Tensor{"1.safetensors": shard("a")},
			index:  map[string]string{"a": "1.safetensors", "ghost": "1.safetensors"},
			msg:    `tensor "ghost": weight_map puts it in shard 1.safetensors, which does not hold it`,
		},
		{
			name:   "a shard tensor missing from the index is refused",
			shards: map[string][]Tensor{"1.safetensors": shard("a", "b")},
			index:  map[string]string{"a": "1.safetensors"},
			msg:    `tensor "b": not in the weight_map`,
		},
		{
			name:   "an index pointing outside its folder is refused",
			shards: map[string][]Tensor{"1.safetensors": shard("a")},
			index:  map[string]string{"a": "../1.safetensors"},
			msg:    `is not a file name in the index's folder`,
		},
		{
			name:  "an empty weight map is refused",
			index: map[string]string{},
			msg:   "weight_map is empty",
		},
		{
			name:  "an index that is not JSON is refused",
			extra: map[string]string{IndexFile: `{"weight_map":`},
			msg:   "not valid JSON",
		},
		{
			name:  "an index without a weight map is refused",
			extra: map[string]string{IndexFile: `{"metadata":{}}`},
			msg:   "weight_map is missing",
		},
		{
			name:  "an index with a tensor twice is refused",
			extra: map[string]string{IndexFile: `{"weight_map":{"a":"1.safetensors","a":"2.safetensors"}}`},
			msg:   `tensor "a": appears twice in weight_map`,
		},
		{
			name:  "an index whose metadata is not an object is refused",
			extra: map[string]string{IndexFile: `{"metadata":[1],"weight_map":{}}`},
			msg:   "metadata is not an object",
		},
		{
			name:   "a broken shard is refused with its own error",
			shards: map[string][]Tensor{"1.safetensors": shard("a")},
			extra:  map[string]string{"2.safetensors": "short"},
			msg:    "2.safetensors: file is 5 bytes",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, ts := range tc.shards {
				if err := WriteFile(filepath.Join(dir, name), nil, ts); err != nil {
					t.Fatal(err)
				}
			}
			if tc.index != nil {
				if err := writeIndexUnchecked(dir, tc.index); err != nil {
					t.Fatal(err)
				}
			}
			for name, content := range tc.extra {
				writeRaw(t, dir, name, []byte(content))
			}
			m, err := OpenModel(dir)
			if tc.want == nil {
				var fe *FormatError
				if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("error %v, want a FormatError saying %q", err, tc.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			var names []string
			for _, tt := range m.Tensors {
				names = append(names, tt.Name)
				if tt.Data[0] != byte(len(tt.Name)) {
					t.Errorf("tensor %q holds %v", tt.Name, tt.Data)
				}
			}
			if !slices.Equal(names, tc.want) {
				t.Errorf("tensors %q, want %q", names, tc.want)
			}
			if (m.Index != nil) != (tc.index != nil) {
				t.Errorf("index %v", m.Index)
			}
		})
	}
}

// writeIndexUnchecked writes an index without WriteIndex's checks, so that
// bad ones can be tested.
func writeIndexUnchecked(dir string, weightMap map[string]string) error {
	b, err := json.Marshal(map[string]any{"metadata": map[string]any{"total_size": 1}, "weight_map": weightMap})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, IndexFile), b, 0o644)
}

func TestWriteIndex(t *testing.T) {
	dir := t.TempDir()
	if err := WriteIndex(dir, nil, map[string]string{"b": "2.safetensors", "a": "1.safetensors"}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"metadata\": {},\n  \"weight_map\": {\n    \"a\": \"1.safetensors\",\n    \"b\": \"2.safetensors\"\n  }\n}\n"
	if string(b) != want {
		t.Errorf("index\n%s\nwant\n%s", b, want)
	}
	idx, err := ReadIndex(filepath.Join(dir, IndexFile))
	if err != nil || len(idx.WeightMap) != 2 || idx.Metadata == nil {
		t.Errorf("ReadIndex: %+v, %v", idx, err)
	}
	for _, shard := range []string{"../x.safetensors", "sub/x.safetensors", "", ".."} {
		if err := WriteIndex(dir, nil, map[string]string{"a": shard}); err == nil {
			t.Errorf("WriteIndex accepted shard %q", shard)
		}
	}
	if err := WriteIndex(dir, map[string]any{"f": func() {}}, nil); err == nil {
		t.Error("WriteIndex accepted metadata JSON cannot hold")
	}
	if names := testfs.Names(t, dir); !slices.Equal(names, []string{IndexFile}) {
		t.Errorf("folder holds %q", names)
	}
}
