package batch_test

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/arrowquant/arrowquant/batch"
	"github.com/arrowquant/arrowquant/quant"
)

func ExampleQuantize() {
	w1 := make([]float32, 4*256) // a 4×256 layer
	w2 := make([]float32, 512)   // a vector
	for i := range w1 {
		w1[i] = float32(math.Sin(float64(i)))
	}
	for i := range w2 {
		w2[i] = float32(i%7) - 3
	}
	layers := []batch.Layer{
		batch.Float32Layer("layer.1.weight", []int{4, 256}, w1),
		batch.Float32Layer("layer.0.weight", []int{512}, w2),
	}
	results, err := batch.Quantize(context.Background(), layers, batch.Options{Bits: 4, GroupSize: 128})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range results {
		fmt.Printf("%s %v: %d code bytes, %d scales, cosine %.4f\n", r.Name, r.Shape, len(r.Codes), len(r.Scales), r.Quality.Cosine)
	}
	back, _ := quant.Dequantize(&results[0].Tensor)
	fmt.Printf("decoded: %.1f\n", back[:7])
	// Output:
	// layer.0.weight [512]: 256 code bytes, 4 scales, cosine 0.9982
	// layer.1.weight [4 256]: 512 code bytes, 8 scales, cosine 0.9987
	// decoded: [-3.0 -1.8 -1.0 0.2 1.0 1.8 3.0]
}

func ExampleQuantize_errors() {
	layers := []batch.Layer{
		batch.Float32Layer("ok", []int{2, 2}, []float32{1, 2, 3, 4}),
		batch.Float32Layer("nan", []int{3}, []float32{1, float32(math.NaN()), 3}),
		batch.Float32Layer("short", []int{2, 2}, []float32{1, 2, 3}),
	}
	_, err := batch.Quantize(context.Background(), layers, batch.Options{ContinueOnError: true})
	fmt.Println(err)
	var le *batch.LayerError
	if errors.As(err, &le) {
		fmt.Println("first bad layer:", le.Layer)
	}
	// Output:
	// layer "nan": non-finite value NaN at index 1
	// layer "short": shape [2 2] does not match the data (12 bytes of float32) (data holds 3 elements)
	// first bad layer: nan
}

// A writer streams results in name order with bounded memory: here it only
// counts bytes, copying nothing, so the engine may recycle each result's
// memory once emit returns, and it skips the quality figures it never reads.
func ExampleStream() {
	var layers []batch.Layer
	for i := range 3 {
		w := make([]float32, 64*256)
		for j := range w {
			w[j] = float32(math.Cos(float64(i*j) / 100))
		}
		layers = append(layers, batch.Float32Layer(fmt.Sprintf("block.%d.weight", i), []int{64, 256}, w))
	}
	opts := batch.Options{Bits: 4, RecycleResults: true, SkipQuality: true, MaxPending: 64 << 10}
	err := batch.Stream(context.Background(), layers, opts, func(r *batch.Result) error {
		fmt.Printf("%s: %d bytes of codes, %d scales (%v)\n", r.Name, len(r.Codes), len(r.Scales), r.Format)
		return nil
	})
	fmt.Println("error:", err)
	// Output:
	// block.0.weight: 8192 bytes of codes, 128 scales (f16)
	// block.1.weight: 8192 bytes of codes, 128 scales (f16)
	// block.2.weight: 8192 bytes of codes, 128 scales (f16)
	// error: <nil>
}
