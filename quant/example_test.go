package quant_test

import (
	"fmt"
	"math"

	"github.com/arrowquant/arrowquant/quant"
)

func ExampleQuantize() {
	x := make([]float32, 2*8) // two rows of eight
	for i := range x {
		x[i] = float32(math.Sin(float64(i) / 3))
	}
	t, q, err := quant.Quantize(x, []int{2, 8}, quant.Params{Bits: 4, GroupSize: 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	back, _ := quant.Dequantize(t)
	fmt.Printf("%d code bytes, %d scales (%v), cosine %.5f\n", len(t.Codes), len(t.Scales), t.Format, q.Cosine)
	fmt.Printf("x:    %.3f\n", x[:4])
	fmt.Printf("back: %.3f\n", back[:4])
	// Output:
	// 8 code bytes, 4 scales (f16), cosine 0.99998
	// x:    [0.000 0.327 0.618 0.841]
	// back: [-0.000 0.337 0.617 0.842]
}

// A Quantizer fills a Tensor block by block, so that goroutines can share one
// tensor; EncodeBlock is QuantizeBlock without the quality sums.
func ExampleQuantizer_EncodeBlock() {
	x := make([]float32, 4*256)
	for i := range x {
		x[i] = float32(math.Cos(float64(i) / 17))
	}
	t, err := quant.NewTensor([]int{4, 256}, quant.Params{Bits: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	var z quant.Quantizer
	// Rows 0–1 and rows 2–3, as two workers would.
	for r0 := 0; r0 < 4; r0 += 2 {
		if err := z.EncodeBlock(t, x[r0*256:(r0+2)*256], r0, 2, 0, 256, quant.Float16); err != nil {
			fmt.Println(err)
			return
		}
	}
	whole, _, _ := quant.Quantize(x, []int{4, 256}, quant.Params{Bits: 2})
	fmt.Println(string(t.Codes) == string(whole.Codes), len(t.Codes), len(t.Scales))
	// Output:
	// true 256 8
}

func ExampleEncodeFloat16() {
	b := make([]byte, 2*3)
	quant.EncodeFloat16(b, []float32{1, -2.5, 1e-3})
	fmt.Printf("% x\n", b)
	// Output:
	// 00 3c 00 c1 19 14
}
