package convert

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/arrowquant/arrowquant/batch"
	"github.com/arrowquant/arrowquant/quant"
	"github.com/arrowquant/arrowquant/safetensors"
)

// writeF16Model writes n float16 layers of rows×cols to path.
func writeF16Model(b *testing.B, path string, n, rows, cols int) {
	b.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 2*rows*cols)
	for i := 0; i < rows*cols; i++ {
		binary.LittleEndian.PutUint16(data[2*i:], quant.Float32ToHalf(float32(r.NormFloat64()*0.02)))
	}
	var tensors []safetensors.Tensor
	for i := range n {
		tensors = append(tensors, safetensors.Tensor{Name: fmt.Sprintf("layers.%03d.weight", i), DType: safetensors.F16, Shape: []int64{int64(rows), int64(cols)}, Data: data})
	}
	if err := safetensors.WriteFile(path, nil, tensors); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkQuantizeFile quantizes a 64M-parameter float16 model file to 4
// bits end to end: memory-mapped reading, the engine, the streaming writer.
// bench/e2e.sh does the same at 268M parameters through the command, with
// peak memory.
func BenchmarkQuantizeFile(b *testing.B) {
	dir := b.TempDir()
	in := filepath.Join(dir, "model.safetensors")
	const n, rows, cols = 16, 2048, 2048
	writeF16Model(b, in, n, rows, cols)
	for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			b.SetBytes(2 * n * rows * cols)
			for b.Loop() {
				if _, err := quantizeTo(b, in, filepath.Join(dir, "out.safetensors"), Options{Batch: batch.Options{Workers: workers}}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*rows*cols)*float64(b.N)/b.Elapsed().Seconds(), "params/s")
		})
	}
}
