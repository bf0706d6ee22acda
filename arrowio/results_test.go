package arrowio

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/arrowquant/arrowquant/batch"
	"github.com/arrowquant/arrowquant/quant"
)

// tableOf makes a result table of the given results, written without the
// checks of a Writer, with column col of row nullRow made null if col ≥ 0.
func tableOf(t *testing.T, results []*batch.Result, nullRow, col int, meta *arrow.Metadata) arrow.Table {
	t.Helper()
	sc := ResultSchema()
	if meta != nil {
		sc = arrow.NewSchema(sc.Fields(), meta)
	}
	var recs []arrow.RecordBatch
	for i, r := range results {
		rec := resultRecord(r)
		if i == nullRow && col >= 0 {
			nulls := array.MakeArrayOfNull(memory.DefaultAllocator, sc.Field(col).Type, 1)
			cols := append([]arrow.Array{}, rec.Columns()...)
			cols[col] = nulls
			old := rec
			rec = array.NewRecordBatch(sc, cols, 1)
			old.Release()
			nulls.Release()
		} else if meta != nil {
			cols := rec.Columns()
			old := rec
			rec = array.NewRecordBatch(sc, cols, 1)
			old.Release()
		}
		recs = append(recs, rec)
	}
	tbl := array.NewTableFromRecords(sc, recs)
	for _, r := range recs {
		r.Release()
	}
	t.Cleanup(tbl.Release)
	return tbl
}

func TestCorruptedResultRowsAreReportedWithRowColumnAndLayer(t *testing.T) {
	base := mixedResults(t)[:3]
	tamper := func(f func(r *batch.Result)) []*batch.Result {
		out := make([]*batch.Result, len(base))
		for i, r := range base {
			c := *r
			c.Shape = append([]int{}, r.Shape...)
			c.Codes = append([]byte{}, r.Codes...)
			c.Scales = append([]float32{}, r.Scales...)
			c.ZeroPoints = append([]float32{}, r.ZeroPoints...)
			out[i] = &c
		}
		f(out[1])
		return out
	}
	for _, c := range []struct {
		name    string
		results []*batch.Result
		nullCol int
		column  string
		says    string
	}{
		{"codes one byte short", tamper(func(r *batch.Result) { r.Codes = r.Codes[1:] }), -1, colCodes, "bytes of codes"},
		{"a scale missing", tamper(func(r *batch.Result) { r.Scales = r.Scales[1:] }), -1, colScales, "scales and"},
		{"a zero point too many", tamper(func(r *batch.Result) { r.ZeroPoints = append(r.ZeroPoints, 0) }), -1, colScales, "zero points"},
		{"a bit width of 3", tamper(func(r *batch.Result) { r.Bits = 3 }), -1, colBits, "bit width"},
		{"a bit width of 200", tamper(func(r *batch.Result) { r.Bits = 200 }), -1, colBits, "bit width 200"},
		{"a group size of 0", tamper(func(r *batch.Result) { r.GroupSize = 0 }), -1, colGroupSize, "group size"},
		{"a shape that does not match the codes", tamper(func(r *batch.Result) { r.Shape[0]++ }), -1, colCodes, "bytes of codes"},
		{"a negative dimension", tamper(func(r *batch.Result) { r.Shape[0] = -r.Shape[0] }), -1, colShape, "negative"},
		{"an empty shape", tamper(func(r *batch.Result) { r.Shape = nil }), -1, colShape, "rank 0"},
		{"a huge last dimension", tamper(func(r *batch.Result) { r.Shape = []int{1, math.MaxInt64 / 4} }), -1, colShape, "too large"},
		{"a NaN scale", tamper(func(r *batch.Result) { r.Scales[2] = float32(math.NaN()) }), -1, colScales, "scale 2 is NaN"},
		{"a zero scale", tamper(func(r *batch.Result) { r.Scales[0] = 0 }), -1, colScales, "positive"},
		{"an infinite zero point", tamper(func(r *batch.Result) { r.ZeroPoints[1] = float32(math.Inf(1)) }), -1, colZeroPoints, "zero point 1 is +Inf"},
		{"a duplicate name", tamper(func(r *batch.Result) { r.Name = base[0].Name }), -1, colName, "first used in row 0"},
		{"null codes", base, iCodes, colCodes, "null"},
		{"a null shape", base, iShape, colShape, "null"},
		{"a null rmse", base, iRMSE, colRMSE, "null"},
	} {
		t.Run(c.name+" is a row error", func(t *testing.T) {
			_, err := Results(tableOf(t, c.results, 1, c.nullCol, nil))
			var re *RowError
			var le *batch.LayerError
			if !errors.As(err, &re) || re.Row != 1 || re.Column != c.column || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("got %v, want a RowError for row 1, column %q saying %q", err, c.column, c.says)
			}
			if !errors.As(err, &le) || le.Layer != c.results[1].Name {
				t.Fatalf("got %v, want it to name layer %q", err, c.results[1].Name)
			}
		})
	}
	t.Run("a null name is a row error without a layer", func(t *testing.T) {
		_, err := Results(tableOf(t, base, 2, iName, nil))
		var re *RowError
		var le *batch.LayerError
		if !errors.As(err, &re) || re.Row != 2 || re.Column != colName || errors.As(err, &le) {
			t.Fatalf("got %v, want a bare RowError for row 2", err)
		}
	})
}

func TestResultsRefuseAnotherFormatVersion(t *testing.T) {
	md := arrow.NewMetadata([]string{VersionKey}, []string{"2"})
	_, err := Results(tableOf(t, mixedResults(t)[:1], -1, -1, &md))
	var ue *UnsupportedError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `"2"`) {
		t.Fatalf("got %v, want an UnsupportedError naming version 2", err)
	}
}

func TestResultsTellTheScaleFormat(t *testing.T) {
	results := mixedResults(t)
	var f16, f32 int
	for _, r := range results {
		if r.Format == 0 {
			f16++
		} else {
			f32++
		}
	}
	if f16 == 0 || f32 == 0 {
		t.Fatalf("the test data has %d float16 and %d float32 layers, want some of each", f16, f32)
	}
	sameTensors(t, tableResults(t, tableOf(t, results, -1, -1, nil)), results)
}

func TestResultsAcceptASchemaWithoutMetadataOrWithMissingColumnsNamed(t *testing.T) {
	md := arrow.NewMetadata(nil, nil)
	if _, err := Results(tableOf(t, mixedResults(t)[:1], -1, -1, &md)); err != nil {
		t.Fatalf("a table without the version key: %v", err)
	}
	in := inputTable(t, inputSpec{}, randomRows(1, false, []int64{4}))
	_, err := Results(in)
	var ce *ColumnError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), `column "bit_width" is missing`) {
		t.Fatalf("an input table read as results gives %v, want ColumnErrors", err)
	}
}

// TestTheWorkedExampleOfTheFormatDocIsWhatTheWriterWrites keeps the worked
// example of docs/FORMAT.md true.
func TestTheWorkedExampleOfTheFormatDocIsWhatTheWriterWrites(t *testing.T) {
	in := inputTable(t, inputSpec{}, []inRow{{name: "w", weights: []float32{0, 0.1, 0.3, -1, 0.5, 1}, shape: []int64{2, 3}}})
	out, err := Quantize(context.Background(), in, batch.Options{Bits: 4, GroupSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	l := tableResults(t, out)[0]
	half := func(v []float32) []uint16 {
		h := make([]uint16, len(v))
		for i, x := range v {
			h[i] = quant.Float32ToHalf(x)
		}
		return h
	}
	x, _ := quant.Dequantize(&l.Tensor)
	got := fmt.Sprintf("% x %04x %04x %.9g %.9g %v", l.Codes, half(l.Scales), half(l.ZeroPoints), x, l.Cosine, l.RMSE)
	want := "50 0f b0 0f [251f 3045] [168f 4780] [-3.20312247e-05 0.0999893323 0.300032049 -1.00067139 0.46697998 1.00067139] 0.999785944 0.013485951803817925"
	if got != want || l.Format != quant.Float16 {
		t.Fatalf("the example is\n%s (%v scales)\nthe document says\n%s (f16)", got, l.Format, want)
	}
}
