package arrowio

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/arrowquant/arrowquant/quant"
)

// FuzzOpenTable feeds corrupted Parquet and Arrow IPC files to the readers:
// whatever the bytes, OpenTable must return a *FormatError or a table that
// Layers and Results can read without panicking, and whose results decode.
//
// openBytes turns a panic of arrow-go's readers into a FormatError that says
// "panicked"; set ARROWIO_FUZZ_STRICT=1 to make such inputs fail instead, to
// find them.
func FuzzOpenTable(f *testing.F) {
	dir := f.TempDir()
	results := mixedResults(f)[:4]
	for _, c := range formats {
		path := filepath.Join(dir, "r"+c.ext)
		writeResults(f, c.create, path, &CreateOptions{RowGroupLayers: 2}, results)
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	rows := randomRows(40, true, []int64{2, 3}, []int64{5})
	rows[1].shape = nil
	for _, spec := range []inputSpec{{kind: plainList, f16: true}, {kind: fixedList}} {
		tbl := inputTable(f, spec, rows[:1])
		f.Add(writePqarrow(f, tbl, 1, true))
		f.Add(writeIPC(f, tbl, false))
		f.Add(writeIPC(f, tbl, true))
	}
	f.Add([]byte("PAR1"))
	f.Add([]byte("ARROW1\x00\x00"))
	strict := os.Getenv("ARROWIO_FUZZ_STRICT") == "1"

	f.Fuzz(func(t *testing.T, data []byte) {
		tbl, _, err := openBytes(data)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("%T is not a FormatError: %v", err, err)
			}
			if strict && strings.Contains(err.Error(), "panicked") {
				t.Fatal(err)
			}
			return
		}
		defer tbl.Release()
		tr := array.NewTableReader(tbl, -1)
		in, _ := readLayers(tr)
		tr.Release()
		if in != nil {
			for _, l := range in.layers {
				if len(l.Data) != l.DType.Size()*product(l.Shape) {
					t.Fatalf("layer %q: %d bytes for shape %v", l.Name, len(l.Data), l.Shape)
				}
			}
			in.release()
		}
		layers, err := Results(tbl)
		if err != nil {
			return
		}
		for _, l := range layers {
			if l.Layout().Elements() > 1<<22 {
				continue // a decompression bomb: fine, but slow to decode here
			}
			if _, err := quant.Dequantize(&l.Tensor); err != nil {
				t.Fatalf("layer %q passed Results but does not decode: %v", l.Name, err)
			}
		}
	})
}

func product(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}
