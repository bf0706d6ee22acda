package safetensors

import (
	"bytes"
	"path/filepath"
	"testing"
)

// TestReleaseKeepsEveryTensorReadable releases tensors spanning many pages
// of an opened file and checks that they still read back whole; and that
// Release ignores memory that is not a file's mapping, which the advice
// would otherwise discard (on Linux it zeroes anonymous pages).
func TestReleaseKeepsEveryTensorReadable(t *testing.T) {
	big := make([]byte, 5<<16+123)
	for i := range big {
		big[i] = byte(i*31 + 7)
	}
	tensors := append(sampleTensors(), Tensor{Name: "big", DType: U8, Shape: []int64{int64(len(big))}, Data: big})
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := WriteFile(path, nil, tensors); err != nil {
		t.Fatal(err)
	}
	m, err := OpenModel(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for i := range m.Tensors {
		m.Release(&m.Tensors[i])
	}
	for _, want := range tensors {
		got, ok := m.Tensor(want.Name)
		if !ok || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("%s reads differently after Release", want.Name)
		}
	}

	heap := bytes.Clone(big)
	f, err := Parse(path, mustEncode(t, tensors))
	if err != nil {
		t.Fatal(err)
	}
	for i := range f.Tensors {
		f.Release(&f.Tensors[i])
	}
	m.Shards[0].Release(&Tensor{Name: "big", File: path, Data: heap})
	got, _ := f.Tensor("big")
	if !bytes.Equal(got.Data, big) || !bytes.Equal(heap, big) {
		t.Error("Release changed memory that is not a file's mapping")
	}
}

func mustEncode(t *testing.T, tensors []Tensor) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Encode(&b, nil, tensors); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
