package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/arrowquant/arrowquant/batch"
	"github.com/arrowquant/arrowquant/quant"
)

// The C entry points are thin: they view the caller's memory and call the
// functions tested here, which take Go slices. The Python tests drive the
// entry points themselves through the built library.

func TestGuardTurnsAPanicIntoAnInternalError(t *testing.T) {
	err := guard(func() error { panic("boom") })
	var ie *internalError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("guard(panic) = %v, want an internal error naming the panic", err)
	}
	if got := codeOf(err); got != codeInternal {
		t.Errorf("code = %d, want codeInternal", got)
	}
}

func TestGuardTurnsAFaultOnABadPointerIntoAnError(t *testing.T) {
	page, err := syscall.Mmap(-1, 0, 4096, syscall.PROT_NONE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skip("mmap:", err)
	}
	defer syscall.Munmap(page)
	err = guard(func() error { return fmt.Errorf("read %d", page[0]) })
	if codeOf(err) != codeInternal {
		t.Fatalf("guard(fault) = %v, want an internal error", err)
	}
}

func TestCodeOfClassifiesEveryKindOfError(t *testing.T) {
	layerErr := &batch.LayerError{Layer: "a", Err: quant.ErrEmpty}
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil is success", nil, codeOK},
		{"one layer error", layerErr, codeLayers},
		{"joined layer errors", errors.Join(layerErr, &batch.LayerError{Layer: "b", Err: quant.ErrEmpty}), codeLayers},
		{"an option error", &quant.OptionError{Option: "bit width"}, codeOption},
		{"cancellation", context.Canceled, codeCancelled},
		{"a malformed call", argErrorf("bad"), codeArgument},
		{"a panic", &internalError{"x"}, codeInternal},
		{"a layer error joined with something else", errors.Join(layerErr, errors.New("other")), codeInternal},
		{"anything unexpected", errors.New("other"), codeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := codeOf(tt.err); got != tt.want {
				t.Errorf("codeOf(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestWriteMessageTruncatesAtACharacterBoundary(t *testing.T) {
	tests := []struct {
		name string
		cap  int
		msg  string
		want string
	}{
		{"a message that fits", 10, "hello", "hello"},
		{"a message one byte too long", 5, "hello", "hell"},
		{"a cut inside a character backs off", 4, "abé", "ab"},
		{"a one-byte buffer holds the NUL", 1, "hello", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte(strings.Repeat("x", tt.cap))
			writeMessage(dst, tt.msg)
			got, _, ok := strings.Cut(string(dst), "\x00")
			if !ok || got != tt.want {
				t.Errorf("writeMessage(%d bytes, %q) wrote %q, want %q", tt.cap, tt.msg, dst, tt.want)
			}
		})
	}
	writeMessage(nil, "ignored") // must not panic
}

// testLayer builds a layerIO with Go buffers sized for bits and groupSize.
func testLayer(name string, shape []int, x []float32, bits, groupSize int) *layerIO {
	l := &layerIO{name: name, shape: shape}
	if len(x) > 0 {
		l.data = unsafe.Slice((*byte)(unsafe.Pointer(&x[0])), 4*len(x))
	}
	if lay, err := quant.NewLayout(shape, quant.Params{Bits: bits, GroupSize: groupSize}); err == nil {
		l.codes = make([]byte, lay.CodesLen())
		l.scales = make([]float32, lay.ParamsLen())
		l.zeroPoints = make([]float32, lay.ParamsLen())
	}
	return l
}

func ramp(n int, seed float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)*0.37+float64(seed))) * (1 + seed)
	}
	return x
}

func TestQuantizeFillsTheSameBytesAsBatch(t *testing.T) {
	for _, bits := range []int{2, 4, 8} {
		for _, gs := range []int{1, 7, 128} {
			t.Run(fmt.Sprintf("%d bits groups of %d", bits, gs), func(t *testing.T) {
				shapes := map[string][]int{"b": {3, 300}, "a": {1000}, "c": {2, 3, 17}}
				var layers []*layerIO
				var ref []batch.Layer
				for _, name := range []string{"b", "a", "c"} {
					n := 1
					for _, d := range shapes[name] {
						n *= d
					}
					x := ramp(n, float32(len(layers)))
					layers = append(layers, testLayer(name, shapes[name], x, bits, gs))
					ref = append(ref, batch.Float32Layer(name, shapes[name], x))
				}
				if err := quantize(context.Background(), layers, request{bits: bits, groupSize: gs}); err != nil {
					t.Fatal(err)
				}
				want, err := batch.Quantize(context.Background(), ref, batch.Options{Bits: bits, GroupSize: gs})
				if err != nil {
					t.Fatal(err)
				}
				for _, w := range want {
					l := layers[slices.IndexFunc(layers, func(l *layerIO) bool { return l.name == w.Name })]
					if l.status != statusOK || !slices.Equal(l.codes, w.Codes) || !slices.Equal(l.scales, w.Scales) || !slices.Equal(l.zeroPoints, w.ZeroPoints) {
						t.Errorf("layer %q: status %d, outputs differ from batch.Quantize", w.Name, l.status)
					}
				}
			})
		}
	}
}

func TestQuantizeSettlesEveryBadLayer(t *testing.T) {
	nan := ramp(100, 1)
	nan[42] = float32(math.NaN())
	inf := ramp(100, 2)
	inf[7] = float32(math.Inf(-1))
	for _, cont := range []bool{false, true} {
		t.Run(fmt.Sprintf("continue on error %v", cont), func(t *testing.T) {
			layers := []*layerIO{
				testLayer("good", []int{10, 10}, ramp(100, 0), 4, 8),
				testLayer("nan", []int{10, 10}, nan, 4, 8),
				testLayer("inf", []int{100}, inf, 4, 8),
				testLayer("empty", []int{0, 4}, nil, 4, 8),
				testLayer("scalar", []int{}, ramp(1, 0), 4, 8),
			}
			err := quantize(context.Background(), layers, request{bits: 4, groupSize: 8, continueOnError: cont})
			if codeOf(err) != codeLayers {
				t.Fatalf("err = %v, want layer errors", err)
			}
			want := []struct {
				status int
				index  int64
			}{{statusNotDone, -1}, {statusNonFinite, 42}, {statusNonFinite, 7}, {statusEmpty, -1}, {statusShape, -1}}
			if cont {
				want[0].status = statusOK
			}
			for i, w := range want {
				if l := layers[i]; l.status != w.status || l.errIndex != w.index {
					t.Errorf("layer %q: status %d index %d (%v), want %d index %d", l.name, l.status, l.errIndex, l.err, w.status, w.index)
				}
			}
		})
	}
}

func TestQuantizeRefusesWhatTheCallerGotWrong(t *testing.T) {
	short := testLayer("short", []int{4, 10}, ramp(40, 0), 4, 8)
	short.codes = short.codes[:len(short.codes)-1]
	tests := []struct {
		name   string
		layers []*layerIO
		req    request
		code   int
	}{
		{"a bit width of 3", []*layerIO{testLayer("a", []int{4}, ramp(4, 0), 4, 8)}, request{bits: 3, groupSize: 8}, codeOption},
		{"a bit width of 0 (no default across the ABI)", []*layerIO{testLayer("a", []int{4}, ramp(4, 0), 4, 8)}, request{bits: 0, groupSize: 8}, codeOption},
		{"a group size of 0", []*layerIO{testLayer("a", []int{4}, ramp(4, 0), 4, 8)}, request{bits: 4, groupSize: 0}, codeOption},
		{"a group size that would overflow quant.Layout", []*layerIO{testLayer("a", []int{4}, ramp(4, 0), 4, 8)}, request{bits: 4, groupSize: math.MaxInt}, codeOption},
		{"a name given twice", []*layerIO{testLayer("a", []int{4}, ramp(4, 0), 4, 8), testLayer("a", []int{4}, ramp(4, 0), 4, 8)}, request{bits: 4, groupSize: 8}, codeOption},
		{"a codes buffer one byte short", []*layerIO{short}, request{bits: 4, groupSize: 8}, codeArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := quantize(context.Background(), tt.layers, tt.req)
			if got := codeOf(err); got != tt.code {
				t.Fatalf("code %d (%v), want %d", got, err, tt.code)
			}
			for _, l := range tt.layers {
				if l.status != statusNotDone {
					t.Errorf("layer %q has status %d after a refused call", l.name, l.status)
				}
			}
		})
	}
}

func TestProgressNamesLayersByIndexAndEndsAtOne(t *testing.T) {
	layers := []*layerIO{
		testLayer("z", []int{50, 40}, ramp(2000, 0), 4, 16),
		testLayer("a", []int{30}, ramp(30, 1), 4, 16),
		testLayer("m", []int{7, 7}, ramp(49, 2), 4, 16),
	}
	var got []int
	var fractions []float64
	req := request{bits: 4, groupSize: 16, progress: func(i int, f float64) {
		got = append(got, i)
		fractions = append(fractions, f)
	}}
	if err := quantize(context.Background(), layers, req); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, []int{0, 1, 2}) || !slices.IsSorted(fractions) || fractions[len(fractions)-1] != 1 {
		t.Errorf("progress: layers %v fractions %v, want each index once, non-decreasing, ending at 1", got, fractions)
	}
}

func TestWatchCancelStopsALongRun(t *testing.T) {
	x := ramp(512*1024, 0) // read-only, so every layer may share it
	var layers []*layerIO
	for i := range 200 { // far more work than the 5 ms before the flag is set
		layers = append(layers, testLayer(fmt.Sprint(i), []int{512, 1024}, x, 4, 128))
	}
	var flag int32
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := watchCancel(&flag, time.Millisecond, cancel)
	time.AfterFunc(5*time.Millisecond, func() { atomic.StoreInt32(&flag, 1) })
	start := time.Now()
	err := quantize(ctx, layers, request{bits: 4, groupSize: 128})
	stop()
	if codeOf(err) != codeCancelled {
		t.Fatalf("err = %v, want cancellation", err)
	}
	t.Logf("cancelled after %v", time.Since(start))
}

// A flag set before the call must cancel before any work, however late the
// watching goroutine runs: a small layer is done in a fraction of a
// millisecond.
func TestWatchCancelSeesAFlagSetBeforehandAtOnce(t *testing.T) {
	flag := int32(1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := watchCancel(&flag, time.Hour, cancel)
	defer stop()
	if ctx.Err() == nil {
		t.Fatal("watchCancel returned before cancelling for a flag already set")
	}
}

func TestWatchCancelStopsWhenAsked(t *testing.T) {
	var flag int32
	stop := watchCancel(&flag, time.Millisecond, func() { t.Error("cancelled without the flag") })
	time.Sleep(5 * time.Millisecond)
	stop() // returns only once the flag is no longer read
}

func TestDequantizeIsTheQuantDecoder(t *testing.T) {
	x := ramp(3*50, 0)
	tensor, _, err := quant.Quantize(x, []int{3, 50}, quant.Params{Bits: 4, GroupSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	want, err := quant.Dequantize(tensor)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float32, len(want))
	if err := dequantize(tensor, got); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("dequantize differs from quant.Dequantize")
	}
	tensor.Scales = tensor.Scales[1:]
	if err := dequantize(tensor, got); codeOf(err) != codeArgument {
		t.Errorf("short scales: %v, want an argument error", err)
	}
	if err := dequantize(tensor, got[1:]); codeOf(err) != codeArgument {
		t.Errorf("short output: %v, want an argument error", err)
	}
}
