package arrowio

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/arrowquant/arrowquant/batch"
)

// ipcWriter writes a result table in the Arrow IPC file format, one record
// batch per layer, written as soon as the layer arrives.
type ipcWriter struct {
	out *output
	fw  *ipc.FileWriter
}

// CreateIPC creates a Writer of an Arrow IPC file (the random-access "file"
// format, also known as Feather v2) at path, with one record batch per
// layer. The buffers are not compressed: packed codes hardly compress, and
// an uncompressed file can be memory-mapped and read without copies by any
// Arrow implementation, including those without a zstd codec.
func CreateIPC(path string, opts *CreateOptions) (Writer, error) {
	out, err := create(path, opts)
	if err != nil {
		return nil, err
	}
	fw, err := ipc.NewFileWriter(out, ipc.WithSchema(resultSchema))
	if err != nil {
		out.abort()
		return nil, fmt.Errorf("arrowio: %s: %w", path, err)
	}
	return &ipcWriter{out: out, fw: fw}, nil
}

func (w *ipcWriter) Write(r *batch.Result) error {
	if err := w.out.check(r); err != nil {
		return err
	}
	rec := resultRecord(r)
	defer rec.Release()
	return w.out.wrote(r, w.fw.Write(rec))
}

func (w *ipcWriter) Commit() error { return w.out.commit(w.fw.Close) }

func (w *ipcWriter) Abort() error { return w.out.abort() }
