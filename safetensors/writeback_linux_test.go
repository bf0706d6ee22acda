package safetensors

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/arrowquant/arrowquant/internal/testfs"
)

// TestWritebackRunsAndStops writes enough for several writeback requests and
// checks that the file is whole after Commit, that nothing is left after
// Abort, and that either way the writeback goroutine has stopped.
func TestWritebackRunsAndStops(t *testing.T) {
	const n, size = 3, writebackStep * 3 / 4
	var plan []PlannedTensor
	data := make([][]byte, n)
	for i := range data {
		data[i] = bytes.Repeat([]byte{byte(i + 1)}, size)
		plan = append(plan, PlannedTensor{Name: fmt.Sprint("t", i), MaxBytes: size})
	}
	for _, commit := range []bool{true, false} {
		t.Run(fmt.Sprint("commit=", commit), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.safetensors")
			w, err := Create(path, nil, plan, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			for i, d := range data {
				if err := w.WriteTensor(plan[i].Name, U8, []int64{size}, d); err != nil {
					t.Fatal(err)
				}
			}
			if w.wb.ranges == nil {
				t.Fatalf("%d MiB written and no writeback requested", n*size>>20)
			}
			if !commit {
				w.Abort()
				if w.wb.ranges != nil {
					t.Error("the writeback goroutine outlived Abort")
				}
				if names := testfs.Names(t, dir); len(names) != 0 {
					t.Errorf("Abort left %q", names)
				}
				return
			}
			f := commitAndOpen(t, w, path)
			if w.wb.ranges != nil {
				t.Error("the writeback goroutine outlived Commit")
			}
			for i, d := range data {
				got, ok := f.Tensor(plan[i].Name)
				if !ok {
					t.Fatalf("%s is missing", plan[i].Name)
				}
				if !bytes.Equal(got.Data, d) {
					t.Errorf("%s differs from what was written", plan[i].Name)
				}
			}
			if fi, err := os.Stat(path); err != nil || fi.Size() < n*size {
				t.Errorf("file of %v bytes (%v), want over %d", fi.Size(), err, n*size)
			}
		})
	}
}
