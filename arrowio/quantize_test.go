package arrowio

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/arrowquant/arrowquant/batch"
	"github.com/arrowquant/arrowquant/quant"
)

var testShapes = [][]int64{{64, 96}, {3, 7}, {1000}, {4, 3, 2, 50}, {2, 300}, {17}}

func TestQuantizeGivesTheEngineResultsForEveryInputLayout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		spec    inputSpec
		batches int // record batches the rows are spread over
		shapes  [][]int64
	}{
		{"float32 weights in a list column", inputSpec{kind: plainList}, 1, testShapes},
		{"float32 weights in a large_list column", inputSpec{kind: largeList}, 1, testShapes},
		{"float32 weights in a fixed_size_list column", inputSpec{kind: fixedList}, 1, [][]int64{{8, 16}, {128}, {2, 2, 32}}},
		{"float16 weights in a list column", inputSpec{kind: plainList, f16: true}, 1, testShapes},
		{"float16 weights in a fixed_size_list column", inputSpec{kind: fixedList, f16: true}, 1, [][]int64{{8, 16}, {128}}},
		{"rows spread over three record batches", inputSpec{kind: plainList}, 3, testShapes},
		{"float16 rows spread over two record batches", inputSpec{kind: largeList, f16: true}, 2, testShapes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows := randomRows(1, tc.spec.f16, tc.shapes...)
			var batches [][]inRow
			per := (len(rows) + tc.batches - 1) / tc.batches
			for i := 0; i < len(rows); i += per {
				batches = append(batches, rows[i:min(i+per, len(rows))])
			}
			tbl := inputTable(t, tc.spec, batches...)
			for _, opts := range []batch.Options{
				{},
				{Bits: 2, GroupSize: 32, Workers: 3, ChunkElements: 100},
				{Bits: 8, GroupSize: 7, Scales: quant.Float32},
			} {
				out, err := Quantize(context.Background(), tbl, opts)
				if err != nil {
					t.Fatal(err)
				}
				want := engineResults(t, engineLayers(rows), opts)
				if out.NumRows() != int64(len(want)) || !out.Schema().Equal(ResultSchema()) {
					t.Fatalf("table of %d rows with schema %v", out.NumRows(), out.Schema())
				}
				sameTensors(t, tableResults(t, out), want)
				out.Release()
			}
		})
	}
}

func TestQuantizeTakesTheShapeFromTheWeightsWhenShapeIsAbsentOrNull(t *testing.T) {
	rows := randomRows(2, false, []int64{300}, []int64{5, 40})
	rows[1].shape = nil
	for _, spec := range []inputSpec{{}, {noShape: true}} {
		out, err := Quantize(context.Background(), inputTable(t, spec, rows), batch.Options{})
		if err != nil {
			t.Fatal(err)
		}
		got := tableResults(t, out)
		out.Release()
		if got[0].Shape[0] != 300 || len(got[1].Shape) != 1 || got[1].Shape[0] != 200 {
			t.Fatalf("shapes %v and %v, want [300] and [200]", got[0].Shape, got[1].Shape)
		}
	}
}

func TestQuantizeSortsTheLayersByName(t *testing.T) {
	rows := randomRows(3, false, []int64{10}, []int64{20}, []int64{30})
	rows[0].name, rows[1].name, rows[2].name = "z", "a", "m"
	out, err := Quantize(context.Background(), inputTable(t, inputSpec{}, rows[:1], rows[1:]), batch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	var names []string
	for _, l := range tableResults(t, out) {
		names = append(names, l.Name)
	}
	if strings.Join(names, ",") != "a,m,z" {
		t.Fatalf("names %v, want a, m, z", names)
	}
}

func TestQuantizeRefusesInvalidOptionsBeforeReadingTheTable(t *testing.T) {
	tbl := inputTable(t, inputSpec{}, []inRow{{nullName: true, weights: []float32{1}}})
	_, err := Quantize(context.Background(), tbl, batch.Options{Bits: 3})
	var oe *quant.OptionError
	if !errors.As(err, &oe) || oe.Option != "bit width" {
		t.Fatalf("got %v, want the engine's bit width OptionError alone", err)
	}
	var re *RowError
	if errors.As(err, &re) {
		t.Fatalf("the table was read despite invalid options: %v", err)
	}
}

func TestQuantizeStopsWhenTheContextIsCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Quantize(ctx, inputTable(t, inputSpec{}, randomRows(4, false, []int64{100})), batch.Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestStreamStopsAtTheFirstEmitError(t *testing.T) {
	boom := errors.New("disk full")
	calls := 0
	err := Stream(context.Background(), inputTable(t, inputSpec{}, randomRows(5, false, []int64{10}, []int64{10}, []int64{10})),
		batch.Options{}, func(*batch.Result) error { calls++; return boom })
	if !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("got %v after %d calls, want the emit error after 1", err, calls)
	}
}
