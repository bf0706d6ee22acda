package safetensors

import (
	"os"

	"golang.org/x/sys/unix"
)

// writebackStep is how many bytes are written between two requests that the
// kernel start writing them to disk. What is left when the last tensor is
// written, up to a step, is what Commit's fsync waits for: 16 MiB steps
// left it ≈ 7 ms on a 130 MiB output, 4 MiB ones ≈ 3 ms, for no more work
// overall (the cost is in the bytes, not the requests).
const writebackStep = 4 << 20

// writeback is the io.Writer under a Writer's buffer. Every writebackStep
// bytes it asks the kernel to start writing the finished range to disk
// (sync_file_range without waiting), so that the fsync before the rename
// finds little left to do instead of a whole model's worth of dirty pages.
//
// The request is made by a goroutine of its own: starting writeback of 64
// MiB takes the calling thread tens of milliseconds in the file system,
// which would otherwise stall every worker waiting for the writer. One
// request may wait while another is being made; beyond that a range is left
// to the next request.
// close stops it; the Writer calls close before it closes the file.
type writeback struct {
	f              *os.File
	fd             int
	offset, synced int64         // bytes written; bytes handed to writeback
	ranges         chan [2]int64 // offset and length; nil until the first request
	stopped        chan struct{}
}

func newWriteback(f *os.File, offset int64) *writeback {
	return &writeback{f: f, fd: int(f.Fd()), offset: offset, synced: offset}
}

func (w *writeback) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.offset += int64(n)
	if w.offset-w.synced >= writebackStep {
		if w.ranges == nil {
			w.ranges, w.stopped = make(chan [2]int64, 1), make(chan struct{})
			go w.flush()
		}
		select {
		case w.ranges <- [2]int64{w.synced, w.offset - w.synced}:
			w.synced = w.offset
		default:
		}
	}
	return n, err
}

// allocate asks the file system for the blocks of the next n bytes before
// they are written, as one extent. Without it ext4's delayed allocation
// reserves blocks page by page inside every write(2); a 128 MiB file took
// 25 ms to write that way and 17 ms preallocated. Only an optimisation:
// where it fails (no room for n, which is only an upper bound, or no
// support) the writes allocate as usual. The Writer truncates the file to
// what was written.
func (w *writeback) allocate(n int64) {
	_ = unix.Fallocate(w.fd, 0, w.offset, n)
}

func (w *writeback) flush() {
	defer close(w.stopped)
	for r := range w.ranges {
		// Only a hint: an error here changes nothing that fsync will not
		// report, so it is ignored.
		_ = unix.SyncFileRange(w.fd, r[0], r[1], unix.SYNC_FILE_RANGE_WRITE)
	}
}

// close waits for the last request to be made and stops the goroutine.
func (w *writeback) close() {
	if w != nil && w.ranges != nil {
		close(w.ranges)
		<-w.stopped
		w.ranges = nil
	}
}
