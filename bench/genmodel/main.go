// Command genmodel writes a synthetic float16 or float32 safetensors model of
// a given size, layer by layer with bounded memory, for end-to-end
// benchmarks. Its weights are Gaussian with a few outliers, like trained ones.
//
//	go run ./bench/genmodel -params 268435456 -layer 4096x4096 -dtype F16 -o /tmp/model.safetensors
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"

	"github.com/arrowquant/arrowquant/quant"
	"github.com/arrowquant/arrowquant/safetensors"
)

func main() {
	params := flag.Int64("params", 1<<28, "total parameters (rounded down to whole layers)")
	layer := flag.String("layer", "4096x4096", "shape of each layer, ROWSxCOLS")
	dtype := flag.String("dtype", "F16", "F16 or F32")
	out := flag.String("o", "", "output file")
	flag.Parse()
	if err := run(*params, *layer, safetensors.DType(*dtype), *out); err != nil {
		fmt.Fprintln(os.Stderr, "genmodel:", err)
		os.Exit(1)
	}
}

func run(params int64, layer string, dtype safetensors.DType, out string) error {
	if out == "" {
		return fmt.Errorf("-o is required")
	}
	if dtype != safetensors.F16 && dtype != safetensors.F32 {
		return fmt.Errorf("-dtype %s: must be F16 or F32", dtype)
	}
	dims := strings.Split(layer, "x")
	if len(dims) != 2 {
		return fmt.Errorf("-layer %q: want ROWSxCOLS", layer)
	}
	rows, err1 := strconv.Atoi(dims[0])
	cols, err2 := strconv.Atoi(dims[1])
	if err1 != nil || err2 != nil || rows < 1 || cols < 1 {
		return fmt.Errorf("-layer %q: want ROWSxCOLS", layer)
	}
	n := int(params / int64(rows*cols))
	if n < 1 {
		return fmt.Errorf("-params %d is smaller than one layer", params)
	}
	size := int64(rows * cols * dtype.Size())
	var plan []safetensors.PlannedTensor
	for i := range n {
		plan = append(plan, safetensors.PlannedTensor{Name: name(i), MaxBytes: size})
	}
	w, err := safetensors.Create(out, map[string]string{"format": "pt", "generator": "arrowquant bench/genmodel"}, plan, nil)
	if err != nil {
		return err
	}
	defer w.Abort()
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, size)
	for i := range n {
		for j := 0; j < rows*cols; j++ {
			v := r.NormFloat64() * 0.02
			if r.IntN(1000) == 0 {
				v *= 20
			}
			if dtype == safetensors.F16 {
				binary.LittleEndian.PutUint16(buf[2*j:], quant.Float32ToHalf(float32(v)))
			} else {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(float32(v)))
			}
		}
		if err := w.WriteTensor(name(i), dtype, []int64{int64(rows), int64(cols)}, buf); err != nil {
			return err
		}
	}
	return w.Commit()
}

func name(i int) string { return fmt.Sprintf("model.layers.%03d.weight", i) }
