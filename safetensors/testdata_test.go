package safetensors

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the files in testdata")

// testdataFiles are the small files kept in testdata, for the examples and
// as fuzz seeds, with how each is made. TestTestdataIsCurrent keeps them
// true to the writer; go test -run Testdata -update rewrites them.
var testdataFiles = []struct {
	path     string
	meta     map[string]string
	tensors  []Tensor
	isIndex  bool
	weighMap map[string]string
}{
	{path: "small.safetensors", meta: map[string]string{"format": "pt"}, tensors: []Tensor{
		{Name: "weight", DType: F32, Shape: []int64{2, 2}, Data: []byte{0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64}},
		{Name: "bias", DType: F32, Shape: []int64{2}, Data: []byte{0, 0, 0, 0, 0, 0, 128, 191}},
		{Name: "scale", DType: F16, Shape: []int64{}, Data: []byte{0, 60}},
	}},
	{path: "empty.safetensors"},
	{path: "sample.safetensors", meta: sampleMetadata(), tensors: sampleTensors()},
	{path: "sharded/model-00001-of-00002.safetensors", tensors: shard("a", "b")},
	{path: "sharded/model-00002-of-00002.safetensors", meta: map[string]string{"format": "pt"}, tensors: shard("c")},
	{path: "sharded/" + IndexFile, isIndex: true, weighMap: map[string]string{
		"a": "model-00001-of-00002.safetensors",
		"b": "model-00001-of-00002.safetensors",
		"c": "model-00002-of-00002.safetensors",
	}},
}

func TestTestdataIsCurrent(t *testing.T) {
	for _, tc := range testdataFiles {
		t.Run(tc.path+" is what the writer writes", func(t *testing.T) {
			path := filepath.Join("testdata", tc.path)
			dir := t.TempDir()
			if *update {
				dir = filepath.Dir(path)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			out := filepath.Join(dir, filepath.Base(path))
			var err error
			if tc.isIndex {
				err = WriteIndex(dir, map[string]any{"total_size": 3}, tc.weighMap)
			} else {
				err = WriteFile(out, tc.meta, tc.tensors)
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from what the writer writes now; rerun with -update if that is intended", path)
			}
		})
	}
}
