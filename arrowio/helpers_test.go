package arrowio

import (
	"bytes"
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/arrowquant/arrowquant/batch"
	"github.com/arrowquant/arrowquant/quant"
)

// inRow is one row of a test input table.
type inRow struct {
	name        string
	nullName    bool
	weights     []float32 // stored as float32 or float16 as the table says
	nullWeights bool
	shape       []int64 // nil: a null shape
}

// listKind is the Arrow type of the weights column.
type listKind int

const (
	plainList listKind = iota
	largeList
	fixedList // every row must have the same number of weights
)

// inputSpec says how to store an input table.
type inputSpec struct {
	kind    listKind
	f16     bool // weights as float16 rather than float32
	noShape bool // leave the shape column out
}

// nameArray is the layer_name column of rows.
func nameArray(rows []inRow) arrow.Array {
	b := array.NewStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	for _, r := range rows {
		if r.nullName {
			b.AppendNull()
		} else {
			b.Append(r.name)
		}
	}
	return b.NewArray()
}

// weightsArray builds the weights column from raw little-endian values, so
// that float16 bits reach the table exactly.
func weightsArray(rows []inRow, spec inputSpec) arrow.Array {
	elem, size := arrow.DataType(arrow.PrimitiveTypes.Float32), 4
	if spec.f16 {
		elem, size = arrow.FixedWidthTypes.Float16, 2
	}
	var values []byte
	offsets := []int64{0}
	var nulls []int
	fixed := 0
	for _, r := range rows {
		if spec.kind == fixedList && !r.nullWeights {
			fixed = len(r.weights)
		}
	}
	for i, r := range rows {
		w := r.weights
		if r.nullWeights {
			nulls = append(nulls, i)
			w = make([]float32, 0)
			if spec.kind == fixedList {
				w = make([]float32, fixed)
			}
		}
		for _, v := range w {
			if spec.f16 {
				h := quant.Float32ToHalf(v)
				values = append(values, byte(h), byte(h>>8))
			} else {
				values = append(values, arrow.Float32Traits.CastToBytes([]float32{v})...)
			}
		}
		offsets = append(offsets, int64(len(values)/size))
	}
	child := array.NewData(elem, len(values)/size, []*memory.Buffer{nil, memory.NewBufferBytes(values)}, nil, 0, 0)
	defer child.Release()
	validity := validityOf(len(rows), nulls)
	var d *array.Data
	switch spec.kind {
	case plainList:
		off32 := make([]int32, len(offsets))
		for i, o := range offsets {
			off32[i] = int32(o)
		}
		d = array.NewData(arrow.ListOf(elem), len(rows), []*memory.Buffer{validity, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(off32))}, []arrow.ArrayData{child}, len(nulls), 0)
	case largeList:
		d = array.NewData(arrow.LargeListOf(elem), len(rows), []*memory.Buffer{validity, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(offsets))}, []arrow.ArrayData{child}, len(nulls), 0)
	case fixedList:
		d = array.NewData(arrow.FixedSizeListOf(int32(fixed), elem), len(rows), []*memory.Buffer{validity}, []arrow.ArrayData{child}, len(nulls), 0)
	}
	defer d.Release()
	return array.MakeFromData(d)
}

func validityOf(n int, nulls []int) *memory.Buffer {
	if len(nulls) == 0 {
		return nil
	}
	b := make([]byte, bitutil.BytesForBits(int64(n)))
	bitutil.SetBitsTo(b, 0, int64(n), true)
	for _, i := range nulls {
		bitutil.ClearBit(b, i)
	}
	return memory.NewBufferBytes(b)
}

func shapeArray(rows []inRow) arrow.Array {
	b := array.NewListBuilder(memory.DefaultAllocator, arrow.PrimitiveTypes.Int64)
	defer b.Release()
	vb := b.ValueBuilder().(*array.Int64Builder)
	for _, r := range rows {
		if r.shape == nil {
			b.AppendNull()
			continue
		}
		b.Append(true)
		vb.AppendValues(r.shape, nil)
	}
	return b.NewArray()
}

// inputRecord builds one record batch of an input table.
func inputRecord(rows []inRow, spec inputSpec) arrow.RecordBatch {
	cols := []arrow.Array{nameArray(rows), weightsArray(rows, spec)}
	if !spec.noShape {
		cols = append(cols, shapeArray(rows))
	}
	fields := make([]arrow.Field, len(cols))
	for i, name := range []string{colName, colWeights, colShape}[:len(cols)] {
		fields[i] = arrow.Field{Name: name, Type: cols[i].DataType(), Nullable: true}
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(len(rows)))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// inputTable builds a table of one record batch per element of batches.
func inputTable(t testing.TB, spec inputSpec, batches ...[]inRow) arrow.Table {
	t.Helper()
	var recs []arrow.RecordBatch
	for _, rows := range batches {
		recs = append(recs, inputRecord(rows, spec))
	}
	tbl := array.NewTableFromRecords(recs[0].Schema(), recs)
	for _, r := range recs {
		r.Release()
	}
	t.Cleanup(tbl.Release)
	return tbl
}

// randomRows makes layers with the given shapes (names "layer.00", ...)
// of normally distributed weights, rounded to float16 when f16 is set so
// that the same values can be given to the engine as float32.
func randomRows(seed uint64, f16 bool, shapes ...[]int64) []inRow {
	r := rand.New(rand.NewPCG(seed, 7))
	rows := make([]inRow, len(shapes))
	for i, s := range shapes {
		n := int64(1)
		for _, d := range s {
			n *= d
		}
		w := make([]float32, n)
		for k := range w {
			w[k] = float32(r.NormFloat64() * 0.05)
			if f16 {
				w[k] = quant.HalfToFloat32(quant.Float32ToHalf(w[k]))
			}
		}
		rows[i] = inRow{name: "layer." + string(rune('a'+i%26)) + string(rune('0'+i/26)), weights: w, shape: s}
	}
	return rows
}

// engineLayers are the rows as float32 layers for batch.Quantize.
func engineLayers(rows []inRow) []batch.Layer {
	var ls []batch.Layer
	for _, r := range rows {
		shape := []int{len(r.weights)}
		if r.shape != nil {
			shape = make([]int, len(r.shape))
			for i, d := range r.shape {
				shape[i] = int(d)
			}
		}
		ls = append(ls, batch.Float32Layer(r.name, shape, r.weights))
	}
	return ls
}

// tableResults collects the results of a result table through Results.
func tableResults(t testing.TB, tbl arrow.Table) []QuantizedLayer {
	t.Helper()
	got, err := Results(tbl)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// sameTensors fails unless the layers read back are the engine's results.
func sameTensors(t testing.TB, got []QuantizedLayer, want []*batch.Result) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d layers, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Name != w.Name || !slices.Equal(g.Shape, w.Shape) || g.Bits != w.Bits || g.GroupSize != w.GroupSize || g.Format != w.Format {
			t.Fatalf("layer %d: %s %v %d bits, groups of %d, %v scales; want %s %v %d bits, groups of %d, %v scales",
				i, g.Name, g.Shape, g.Bits, g.GroupSize, g.Format, w.Name, w.Shape, w.Bits, w.GroupSize, w.Format)
		}
		if !bytes.Equal(g.Codes, w.Codes) || !slices.Equal(g.Scales, w.Scales) || !slices.Equal(g.ZeroPoints, w.ZeroPoints) {
			t.Fatalf("layer %s: codes, scales or zero points differ from the engine's", w.Name)
		}
		if g.Cosine != w.Quality.Cosine || g.RMSE != w.Quality.RMSE {
			t.Fatalf("layer %s: cosine %v, rmse %v; want %v, %v", w.Name, g.Cosine, g.RMSE, w.Quality.Cosine, w.Quality.RMSE)
		}
	}
}

// engineResults quantizes layers with batch.Quantize.
func engineResults(t testing.TB, layers []batch.Layer, opts batch.Options) []*batch.Result {
	t.Helper()
	res, err := batch.Quantize(context.Background(), layers, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
