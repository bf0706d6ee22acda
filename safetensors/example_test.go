package safetensors_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"

	"github.com/arrowquant/arrowquant/safetensors"
)

func ExampleOpen() {
	f, err := safetensors.Open("testdata/small.safetensors")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	fmt.Println("format:", f.Metadata["format"])
	for _, t := range f.Tensors {
		fmt.Println(t.Name, t.DType, t.Shape, t.NumElements(), len(t.Data))
	}
	w, _ := f.Tensor("weight")
	fmt.Println("weight[1][0] =", math.Float32frombits(binary.LittleEndian.Uint32(w.Data[8:])))
	// Output:
	// format: pt
	// bias F32 [2] 2 8
	// scale F16 [] 1 2
	// weight F32 [2 2] 4 16
	// weight[1][0] = 3
}

func ExampleOpenModel() {
	m, err := safetensors.OpenModel("testdata/sharded")
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	for _, t := range m.Tensors {
		fmt.Println(t.Name, filepath.Base(t.File))
	}
	fmt.Println(len(m.Shards), "shards, total size", m.Index.Metadata["total_size"])
	// Output:
	// a model-00001-of-00002.safetensors
	// b model-00001-of-00002.safetensors
	// c model-00002-of-00002.safetensors
	// 2 shards, total size 3
}

// A quantizer declares its outputs up front with their largest sizes, and
// chooses each dtype only when the tensor is ready.
func ExampleCreate() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")

	w, err := safetensors.Create(path, map[string]string{"quantized": "q8"}, []safetensors.PlannedTensor{
		{Name: "w.q", MaxBytes: 4 * 8},      // U8 [4, 8]
		{Name: "w.scales", MaxBytes: 4 * 4}, // F16 or F32 [4]
	}, &safetensors.CreateOptions{Refuse: []string{"input.safetensors"}})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Abort() // removes the temporary file unless Commit succeeded
	if err := w.WriteTensor("w.scales", safetensors.F16, []int64{4}, make([]byte, 8)); err != nil {
		log.Fatal(err)
	}
	if err := w.WriteTensor("w.q", safetensors.U8, []int64{4, 8}, make([]byte, 32)); err != nil {
		log.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		log.Fatal(err)
	}

	f, err := safetensors.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	for _, t := range f.Tensors {
		fmt.Println(t.Name, t.DType, t.Shape)
	}
	// Output:
	// w.q U8 [4 8]
	// w.scales F16 [4]
}

func ExampleWriteFile() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "bias.safetensors")
	err = safetensors.WriteFile(path, nil, []safetensors.Tensor{
		{Name: "bias", DType: safetensors.I32, Shape: []int64{2}, Data: []byte{1, 0, 0, 0, 2, 0, 0, 0}},
	})
	if err != nil {
		log.Fatal(err)
	}
	m, err := safetensors.OpenModel(path)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	b, _ := m.Tensor("bias")
	fmt.Println(b.DType, b.Shape, b.Data)
	// Output:
	// I32 [2] [1 0 0 0 2 0 0 0]
}

func ExampleEncode() {
	var buf bytes.Buffer
	err := safetensors.Encode(&buf, map[string]string{"k": "v"}, []safetensors.Tensor{
		{Name: "x", DType: safetensors.U8, Shape: []int64{3}, Data: []byte{1, 2, 3}},
	})
	if err != nil {
		log.Fatal(err)
	}
	b := buf.Bytes()
	n := binary.LittleEndian.Uint64(b)
	fmt.Printf("%d-byte header: %s\n", n, bytes.TrimRight(b[8:8+n], " "))
	// Output:
	// 80-byte header: {"__metadata__":{"k":"v"},"x":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}}
}

func ExampleParse() {
	b := []byte("\x07\x00\x00\x00\x00\x00\x00\x00{\"x\":1}")
	_, err := safetensors.Parse("bad.safetensors", b)
	fmt.Println(err)
	// Output:
	// safetensors: bad.safetensors: tensor "x": entry is not a JSON object
}

func ExampleWriteIndex() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	err = safetensors.WriteIndex(dir, map[string]any{"total_size": 12}, map[string]string{
		"a": "model-00001-of-00002.safetensors",
		"b": "model-00002-of-00002.safetensors",
	})
	if err != nil {
		log.Fatal(err)
	}
	idx, err := safetensors.ReadIndex(filepath.Join(dir, safetensors.IndexFile))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(idx.Metadata["total_size"], idx.WeightMap["b"])
	// Output:
	// 12 model-00002-of-00002.safetensors
}
