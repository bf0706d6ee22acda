package batch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arrowquant/arrowquant/quant"
)

func randomLayer(r *rand.Rand, name string, shape ...int) (Layer, []float32) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 0.05)
	}
	return Float32Layer(name, shape, x), x
}

// mixedBatch has layers of several ranks and sizes, one far larger than the
// rest, and names given out of order.
func mixedBatch(seed uint64) []Layer {
	r := rand.New(rand.NewPCG(seed, 99))
	var layers []Layer
	for _, s := range []struct {
		name  string
		shape []int
	}{
		{"z.big", []int{300, 1000}}, {"a.small", []int{3, 7}}, {"m.conv", []int{8, 4, 3, 3}},
		{"b.vector", []int{5000}}, {"c.long_row", []int{2, 100000}}, {"d.odd", []int{13, 257}},
	} {
		l, _ := randomLayer(r, s.name, s.shape...)
		layers = append(layers, l)
	}
	return layers
}

func sameResults(t *testing.T, a, b []*Result) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d results vs %d", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Name != y.Name || !slices.Equal(x.Shape, y.Shape) || x.Format != y.Format || x.Bits != y.Bits || x.GroupSize != y.GroupSize {
			t.Fatalf("result %d: header %s/%v/%v vs %s/%v/%v", i, x.Name, x.Shape, x.Format, y.Name, y.Shape, y.Format)
		}
		if !bytes.Equal(x.Codes, y.Codes) || !slices.Equal(x.Scales, y.Scales) || !slices.Equal(x.ZeroPoints, y.ZeroPoints) {
			t.Fatalf("layer %s: codes, scales or zero points differ", x.Name)
		}
		if x.Quality != y.Quality {
			t.Fatalf("layer %s: quality %+v vs %+v", x.Name, x.Quality, y.Quality)
		}
	}
}

func TestResultsAreByteIdenticalForAnyNumberOfWorkers(t *testing.T) {
	layers := mixedBatch(1)
	for _, bits := range []int{2, 4, 8} {
		want, err := Quantize(context.Background(), layers, Options{Bits: bits, Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, workers := range []int{2, 3, 8} {
			for _, chunk := range []int{0, 1000} { // the default and a tiny chunk that splits long rows
				got, err := Quantize(context.Background(), layers, Options{Bits: bits, Workers: workers, ChunkElements: chunk})
				if err != nil {
					t.Fatal(err)
				}
				if chunk == 0 {
					sameResults(t, want, got)
					continue
				}
				// Another chunk size may add the float64 sums in another order;
				// everything else must still match exactly.
				for i := range got {
					if !bytes.Equal(got[i].Codes, want[i].Codes) || !slices.Equal(got[i].Scales, want[i].Scales) {
						t.Fatalf("%d bits, %d workers, chunk %d: layer %s differs", bits, workers, chunk, got[i].Name)
					}
					if math.Abs(got[i].Quality.Cosine-want[i].Quality.Cosine) > 1e-12 {
						t.Fatalf("cosine %v vs %v", got[i].Quality.Cosine, want[i].Quality.Cosine)
					}
				}
			}
		}
	}
}

func TestBatchMatchesQuantizingEachLayerAlone(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	layer, x := randomLayer(r, "w", 64, 3000)
	alone, quality, err := quant.Quantize(x, layer.Shape, quant.Params{Bits: 4, GroupSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Quantize(context.Background(), []Layer{layer}, Options{Bits: 4, GroupSize: 64, Workers: 2, ChunkElements: 3000})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res[0].Codes, alone.Codes) || !slices.Equal(res[0].Scales, alone.Scales) || !slices.Equal(res[0].ZeroPoints, alone.ZeroPoints) {
		t.Fatal("batch result differs from quant.Quantize")
	}
	if math.Abs(res[0].Quality.RMSE-quality.RMSE) > 1e-12*quality.RMSE {
		t.Fatalf("RMSE %v vs %v", res[0].Quality.RMSE, quality.RMSE)
	}
}

func TestResultsComeSortedByName(t *testing.T) {
	res, err := Quantize(context.Background(), mixedBatch(2), Options{})
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(res))
	for i, r := range res {
		names[i] = r.Name
	}
	if !slices.IsSorted(names) || len(names) != 6 {
		t.Fatalf("names %v", names)
	}
}

func TestEmptyBatchGivesNoResults(t *testing.T) {
	calls := 0
	res, err := Quantize(context.Background(), nil, Options{Progress: func(string, float64) { calls++ }})
	if err != nil || len(res) != 0 || calls != 0 {
		t.Fatalf("res %v err %v calls %d", res, err, calls)
	}
}

func TestHalfAndBFloat16SourcesDecodeInsideTheEngine(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	_, x := randomLayer(r, "x", 40, 300)
	half, bf := make([]byte, 2*len(x)), make([]byte, 2*len(x))
	want16, wantBF := make([]float32, len(x)), make([]float32, len(x))
	for i, v := range x {
		h, b := quant.Float32ToHalf(v), quant.Float32ToBFloat16(v)
		half[2*i], half[2*i+1] = byte(h), byte(h>>8)
		bf[2*i], bf[2*i+1] = byte(b), byte(b>>8)
		want16[i], wantBF[i] = quant.HalfToFloat32(h), quant.BFloat16ToFloat32(b)
	}
	// An odd offset makes the float32 data unaligned, which takes the copying path.
	unaligned := make([]byte, 4*len(x)+1)[1:]
	copy(unaligned, float32Bytes(x))
	layers := []Layer{
		{Name: "f16", Shape: []int{40, 300}, DType: Float16, Data: half},
		{Name: "bf16", Shape: []int{40, 300}, DType: BFloat16, Data: bf},
		{Name: "unaligned", Shape: []int{40, 300}, DType: Float32, Data: unaligned},
	}
	res, err := Quantize(context.Background(), layers, Options{Workers: 2, ChunkElements: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		res *Result
		x   []float32
	}{{res[0], wantBF}, {res[1], want16}, {res[2], x}} {
		want, _, _ := quant.Quantize(c.x, []int{40, 300}, quant.Params{})
		if !bytes.Equal(c.res.Codes, want.Codes) || !slices.Equal(c.res.Scales, want.Scales) {
			t.Fatalf("layer %s differs from quantizing its decoded values", c.res.Name)
		}
	}
	if res[1].SourceDType != Float16 || res[0].SourceDType != BFloat16 {
		t.Fatal("source dtypes not recorded")
	}
}

func TestALayerThatNeedsFloat32ScalesLateIsRedoneWhole(t *testing.T) {
	// Ordinary rows, then one far row whose zero point float16 cannot hold:
	// every chunk must end up with float32 scales, the same as alone.
	r := rand.New(rand.NewPCG(9, 9))
	layer, x := randomLayer(r, "late", 50, 256)
	for i := 49 * 256; i < 50*256; i++ {
		x[i] = 1000 + x[i]
	}
	want, _, err := quant.Quantize(x, layer.Shape, quant.Params{})
	if err != nil {
		t.Fatal(err)
	}
	if want.Format != quant.Float32 {
		t.Fatal("test input does not need float32")
	}
	for _, workers := range []int{1, 2, 8} {
		res, err := Quantize(context.Background(), []Layer{layer}, Options{Workers: workers, ChunkElements: 256})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Format != quant.Float32 || !bytes.Equal(res[0].Codes, want.Codes) || !slices.Equal(res[0].Scales, want.Scales) {
			t.Fatalf("%d workers: layer not redone with float32 scales", workers)
		}
	}
}

func TestInvalidOptionsFailBeforeAnyWork(t *testing.T) {
	layer, _ := randomLayer(rand.New(rand.NewPCG(1, 1)), "a", 4, 4)
	tests := []struct {
		name   string
		layers []Layer
		opts   Options
		want   string
	}{
		{"bit width 3", []Layer{layer}, Options{Bits: 3}, "invalid bit width 3: must be 2, 4 or 8"},
		{"negative group size", []Layer{layer}, Options{GroupSize: -2}, "invalid group size -2: must be at least 1"},
		{"negative workers", []Layer{layer}, Options{Workers: -1}, "invalid worker count -1"},
		{"duplicate names", []Layer{layer, layer}, Options{}, `invalid layer name "a": appears more than once`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			tt.opts.Progress = func(string, float64) { called = true }
			res, err := Quantize(context.Background(), tt.layers, tt.opts)
			var oe *quant.OptionError
			if err == nil || !errors.As(err, &oe) || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("got %v, want an *OptionError starting %q", err, tt.want)
			}
			if res != nil || called {
				t.Fatal("work was done despite invalid options")
			}
		})
	}
}

// badBatch has two good layers and four bad ones, given out of order.
func badBatch() []Layer {
	r := rand.New(rand.NewPCG(4, 4))
	good1, _ := randomLayer(r, "good.1", 8, 64)
	good2, _ := randomLayer(r, "good.2", 200, 300)
	nan, xn := randomLayer(r, "bad.nan", 10, 100)
	xn[537] = float32(math.NaN())
	xn[900] = float32(math.Inf(1))
	inf, xi := randomLayer(r, "bad.inf", 3, 5)
	xi[14] = float32(math.Inf(-1))
	return []Layer{
		good2, nan,
		{Name: "bad.shape", Shape: []int{3, 3}, Data: make([]byte, 4*8)},
		good1, inf,
		{Name: "bad.empty", Shape: []int{0, 3}},
		{Name: "bad.dtype", Shape: []int{2}, DType: DType(9), Data: make([]byte, 8)},
	}
}

func TestEveryBadLayerIsNamedInOneErrorSortedByName(t *testing.T) {
	for _, workers := range []int{1, 2} {
		res, err := Quantize(context.Background(), badBatch(), Options{Workers: workers, ChunkElements: 100})
		if res != nil {
			t.Fatal("results returned without ContinueOnError")
		}
		var names []string
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			var le *LayerError
			if !errors.As(e, &le) {
				t.Fatalf("%v is not a *LayerError", e)
			}
			names = append(names, le.Layer)
		}
		want := []string{"bad.dtype", "bad.empty", "bad.inf", "bad.nan", "bad.shape"}
		if !slices.Equal(names, want) {
			t.Fatalf("failing layers %v, want %v", names, want)
		}
		var nf *quant.NonFiniteError
		if !errors.As(err, &nf) || nf.Index != 14 {
			t.Fatalf("first non-finite error %v, want index 14 of bad.inf", nf)
		}
		for _, s := range []string{`layer "bad.nan": non-finite value NaN at index 537`, `layer "bad.empty": empty tensor`,
			`layer "bad.shape": shape [3 3] does not match the data`, `layer "bad.dtype": unsupported dtype DType(9)`} {
			if !strings.Contains(err.Error(), s) {
				t.Fatalf("error lacks %q:\n%v", s, err)
			}
		}
		var dt *DTypeError
		var se *quant.ShapeError
		if !errors.As(err, &dt) || !errors.As(err, &se) || !errors.Is(err, quant.ErrEmpty) {
			t.Fatal("typed causes not reachable with errors.As / errors.Is")
		}
	}
}

func TestContinueOnErrorReturnsTheGoodLayersAndNamesTheBad(t *testing.T) {
	res, err := Quantize(context.Background(), badBatch(), Options{ContinueOnError: true, Workers: 2, ChunkElements: 100})
	if err == nil || !strings.Contains(err.Error(), "bad.nan") || strings.Contains(err.Error(), "good") {
		t.Fatalf("error %v", err)
	}
	if len(res) != 2 || res[0].Name != "good.1" || res[1].Name != "good.2" {
		t.Fatalf("results %v", res)
	}
	// Alone, in one chunk, its float64 sums are added in another order.
	alone, _ := Quantize(context.Background(), []Layer{badBatch()[0]}, Options{})
	if q, want := res[1].Quality, alone[0].Quality; math.Abs(q.RMSE-want.RMSE) > 1e-12*want.RMSE || math.Abs(q.Cosine-want.Cosine) > 1e-12 {
		t.Fatalf("quality %+v, alone %+v", q, want)
	}
	alone[0].Quality = res[1].Quality
	sameResults(t, res[1:], alone)
}

func TestProgressIsOrderedMonotonicAndEndsAtOne(t *testing.T) {
	layers := append(mixedBatch(3), Layer{Name: "bad", Shape: []int{2}})
	var inCall atomic.Int32
	var fractions []float64
	seen := map[string]bool{}
	_, err := Quantize(context.Background(), layers, Options{Workers: 4, ContinueOnError: true, ChunkElements: 500,
		Progress: func(name string, f float64) {
			if inCall.Add(1) != 1 {
				t.Error("progress calls overlap")
			}
			time.Sleep(time.Millisecond)
			fractions = append(fractions, f)
			seen[name] = true
			inCall.Add(-1)
		}})
	if err == nil {
		t.Fatal("the bad layer was not reported")
	}
	if len(fractions) != len(layers) || len(seen) != len(layers) {
		t.Fatalf("%d calls for %d layers", len(fractions), len(layers))
	}
	if !slices.IsSorted(fractions) || fractions[len(fractions)-1] != 1.0 {
		t.Fatalf("fractions %v", fractions)
	}
}

func TestAPanickingProgressCallbackDoesNotStopTheBatch(t *testing.T) {
	before := runtime.NumGoroutine()
	res, err := Quantize(context.Background(), mixedBatch(4), Options{Progress: func(string, float64) { panic("boom") }})
	if err != nil || len(res) != 6 {
		t.Fatalf("res %d err %v", len(res), err)
	}
	waitForGoroutines(t, before)
}

func TestCancellationStopsPromptlyAndLeavesNoGoroutine(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	var layers []Layer
	for i := range 40 {
		l, _ := randomLayer(r, string(rune('a'+i%26))+string(rune('a'+i/26)), 256, 1024)
		layers = append(layers, l)
	}
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	var cancelledAt time.Time
	// Cancelled from a worker, after its third chunk, so that the workers
	// cannot finish everything before the cancellation reaches them however
	// the goroutines are scheduled.
	var chunks atomic.Int32
	res, err := Quantize(ctx, layers, Options{Workers: 2, ChunkElements: 1 << 16,
		Progress: func(string, float64) { calls.Add(1) },
		Advance: func(int) {
			if chunks.Add(1) == 3 {
				cancelledAt = time.Now()
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) || res != nil {
		t.Fatalf("res %d err %v", len(res), err)
	}
	if calls.Load() >= 40 {
		t.Fatal("every layer was quantized despite the cancellation")
	}
	if d := time.Since(cancelledAt); d > 2*time.Second {
		t.Fatalf("took %v to return after cancel", d)
	}
	waitForGoroutines(t, before)
}

func TestAnAlreadyCancelledContextDoesNoWork(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Quantize(ctx, mixedBatch(5), Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
}

func TestStreamEmitsInNameOrderWithinTheWindow(t *testing.T) {
	layers := mixedBatch(6)
	want, _ := Quantize(context.Background(), layers, Options{})
	var got []*Result
	err := Stream(context.Background(), layers, Options{Workers: 3, MaxPending: 1 << 10}, func(r *Result) error {
		got = append(got, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sameResults(t, want, got)
}

func TestStreamStopsOnAnEmitError(t *testing.T) {
	before := runtime.NumGoroutine()
	stop := errors.New("disk full")
	n := 0
	err := Stream(context.Background(), mixedBatch(7), Options{Workers: 2}, func(r *Result) error {
		n++
		return stop
	})
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("err %v after %d emits", err, n)
	}
	waitForGoroutines(t, before)
}

func waitForGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines left over (%d before):\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLayerErrorsTellsLayerProblemsFromTheRest(t *testing.T) {
	a, b := &LayerError{Layer: "a", Err: quant.ErrEmpty}, &LayerError{Layer: "b", Err: quant.ErrEmpty}
	tests := []struct {
		name string
		err  error
		want int // -1 for nil
	}{
		{"nil has none", nil, -1},
		{"one layer error", a, 1},
		{"joined layer errors keep their order", errors.Join(a, b), 2},
		{"a cancellation is not a layer error", context.Canceled, -1},
		{"a mixture is not only layer errors", errors.Join(a, context.Canceled), -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := LayerErrors(tt.err)
			if (tt.want < 0) != (got == nil) || tt.want >= 0 && len(got) != tt.want {
				t.Fatalf("got %v", got)
			}
			if tt.want == 2 && (got[0] != a || got[1] != b) {
				t.Fatal("order lost")
			}
		})
	}
}

func TestResultsGoStraightIntoCallerBuffers(t *testing.T) {
	layer, _ := randomLayer(rand.New(rand.NewPCG(2, 2)), "w", 30, 500)
	want, err := Quantize(context.Background(), []Layer{layer}, Options{Workers: 2, ChunkElements: 1000})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := quant.NewLayout(layer.Shape, quant.Params{})
	dest := &Destination{Codes: make([]byte, l.CodesLen()), Scales: make([]float32, l.ParamsLen()), ZeroPoints: make([]float32, l.ParamsLen())}
	for i := range dest.Codes {
		dest.Codes[i] = 0xAA // every byte must be overwritten, padding included
	}
	layer.Dest = dest
	got, err := Quantize(context.Background(), []Layer{layer}, Options{Workers: 2, ChunkElements: 1000})
	if err != nil {
		t.Fatal(err)
	}
	sameResults(t, want, got)
	if &got[0].Codes[0] != &dest.Codes[0] || &got[0].Scales[0] != &dest.Scales[0] {
		t.Fatal("the result does not share the destination")
	}
	layer.Dest = &Destination{Codes: dest.Codes[1:], Scales: dest.Scales, ZeroPoints: dest.ZeroPoints}
	_, err = Quantize(context.Background(), []Layer{layer}, Options{})
	var le *LayerError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "destination holds") {
		t.Fatalf("a short destination: %v", err)
	}
}

func TestAdvanceCountsEveryElementOnce(t *testing.T) {
	layers := mixedBatch(9)
	var want int64
	for _, l := range layers {
		want += int64(len(l.Data) / 4)
	}
	// Rows of 256 with a late outlier force the float32 redo of some spans,
	// which must not be counted twice.
	late, x := randomLayer(rand.New(rand.NewPCG(3, 4)), "late", 40, 256)
	for i := 39 * 256; i < 40*256; i++ {
		x[i] += 1000
	}
	layers = append(layers, late)
	want += 40 * 256
	var got atomic.Int64
	if _, err := Quantize(context.Background(), layers, Options{Workers: 3, ChunkElements: 700, Advance: func(n int) { got.Add(int64(n)) }}); err != nil {
		t.Fatal(err)
	}
	if got.Load() != want {
		t.Fatalf("Advance counted %d elements, want %d", got.Load(), want)
	}
}

// SkipQuality must change nothing but Quality, which it leaves zero: the same
// codes, scales, zero points and formats, the same errors, on every number of
// workers and chunk size, including layers redone with float32 scales after
// a late chunk found float16 insufficient, and bad layers.
func TestSkipQualityChangesOnlyTheQuality(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 13))
	late, x := randomLayer(r, "late", 50, 256)
	for i := 49 * 256; i < 50*256; i++ {
		x[i] += 1000
	}
	sets := map[string][]Layer{
		"mixed":      append(mixedBatch(13), late),
		"bad layers": badBatch(),
	}
	for name, layers := range sets {
		for _, bits := range []int{2, 4, 8} {
			for _, workers := range []int{1, 2, 3} {
				for _, chunk := range []int{0, 700} {
					opts := Options{Bits: bits, Workers: workers, ChunkElements: chunk, ContinueOnError: true}
					want, wantErr := Quantize(context.Background(), layers, opts)
					opts.SkipQuality = true
					got, gotErr := Quantize(context.Background(), layers, opts)
					if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
						t.Fatalf("%s, %d bits, %d workers, chunk %d: error %v, want %v", name, bits, workers, chunk, gotErr, wantErr)
					}
					if len(want) == 0 {
						t.Fatalf("%s: no results to compare", name)
					}
					for _, res := range got {
						if res.Quality != (quant.Quality{}) {
							t.Fatalf("%s: layer %s has quality %+v with SkipQuality", name, res.Name, res.Quality)
						}
					}
					for _, res := range want {
						res.Quality = quant.Quality{}
					}
					sameResults(t, want, got)
				}
			}
		}
	}
}

// copyResult copies what emit must not keep under RecycleResults.
func copyResult(r *Result) *Result {
	c := *r
	c.Codes, c.Scales, c.ZeroPoints = bytes.Clone(r.Codes), slices.Clone(r.Scales), slices.Clone(r.ZeroPoints)
	return &c
}

// TestRecycledResultsAreIdenticalAndReused streams layers of mixed sizes,
// large before small so that recycled memory holds another layer's bytes,
// with odd widths whose last byte has padding bits, a layer that switches
// to float32 scales late, and bad layers: the emitted results must equal
// Quantize's, and memory must actually come round again.
func TestRecycledResultsAreIdenticalAndReused(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 15))
	late, x := randomLayer(r, "e.late", 50, 256)
	for i := 49 * 256; i < 50*256; i++ {
		x[i] += 1000
	}
	layers := append(mixedBatch(14), late)
	for i := range 12 {
		l, _ := randomLayer(r, fmt.Sprintf("f.%02d", i), 40-i, 33+2*i)
		layers = append(layers, l)
	}
	for name, set := range map[string][]Layer{"mixed": layers, "bad layers": append(badBatch(), layers...)} {
		for _, bits := range []int{2, 4, 8} {
			for _, workers := range []int{1, 2, 3} {
				opts := Options{Bits: bits, Workers: workers, ContinueOnError: true, MaxPending: 64 << 10}
				want, wantErr := Quantize(context.Background(), set, opts)
				opts.RecycleResults = true
				var got []*Result
				seen := map[*byte]bool{}
				err := Stream(context.Background(), set, opts, func(r *Result) error {
					got = append(got, copyResult(r))
					seen[&r.Codes[:1][0]] = true
					return nil
				})
				if fmt.Sprint(err) != fmt.Sprint(wantErr) {
					t.Fatalf("%s, %d bits, %d workers: error %v, want %v", name, bits, workers, err, wantErr)
				}
				sameResults(t, want, got)
				if len(seen) >= len(got) {
					t.Errorf("%s, %d bits, %d workers: %d results in %d distinct buffers: nothing was recycled", name, bits, workers, len(got), len(seen))
				}
			}
		}
	}
}

func TestQuantizeIgnoresRecycleResults(t *testing.T) {
	layers := mixedBatch(16)
	want, err := Quantize(context.Background(), layers, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Quantize(context.Background(), layers, Options{RecycleResults: true, MaxPending: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	sameResults(t, want, got)
	seen := map[*byte]bool{}
	for _, r := range got {
		seen[&r.Codes[0]] = true
	}
	if len(seen) != len(got) {
		t.Errorf("Quantize returned %d results sharing %d buffers", len(got), len(seen))
	}
}
