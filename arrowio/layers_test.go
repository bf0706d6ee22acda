package arrowio

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/arrowquant/arrowquant/batch"
	"github.com/arrowquant/arrowquant/quant"
)

func TestLayersViewTheArrowBuffersWithoutCopying(t *testing.T) {
	for _, spec := range []inputSpec{{kind: plainList}, {kind: largeList, f16: true}, {kind: fixedList}} {
		rows := randomRows(6, spec.f16, []int64{4, 8}, []int64{32})
		tbl := inputTable(t, spec, rows)
		tr := array.NewTableReader(tbl, -1)
		layers, release, err := Layers(tr)
		tr.Release()
		if err != nil {
			t.Fatal(err)
		}
		values := tbl.Column(1).Data().Chunk(0).(array.ListLike).ListValues().Data().Buffers()[1].Bytes()
		want := batch.Float32
		if spec.f16 {
			want = batch.Float16
		}
		off := 0
		for i, l := range layers {
			if l.DType != want || unsafe.SliceData(l.Data) != &values[off] {
				t.Fatalf("spec %+v, layer %d: %v data at %p, want %v data at %p in the table's buffer", spec, i, l.DType, unsafe.SliceData(l.Data), want, &values[off])
			}
			off += len(l.Data)
		}
		release()
	}
}

func TestLayersReadASlicedTableAtTheRightOffsets(t *testing.T) {
	rows := randomRows(7, false, []int64{10}, []int64{20}, []int64{30})
	rec := inputRecord(rows, inputSpec{})
	defer rec.Release()
	sliced := rec.NewSlice(1, 3)
	defer sliced.Release()
	rr, _ := array.NewRecordReader(sliced.Schema(), []arrow.RecordBatch{sliced})
	defer rr.Release()
	layers, release, err := Layers(rr)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	for i, l := range layers {
		got := arrow.Float32Traits.CastFromBytes(l.Data)
		w := rows[i+1].weights
		if l.Name != rows[i+1].name || len(got) != len(w) || got[0] != w[0] || got[len(got)-1] != w[len(w)-1] {
			t.Fatalf("layer %d is %s with %d weights, want %s with %d", i, l.Name, len(got), rows[i+1].name, len(w))
		}
	}
}

// TestRowProblemsAreReportedTogetherWithColumnRowAndLayer checks each kind
// of bad row, alone and all at once.
func TestRowProblemsAreReportedTogetherWithColumnRowAndLayer(t *testing.T) {
	good := func(name string, n int) inRow {
		w := make([]float32, n)
		for i := range w {
			w[i] = float32(i) / 10
		}
		return inRow{name: name, weights: w, shape: []int64{int64(n)}}
	}
	nan := good("nan", 50)
	nan.weights[17] = float32(math.NaN())
	inf := good("inf", 50)
	inf.weights[3] = float32(math.Inf(-1))
	cases := []struct {
		name   string
		row    inRow
		layer  string // "" for a row without a name
		column string
		says   string
		is     error // or nil
	}{
		{"a null name", inRow{nullName: true, weights: []float32{1}}, "", colName, "null", nil},
		{"null weights", inRow{name: "nullw", nullWeights: true}, "nullw", colWeights, "null", nil},
		{"a shape that does not match the weights", inRow{name: "shape", weights: make([]float32, 12), shape: []int64{5, 2}}, "shape", colShape, "shape [5 2] holds 10 elements but there are 12 weights", nil},
		{"a negative dimension", inRow{name: "neg", weights: make([]float32, 4), shape: []int64{-2, -2}}, "neg", colShape, "negative", nil},
		{"an empty shape", inRow{name: "scalar", weights: make([]float32, 1), shape: []int64{}}, "scalar", colShape, "empty", nil},
		{"a shape whose product overflows", inRow{name: "huge", weights: make([]float32, 4), shape: []int64{math.MaxInt64, 4}}, "huge", colShape, "more than 2^63", nil},
		{"no weights", inRow{name: "empty", weights: []float32{}, shape: []int64{0}}, "empty", colWeights, "empty", quant.ErrEmpty},
		{"a NaN weight", nan, "nan", colWeights, "NaN at index 17", nil},
		{"an infinite weight", inf, "inf", colWeights, "-Inf at index 3", nil},
	}
	check := func(t *testing.T, err error, row int64, c struct {
		name   string
		row    inRow
		layer  string
		column string
		says   string
		is     error
	}) {
		t.Helper()
		var target error
		if u, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range u.Unwrap() {
				var re *RowError
				if errors.As(e, &re) && re.Row == row {
					target = e
				}
			}
		}
		if target == nil {
			t.Fatalf("no error for row %d in %v", row, err)
		}
		var re *RowError
		errors.As(target, &re)
		var le *batch.LayerError
		named := errors.As(target, &le)
		switch {
		case c.layer == "" && named, c.layer != "" && (!named || le.Layer != c.layer):
			t.Fatalf("row %d: %v: want a LayerError for layer %q", row, target, c.layer)
		case re.Column != c.column:
			t.Fatalf("row %d: column %q, want %q", row, re.Column, c.column)
		case !strings.Contains(target.Error(), c.says) || !strings.Contains(target.Error(), c.column):
			t.Fatalf("row %d: %q does not say %q and name column %q", row, target, c.says, c.column)
		case c.is != nil && !errors.Is(target, c.is):
			t.Fatalf("row %d: %v is not %v", row, target, c.is)
		}
	}
	for _, c := range cases {
		t.Run(c.name+" is reported with its row, column and layer", func(t *testing.T) {
			tbl := inputTable(t, inputSpec{}, []inRow{good("ok.a", 10), c.row, good("ok.b", 10)})
			out, err := Quantize(context.Background(), tbl, batch.Options{})
			if out != nil || err == nil {
				t.Fatalf("got a table and error %v, want no table and an error", err)
			}
			check(t, err, 1, c)
		})
	}
	t.Run("all problems are reported at once, in name order", func(t *testing.T) {
		rows := []inRow{good("ok.a", 10)}
		for _, c := range cases {
			rows = append(rows, c.row)
		}
		tbl := inputTable(t, inputSpec{}, rows[:4], rows[4:])
		_, err := Quantize(context.Background(), tbl, batch.Options{})
		for i, c := range cases {
			check(t, err, int64(i+1), c)
		}
		var last string
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			var le *batch.LayerError
			if errors.As(e, &le) {
				if le.Layer < last {
					t.Fatalf("layer %q reported after %q", le.Layer, last)
				}
				last = le.Layer
			}
		}
	})
	t.Run("with ContinueOnError the good rows are quantized too", func(t *testing.T) {
		rows := []inRow{good("ok.a", 10), good("ok.b", 20)}
		for _, c := range cases {
			rows = append(rows, c.row)
		}
		tbl := inputTable(t, inputSpec{}, rows)
		out, err := Quantize(context.Background(), tbl, batch.Options{ContinueOnError: true})
		if out == nil {
			t.Fatalf("no table: %v", err)
		}
		defer out.Release()
		for i, c := range cases {
			check(t, err, int64(i+2), c)
		}
		got := tableResults(t, out)
		if len(got) != 2 || got[0].Name != "ok.a" || got[1].Name != "ok.b" {
			t.Fatalf("%d layers, want ok.a and ok.b", len(got))
		}
	})
}

func TestDuplicateNamesAreRefusedAcrossRecordBatches(t *testing.T) {
	rows := randomRows(8, false, []int64{10}, []int64{10}, []int64{10})
	rows[2].name = rows[0].name
	tbl := inputTable(t, inputSpec{}, rows[:2], rows[2:])
	out, err := Quantize(context.Background(), tbl, batch.Options{ContinueOnError: true})
	if out == nil {
		t.Fatal(err)
	}
	defer out.Release()
	var le *batch.LayerError
	var re *RowError
	if !errors.As(err, &le) || le.Layer != rows[0].name || !errors.As(err, &re) || re.Row != 2 || re.Column != colName ||
		!strings.Contains(err.Error(), "first used in row 0") {
		t.Fatalf("got %v, want a duplicate error for row 2 naming row 0", err)
	}
	got := tableResults(t, out)
	if len(got) != 1 || got[0].Name != rows[1].name {
		t.Fatalf("%d layers, want only %s: no row of a duplicated name is quantized", len(got), rows[1].name)
	}
}

func TestSchemaProblemsAreColumnErrors(t *testing.T) {
	str := array.NewStringBuilder(memory.DefaultAllocator)
	str.Append("a")
	names := str.NewArray()
	defer names.Release()
	ints := array.NewListBuilder(memory.DefaultAllocator, arrow.PrimitiveTypes.Int32)
	ints.Append(true)
	ints.ValueBuilder().(*array.Int32Builder).Append(1)
	intLists := ints.NewArray()
	defer intLists.Release()
	f64 := array.NewFloat64Builder(memory.DefaultAllocator)
	f64.Append(1)
	float64s := f64.NewArray()
	defer float64s.Release()
	weights := weightsArray([]inRow{{weights: []float32{1}}}, inputSpec{})
	defer weights.Release()

	for _, c := range []struct {
		name   string
		cols   map[string]arrow.Array
		order  []string
		column string
		says   string
	}{
		{"a missing layer_name column", nil, []string{colWeights}, colName, "is missing (the table has weights)"},
		{"a missing weights column", nil, []string{colName}, colWeights, "is missing"},
		{"weights that are not a list", map[string]arrow.Array{colWeights: float64s}, []string{colName, colWeights}, colWeights, "want a list"},
		{"weights of integers", map[string]arrow.Array{colWeights: intLists}, []string{colName, colWeights}, colWeights, "float32 or float16"},
		{"a layer_name column of numbers", map[string]arrow.Array{colName: float64s}, []string{colName, colWeights}, colName, "want utf8"},
		{"a shape of int32", map[string]arrow.Array{colShape: intLists}, []string{colName, colWeights, colShape}, colShape, "list<int64>"},
		{"a weights column given twice", nil, []string{colName, colWeights, colWeights}, colWeights, "appears 2 times"},
	} {
		t.Run(c.name+" is a ColumnError", func(t *testing.T) {
			var fields []arrow.Field
			var cols []arrow.Array
			for _, name := range c.order {
				a := map[string]arrow.Array{colName: names, colWeights: weights}[name]
				if x, ok := c.cols[name]; ok {
					a = x
				}
				fields = append(fields, arrow.Field{Name: name, Type: a.DataType(), Nullable: true})
				cols = append(cols, a)
			}
			rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, 1)
			tbl := array.NewTableFromRecords(rec.Schema(), []arrow.RecordBatch{rec})
			rec.Release()
			defer tbl.Release()
			_, err := Quantize(context.Background(), tbl, batch.Options{ContinueOnError: true})
			var ce *ColumnError
			if !errors.As(err, &ce) || ce.Column != c.column || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("got %v, want a ColumnError for %q saying %q", err, c.column, c.says)
			}
		})
	}
}

func TestNullWeightElementsAreRefused(t *testing.T) {
	child := array.NewData(arrow.PrimitiveTypes.Float32, 3,
		[]*memory.Buffer{validityOf(3, []int{1}), memory.NewBufferBytes(arrow.Float32Traits.CastToBytes([]float32{1, 0, 3}))}, nil, 1, 0)
	d := array.NewData(arrow.ListOf(arrow.PrimitiveTypes.Float32), 1,
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes([]int32{0, 3}))}, []arrow.ArrayData{child}, 0, 0)
	weights := array.MakeFromData(d)
	d.Release()
	child.Release()
	defer weights.Release()
	names := nameArray([]inRow{{name: "holes"}})
	defer names.Release()
	sc := arrow.NewSchema([]arrow.Field{{Name: colName, Type: names.DataType()}, {Name: colWeights, Type: weights.DataType()}}, nil)
	rec := array.NewRecordBatch(sc, []arrow.Array{names, weights}, 1)
	rr, _ := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
	rec.Release()
	defer rr.Release()
	layers, release, err := Layers(rr)
	defer release()
	var re *RowError
	if len(layers) != 0 || !errors.As(err, &re) || re.Column != colWeights || !strings.Contains(err.Error(), "weight 1 is null") {
		t.Fatalf("got %d layers and %v, want a RowError for weight 1", len(layers), err)
	}
}
