package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, fails only with the package's
// two error types, and that whatever it accepts survives WriteFile and Parse
// unchanged, and is then a fixed point of the writer.
func FuzzParse(f *testing.F) {
	err := filepath.WalkDir("testdata", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".safetensors") {
			return err
		}
		b, err := os.ReadFile(path)
		f.Add(b)
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	for _, tc := range badFiles {
		f.Add(tc.file)
	}
	// The start of each real shard: a real header and too little data. (The
	// single-file models' headers are 10-20 KiB, which makes the fuzzer's
	// minimizing crawl; the shards' are under 2 KiB.)
	real, _ := filepath.Glob(filepath.Join(realDir, "posenet-sharded", "*.safetensors"))
	for _, path := range real {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		n := binary.LittleEndian.Uint64(b)
		f.Add(b[:min(uint64(len(b)), 8+n+64)])
	}

	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Parse("fuzz.safetensors", b)
		if err != nil {
			var fe *FormatError
			var ue *UnsupportedError
			if !errors.As(err, &fe) && !errors.As(err, &ue) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		path := filepath.Join(t.TempDir(), "out.safetensors")
		if err := WriteFile(path, file.Metadata, file.Tensors); err != nil {
			t.Fatalf("WriteFile of a parsed file: %v", err)
		}
		b2, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		file2, err := Parse("out.safetensors", b2)
		if err != nil {
			t.Fatalf("Parse of a written file: %v", err)
		}
		sameTensors(t, file2.Tensors, file.Tensors)
		sameMetadata(t, file2.Metadata, file.Metadata)
		var buf bytes.Buffer
		if err := Encode(&buf, file2.Metadata, file2.Tensors); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), b2) {
			t.Error("writing a written file again changed its bytes")
		}
	})
}
