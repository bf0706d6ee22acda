package safetensors

import (
	"os"

	"golang.org/x/sys/unix"
)

// writebackStep is how many bytes are written between two requests that the
// kernel start writing them to disk.
const writebackStep = 64 << 20

// writeback is the io.Writer under a Writer's buffer. Every writebackStep
// bytes it asks the kernel to start writing the finished range to disk
// (sync_file_range without waiting), so that the fsync before the rename
// finds little left to do instead of a whole model's worth of dirty pages.
type writeback struct {
	f              *os.File
	offset, synced int64 // bytes written; bytes handed to writeback
}

func newWriteback(f *os.File, offset int64) *writeback {
	return &writeback{f: f, offset: offset, synced: offset}
}

func (w *writeback) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.offset += int64(n)
	if w.offset-w.synced >= writebackStep {
		// Only a hint: an error here changes nothing that fsync will not
		// report, so it is ignored.
		_ = unix.SyncFileRange(int(w.f.Fd()), w.synced, w.offset-w.synced, unix.SYNC_FILE_RANGE_WRITE)
		w.synced = w.offset
	}
	return n, err
}
