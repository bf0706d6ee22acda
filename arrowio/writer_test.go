package arrowio

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/arrowquant/arrowquant/batch"
	"github.com/arrowquant/arrowquant/quant"

	"github.com/arrowquant/arrowquant/internal/testfs"
)

// formats are the two writers, by name.
var formats = []struct {
	name, ext string
	create    func(string, *CreateOptions) (Writer, error)
}{
	{"Parquet", ".parquet", CreateParquet},
	{"Arrow IPC", ".arrow", CreateIPC},
}

// mixedResults quantizes layers of several shapes, with float16 and
// float32 scales, at every bit width, and returns them in name order.
func mixedResults(t testing.TB) []*batch.Result {
	t.Helper()
	var all []*batch.Result
	for i, opts := range []batch.Options{
		{Bits: 2, GroupSize: 32},
		{Bits: 4},
		{Bits: 8, GroupSize: 5, Scales: quant.Float32},
	} {
		rows := randomRows(uint64(10+i), false, testShapes...)
		for k := range rows {
			rows[k].name = string(rune('a'+i)) + "/" + rows[k].name
		}
		all = append(all, engineResults(t, engineLayers(rows), opts)...)
	}
	return all
}

func writeResults(t testing.TB, create func(string, *CreateOptions) (Writer, error), path string, opts *CreateOptions, results []*batch.Result) {
	t.Helper()
	w, err := create(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for _, r := range results {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestWrittenFilesReadBackAsTheSameTensors(t *testing.T) {
	want := mixedResults(t)
	for _, f := range formats {
		for _, opts := range []*CreateOptions{nil, {RowGroupLayers: 4}, {RowGroupBytes: 1}} {
			t.Run(f.name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "out"+f.ext)
				writeResults(t, f.create, path, opts, want)
				got, err := ReadResults(path)
				if err != nil {
					t.Fatal(err)
				}
				sameTensors(t, got, want)
				for i := range got {
					x, err := quant.Dequantize(&got[i].Tensor)
					y, _ := quant.Dequantize(&want[i].Tensor)
					if err != nil || len(x) != len(y) || x[len(x)-1] != y[len(y)-1] {
						t.Fatalf("layer %s does not dequantize like the original: %v", got[i].Name, err)
					}
				}
			})
		}
	}
}

func TestAnEmptyResultFileReadsBackAsNoLayers(t *testing.T) {
	for _, f := range formats {
		path := filepath.Join(t.TempDir(), "empty"+f.ext)
		writeResults(t, f.create, path, nil, nil)
		got, err := ReadResults(path)
		if err != nil || len(got) != 0 {
			t.Fatalf("%s: %d layers, %v; want none and no error", f.name, len(got), err)
		}
	}
}

func TestBatchStreamWritesThroughAWriter(t *testing.T) {
	rows := randomRows(20, false, testShapes...)
	want := engineResults(t, engineLayers(rows), batch.Options{})
	for _, f := range formats {
		path := filepath.Join(t.TempDir(), "stream"+f.ext)
		w, err := Create(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := batch.Stream(context.Background(), engineLayers(rows), batch.Options{MaxPending: 1}, w.Write); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := w.Abort(); err != nil {
			t.Fatalf("Abort after Commit: %v", err)
		}
		got, err := ReadResults(path)
		if err != nil {
			t.Fatal(err)
		}
		sameTensors(t, got, want)
	}
}

func TestNothingAppearsUntilCommitAndAbortLeavesNothing(t *testing.T) {
	results := mixedResults(t)
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out"+f.ext)
			w, err := f.create(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range results[:3] {
				if err := w.Write(r); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the destination exists before Commit: %v", err)
			}
			if err := w.Abort(); err != nil {
				t.Fatal(err)
			}
			if names := testfs.Names(t, dir); len(names) != 0 {
				t.Fatalf("Abort left %v", names)
			}
			if err := w.Write(results[3]); err == nil {
				t.Fatal("Write after Abort succeeded")
			}
			if err := w.Commit(); err == nil {
				t.Fatal("Commit after Abort succeeded")
			}
		})
	}
}

func TestAFailedBatchLeavesNoFileAndTheOldOneIntact(t *testing.T) {
	rows := randomRows(21, false, testShapes...)
	rows[4].weights[0] = float32(math.NaN())
	layers := engineLayers(rows)
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out"+f.ext)
			if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			err := func() error {
				w, err := f.create(path, nil)
				if err != nil {
					return err
				}
				defer w.Abort()
				if err := batch.Stream(context.Background(), layers, batch.Options{}, w.Write); err != nil {
					return err
				}
				return w.Commit()
			}()
			var le *batch.LayerError
			if !errors.As(err, &le) {
				t.Fatalf("got %v, want the NaN layer's error", err)
			}
			if names := testfs.Names(t, dir); len(names) != 1 || names[0] != "out"+f.ext {
				t.Fatalf("directory holds %v, want only the old file", names)
			}
			if b, _ := os.ReadFile(path); string(b) != "old" {
				t.Fatalf("the old file was changed to %q", b)
			}
		})
	}
}

func TestWriteRefusesResultsOutOfOrderOrInconsistent(t *testing.T) {
	results := mixedResults(t)
	broken := *results[1]
	broken.Codes = broken.Codes[:len(broken.Codes)-1]
	for _, f := range formats {
		for _, c := range []struct {
			name   string
			second *batch.Result
			says   string
		}{
			{"a layer out of name order", results[0], "strictly increasing name order"},
			{"a repeated layer", results[0], "strictly increasing"},
			{"codes shorter than the shape implies", &broken, "bytes of codes"},
		} {
			t.Run(f.name+" refuses "+c.name, func(t *testing.T) {
				dir := t.TempDir()
				w, err := f.create(filepath.Join(dir, "out"+f.ext), nil)
				if err != nil {
					t.Fatal(err)
				}
				defer w.Abort()
				first := results[0]
				if c.name == "a layer out of name order" {
					first = results[2]
				}
				if err := w.Write(first); err != nil {
					t.Fatal(err)
				}
				if err := w.Write(c.second); err == nil || !strings.Contains(err.Error(), c.says) {
					t.Fatalf("got %v, want an error saying %q", err, c.says)
				}
				// The refusal left the writer usable.
				if err := w.Write(results[3]); err != nil {
					t.Fatal(err)
				}
				if err := w.Commit(); err != nil {
					t.Fatal(err)
				}
				got, err := ReadResults(filepath.Join(dir, "out"+f.ext))
				if err != nil || len(got) != 2 {
					t.Fatalf("%d layers read back, %v; want 2", len(got), err)
				}
			})
		}
	}
}

func TestCreateRefusesToOverwriteTheInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "model.parquet")
	if err := os.WriteFile(in, []byte("weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.parquet")
	if err := os.Symlink(in, link); err != nil {
		t.Fatal(err)
	}
	for _, f := range formats {
		for _, dest := range []string{in, link} {
			_, err := f.create(dest, &CreateOptions{Refuse: []string{filepath.Join(dir, "missing"), in}})
			if err == nil || !strings.Contains(err.Error(), "refusing to overwrite the input") {
				t.Fatalf("%s to %s: got %v, want a refusal", f.name, dest, err)
			}
		}
	}
	if names := testfs.Names(t, dir); len(names) != 2 {
		t.Fatalf("directory holds %v, want the input and the link only", names)
	}
	if b, _ := os.ReadFile(in); string(b) != "weights" {
		t.Fatal("the input was changed")
	}
}

func TestCreateChoosesTheFormatByExtension(t *testing.T) {
	results := mixedResults(t)[:2]
	for _, c := range []struct{ name, magic string }{
		{"a.parquet", "PAR1"}, {"b.PQ", "PAR1"}, {"c.arrow", "ARROW1"}, {"d.feather", "ARROW1"},
	} {
		path := filepath.Join(t.TempDir(), c.name)
		writeResults(t, Create, path, nil, results)
		b, err := os.ReadFile(path)
		if err != nil || !strings.HasPrefix(string(b), c.magic) {
			t.Fatalf("%s does not start with %s", c.name, c.magic)
		}
	}
	if _, err := Create(filepath.Join(t.TempDir(), "x.csv"), nil); err == nil {
		t.Fatal("Create accepted a .csv destination")
	}
}

// TestALayerLargerThanArrowGosPageLimitsReadsBack writes a layer of 80 MB of
// incompressible codes: one Parquet page above the 64 MiB arrow-go accepts
// by default, and one IPC record batch body.
func TestALayerLargerThanArrowGosPageLimitsReadsBack(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 80 MB files")
	}
	const cols = 160_000_000 // 4-bit codes: 80 MB
	codes := make([]byte, cols/2)
	rand.NewChaCha8([32]byte{1}).Read(codes)
	big := &batch.Result{Name: "big", Tensor: quant.Tensor{Shape: []int{1, cols}, Bits: 4, GroupSize: cols,
		Codes: codes, Scales: []float32{0.5}, ZeroPoints: []float32{7}}}
	for _, f := range formats {
		path := filepath.Join(t.TempDir(), "big"+f.ext)
		writeResults(t, f.create, path, nil, []*batch.Result{big})
		got, err := ReadResults(path)
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		if len(got) != 1 || !bytes.Equal(got[0].Codes, codes) {
			t.Fatalf("%s: the codes did not come back", f.name)
		}
	}
}

// TestWriteCopiesWhatItNeeds overwrites every result's buffers as soon as
// Write returns, as a recycling batch.Stream would: the file must still
// hold the original values, for every row-group arrangement.
func TestWriteCopiesWhatItNeeds(t *testing.T) {
	want := mixedResults(t)
	for _, f := range formats {
		for _, opts := range []*CreateOptions{nil, {RowGroupLayers: 4}, {RowGroupBytes: 1}} {
			t.Run(f.name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "out"+f.ext)
				w, err := f.create(path, opts)
				if err != nil {
					t.Fatal(err)
				}
				defer w.Abort()
				for _, r := range want {
					lent := *r
					lent.Codes, lent.Scales, lent.ZeroPoints = bytes.Clone(r.Codes), slices.Clone(r.Scales), slices.Clone(r.ZeroPoints)
					if err := w.Write(&lent); err != nil {
						t.Fatal(err)
					}
					for i := range lent.Codes {
						lent.Codes[i] = ^lent.Codes[i]
					}
					for i := range lent.Scales {
						lent.Scales[i], lent.ZeroPoints[i] = -1, 12345
					}
				}
				if err := w.Commit(); err != nil {
					t.Fatal(err)
				}
				got, err := ReadResults(path)
				if err != nil {
					t.Fatal(err)
				}
				sameTensors(t, got, want)
			})
		}
	}
}
