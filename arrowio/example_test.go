package arrowio_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/arrowquant/arrowquant/arrowio"
	"github.com/arrowquant/arrowquant/batch"
	"github.com/arrowquant/arrowquant/quant"
)

// weightsTable builds an input table of two layers: a 2×4 matrix and a
// vector whose shape is left null.
func weightsTable() arrow.Table {
	mem := memory.DefaultAllocator
	names := array.NewStringBuilder(mem)
	names.AppendValues([]string{"mlp.weight", "mlp.bias"}, nil)
	weights := array.NewListBuilder(mem, arrow.PrimitiveTypes.Float32)
	values := weights.ValueBuilder().(*array.Float32Builder)
	weights.Append(true)
	values.AppendValues([]float32{0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.7, -0.8}, nil)
	weights.Append(true)
	values.AppendValues([]float32{0.01, 0.02, 0.03}, nil)
	shapes := array.NewListBuilder(mem, arrow.PrimitiveTypes.Int64)
	shapes.Append(true)
	shapes.ValueBuilder().(*array.Int64Builder).AppendValues([]int64{2, 4}, nil)
	shapes.AppendNull()

	cols := []arrow.Array{names.NewArray(), weights.NewArray(), shapes.NewArray()}
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "layer_name", Type: cols[0].DataType()},
		{Name: "weights", Type: cols[1].DataType()},
		{Name: "shape", Type: cols[2].DataType(), Nullable: true},
	}, nil)
	return array.NewTableFromSlice(sc, [][]arrow.Array{{cols[0]}, {cols[1]}, {cols[2]}})
}

func ExampleQuantize() {
	in := weightsTable()
	defer in.Release()

	out, err := arrowio.Quantize(context.Background(), in, batch.Options{Bits: 4, GroupSize: 4})
	if err != nil {
		log.Fatal(err)
	}
	defer out.Release()

	layers, err := arrowio.Results(out)
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range layers {
		x, _ := quant.Dequantize(&l.Tensor)
		fmt.Printf("%s %v: %d bits, %d bytes of codes, %d scales, first value %.2f\n",
			l.Name, l.Shape, l.Bits, len(l.Codes), len(l.Scales), x[0])
	}
	// Output:
	// mlp.bias [3]: 4 bits, 2 bytes of codes, 1 scales, first value 0.01
	// mlp.weight [2 4]: 4 bits, 4 bytes of codes, 2 scales, first value 0.11
}

func ExampleCreateParquet() {
	dir, _ := os.MkdirTemp("", "arrowio")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.q4.parquet")

	in := weightsTable()
	defer in.Release()
	w, err := arrowio.CreateParquet(path, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer w.Abort() // removes the temporary file if anything below fails
	// Results are written as the engine emits them, in name order.
	if err := arrowio.Stream(context.Background(), in, batch.Options{}, w.Write); err != nil {
		log.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		log.Fatal(err)
	}

	layers, err := arrowio.ReadResults(path)
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range layers {
		fmt.Println(l.Name, l.Shape, l.Bits, l.GroupSize)
	}
	// Output:
	// mlp.bias [3] 4 128
	// mlp.weight [2 4] 4 128
}

func ExampleOpenTable() {
	dir, _ := os.MkdirTemp("", "arrowio")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "results.arrow")
	in := weightsTable()
	defer in.Release()
	w, _ := arrowio.CreateIPC(path, nil)
	defer w.Abort()
	if err := arrowio.Stream(context.Background(), in, batch.Options{Bits: 8}, w.Write); err != nil {
		log.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		log.Fatal(err)
	}

	tbl, closeTable, err := arrowio.OpenTable(path)
	if err != nil {
		log.Fatal(err)
	}
	defer closeTable()
	fmt.Println(tbl.NumRows(), "rows;", tbl.Schema().Field(4).Name, tbl.Schema().Field(4).Type)
	// Output:
	// 2 rows; quantized_data large_binary
}

func ExampleLayers() {
	in := weightsTable()
	defer in.Release()

	// The layers view the table's buffers: keep both until the engine is done.
	tr := array.NewTableReader(in, -1)
	defer tr.Release()
	layers, release, err := arrowio.Layers(tr)
	if err != nil {
		log.Fatal(err)
	}
	defer release()
	for _, l := range layers {
		fmt.Println(l.Name, l.Shape, l.DType, len(l.Data), "bytes")
	}
	results, err := batch.Quantize(context.Background(), layers, batch.Options{Bits: 8})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(results), "results")
	// Output:
	// mlp.weight [2 4] float32 32 bytes
	// mlp.bias [3] float32 12 bytes
	// 2 results
}
