package safetensors

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// realDir holds the real models shared by the project's tests.
const realDir = "../../shared/testdata/real"

// rawFile returns a file made of the given header and data, with the
// header length prefix set to the header's length.
func rawFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

// sampleTensors returns tensors of several dtypes, including a scalar and
// zero-element tensors, in no particular order.
func sampleTensors() []Tensor {
	seq := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*7 + 3)
		}
		return b
	}
	return []Tensor{
		{Name: "weight", DType: F32, Shape: []int64{2, 3}, Data: seq(24)},
		{Name: "bias", DType: F16, Shape: []int64{3}, Data: seq(6)},
		{Name: "scale", DType: BF16, Shape: []int64{}, Data: seq(2)},
		{Name: "empty", DType: F64, Shape: []int64{0, 5}, Data: []byte{}},
		{Name: "also.empty", DType: I8, Shape: []int64{4, 0}, Data: nil},
		{Name: "ids", DType: I64, Shape: []int64{2}, Data: seq(16)},
		{Name: "mask", DType: Bool, Shape: []int64{3}, Data: []byte{1, 0, 1}},
		{Name: "q", DType: F8E4M3, Shape: []int64{1, 2, 2}, Data: seq(4)},
		{Name: "q2", DType: F8E5M2, Shape: []int64{1}, Data: seq(1)},
		{Name: "u16", DType: U16, Shape: []int64{1}, Data: seq(2)},
		{Name: "u32", DType: U32, Shape: []int64{1}, Data: seq(4)},
		{Name: "u64", DType: U64, Shape: []int64{1}, Data: seq(8)},
		{Name: "u8", DType: U8, Shape: []int64{5}, Data: seq(5)},
		{Name: "i16", DType: I16, Shape: []int64{1}, Data: seq(2)},
		{Name: "i32", DType: I32, Shape: []int64{1}, Data: seq(4)},
		{Name: "ünïcode \"quoted\"\n<&>", DType: U8, Shape: []int64{1}, Data: seq(1)},
	}
}

// sampleMetadata returns metadata with characters JSON must escape.
func sampleMetadata() map[string]string {
	return map[string]string{"format": "pt", "note": "a \"quote\", a \\, a\ttab, <html> & \u2028 é"}
}

// sameTensors fails t unless got and want (in any order) hold the same
// names, dtypes, shapes and bytes.
func sameTensors(t testing.TB, got, want []Tensor) {
	t.Helper()
	byName := func(ts []Tensor) []Tensor {
		ts = slices.Clone(ts)
		slices.SortFunc(ts, func(a, b Tensor) int { return cmp.Compare(a.Name, b.Name) })
		return ts
	}
	got, want = byName(got), byName(want)
	if len(got) != len(want) {
		t.Fatalf("got %d tensors, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.DType != w.DType || !slices.Equal(g.Shape, w.Shape) || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("tensor %d: got %q %s%v (%d bytes), want %q %s%v (%d bytes)",
				i, g.Name, g.DType, g.Shape, len(g.Data), w.Name, w.DType, w.Shape, len(w.Data))
		}
	}
}

// sameMetadata fails t unless got equals want, nil and empty told apart.
func sameMetadata(t testing.TB, got, want map[string]string) {
	t.Helper()
	if (got == nil) != (want == nil) || !maps.Equal(got, want) {
		t.Errorf("metadata: got %#v, want %#v", got, want)
	}
}

// writeRaw writes b to dir/name and returns the path.
func writeRaw(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// commitAndOpen commits w and opens the file it wrote for the rest of the test.
func commitAndOpen(t testing.TB, w *Writer, path string) *File {
	t.Helper()
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
