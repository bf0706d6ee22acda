package safetensors

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/arrowquant/arrowquant/internal/atomicfile"
)

// A PlannedTensor announces a tensor to Create: its name and the largest
// number of bytes it may take once its dtype is chosen.
type PlannedTensor struct {
	Name     string
	MaxBytes int64
	// Optional tensors may be left unwritten; they are then absent from
	// the file. A converter plans both forms of a tensor this way when it
	// learns only while writing which one it will store.
	Optional bool
}

// CreateOptions holds the options of Create; the zero value (or nil) is the
// default.
type CreateOptions struct {
	// Refuse lists the files a tool reads from. Create fails if path is the
	// same file as any of them (by os.SameFile, so through links too), so
	// that a tool never replaces its own input. Paths that do not exist
	// are ignored.
	Refuse []string
}

// A Writer writes a safetensors file tensor by tensor, with memory bounded
// by one tensor and a 1 MiB buffer. It writes to a temporary file beside
// the destination and renames it into place only on Commit, so the
// destination is either untouched or complete. Call Abort (typically
// deferred) to remove the temporary file on every other path. A Writer is
// not safe for concurrent use.
type Writer struct {
	path      string
	f         *atomicfile.File
	wb        *writeback
	buf       *bufio.Writer
	meta      map[string]string
	slots     []slot // sorted by name
	headerLen int64  // bytes reserved for the header, a multiple of 8
	used      int64  // header bytes needed, with unwritten tensors at their worst
	offset    int64  // data bytes written so far
	scratch   []byte
	err       error // first write error; every later call returns it
	done      bool  // Commit or Abort has run
}

// Create starts writing the safetensors file path with the given metadata
// (nil for none) and the tensors of plan, which WriteTensor must then be
// given once each, in any order.
//
// The header comes before the data but is only known when every tensor's
// dtype and shape is, so Create reserves room for the longest header the
// plan allows: every tensor with the longest dtype name, offsets as large
// as all MaxBytes together, and a shape of rank up to 8 whose elements fill
// MaxBytes. Commit pads the real header with spaces to that length. A
// tensor whose entry needs more room (rank over 8, or many huge dimensions
// with zero elements) is still accepted if earlier tensors left enough
// room unused, and refused by WriteTensor otherwise.
func Create(path string, metadata map[string]string, plan []PlannedTensor, opts *CreateOptions) (*Writer, error) {
	names := make([]string, len(plan))
	slots := make([]slot, len(plan))
	for i, p := range plan {
		if p.MaxBytes < 0 {
			return nil, errorf(path, p.Name, "MaxBytes %d is negative", p.MaxBytes)
		}
		names[i] = p.Name
		slots[i] = slot{name: p.Name, maxBytes: p.MaxBytes, optional: p.Optional}
	}
	var refuse []string
	if opts != nil {
		refuse = opts.Refuse
	}
	return newWriter(path, metadata, names, slots, refuse)
}

// newWriter checks the plan, reserves the header and creates the temporary
// file.
func newWriter(path string, meta map[string]string, names []string, slots []slot, refuse []string) (*Writer, error) {
	if err := checkNames(path, meta, names); err != nil {
		return nil, err
	}
	slices.SortFunc(slots, func(a, b slot) int { return cmp.Compare(a.name, b.name) })
	w := &Writer{path: path, meta: maps.Clone(meta), slots: slots}
	var err error
	if w.headerLen, w.used, err = reserve(w.meta, w.slots); err != nil {
		return nil, err
	}
	if w.f, err = atomicfile.Create(path, refuse); err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if _, err = w.f.Seek(8+w.headerLen, 0); err != nil {
		w.Abort()
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	w.wb = newWriteback(w.f.File, 8+w.headerLen)
	var data int64 // at most: Optional tensors may never come
	for _, s := range w.slots {
		if !s.optional {
			data += s.maxBytes
		}
	}
	w.wb.allocate(data)
	w.buf = bufio.NewWriterSize(w.wb, 1<<20)
	return w, nil
}

// WriteTensor writes the tensor name, which must be in the plan and not
// written yet. len(data) must be dtype.Size() times the product of shape,
// and at most the planned MaxBytes. Tensors are laid out in the order they
// are written. The bytes are copied (into the buffer or the file) before
// WriteTensor returns, so data can be reused. An error about the arguments
// leaves the Writer as it was; a write error is returned again by every
// later call.
func (w *Writer) WriteTensor(name string, dtype DType, shape []int64, data []byte) error {
	if w.done {
		return errorf(w.path, name, "WriteTensor after Commit or Abort")
	}
	if w.err != nil {
		return w.err
	}
	i, ok := slices.BinarySearchFunc(w.slots, name, func(s slot, name string) int { return cmp.Compare(s.name, name) })
	if !ok {
		return errorf(w.path, name, "not in the plan given to Create")
	}
	s := &w.slots[i]
	if s.written {
		return errorf(w.path, name, "written twice")
	}
	e := entry{Name: name, DType: dtype, Shape: slices.Clone(shape), Begin: w.offset}
	if e.Shape == nil {
		e.Shape = []int64{}
	}
	if err := checkTensor(w.path, e, data); err != nil {
		return err
	}
	e.End = e.Begin + int64(len(data))
	if int64(len(data)) > s.maxBytes {
		return errorf(w.path, name, "%d bytes, more than the %d planned", len(data), s.maxBytes)
	}
	w.scratch = appendEntry(w.scratch[:0], e)
	used := w.used - s.worst + int64(len(w.scratch))
	if used > w.headerLen {
		return errorf(w.path, name, "shape %v does not fit in the header room reserved by Create", shape)
	}
	if _, err := w.buf.Write(data); err != nil {
		w.err = fmt.Errorf("safetensors: writing %s: %w", w.f.Name(), err)
		return w.err
	}
	s.e, s.written = e, true
	w.used, w.offset = used, e.End
	return nil
}

// checkTensor reports whether data suits e's dtype and shape.
func checkTensor(path string, e entry, data []byte) error {
	if e.DType.Size() == 0 {
		return &UnsupportedError{File: path, Tensor: e.Name, Msg: fmt.Sprintf("unsupported dtype %q", e.DType)}
	}
	n, ok := byteSize(e.DType, e.Shape)
	if !ok {
		return errorf(path, e.Name, "shape %v has a negative dimension or more than 2^63 bytes", e.Shape)
	}
	if n != int64(len(data)) {
		return errorf(path, e.Name, "%d bytes of data, but %s%v needs %d", len(data), e.DType, e.Shape, n)
	}
	return nil
}

// SetMetadata replaces the metadata given to Create, for metadata that is
// only known once the tensors are written. The header reserved by Create
// must still hold it: metadata no longer than the original always fits.
func (w *Writer) SetMetadata(metadata map[string]string) error {
	if w.done {
		return errorf(w.path, "", "SetMetadata after Commit or Abort")
	}
	grow := int64(len(appendHeader(nil, metadata, nil))) - int64(len(appendHeader(nil, w.meta, nil)))
	if len(w.meta) == 0 && len(metadata) > 0 {
		grow++ // the comma between the metadata and the first tensor
	}
	if w.used+grow > w.headerLen {
		return errorf(w.path, "__metadata__", "%d bytes longer than the header room reserved by Create", grow)
	}
	w.meta, w.used = maps.Clone(metadata), w.used+grow
	return nil
}

// Written returns the names of the tensors written so far, sorted.
func (w *Writer) Written() []string {
	var names []string
	for _, s := range w.slots {
		if s.written {
			names = append(names, s.name)
		}
	}
	return names
}

// Commit finishes the file: every planned tensor that is not Optional must
// have been written.
// It writes the header, flushes the file to disk and renames it over path.
// On failure it removes the temporary file. Either way the Writer is done.
func (w *Writer) Commit() (err error) {
	if w.done {
		return errorf(w.path, "", "Commit after Commit or Abort")
	}
	defer func() {
		if err != nil {
			w.Abort()
		}
	}()
	if w.err != nil {
		return w.err
	}
	entries := make([]entry, 0, len(w.slots))
	var missing []string
	for _, s := range w.slots {
		switch {
		case s.written:
			entries = append(entries, s.e)
		case !s.optional:
			missing = append(missing, s.name)
		}
	}
	if len(missing) > 0 {
		if len(missing) > 3 {
			missing = append(missing[:3], fmt.Sprintf("and %d more", len(missing)-3))
		}
		return errorf(w.path, "", "Commit without writing %s", strings.Join(missing, ", "))
	}
	head, err := headerBytes(w.meta, entries, w.headerLen)
	if err != nil {
		return err
	}
	if err := w.buf.Flush(); err != nil {
		return fmt.Errorf("safetensors: writing %s: %w", w.f.Name(), err)
	}
	w.wb.close()
	if err := w.f.Truncate(8 + w.headerLen + w.offset); err != nil { // blocks allocated for the plan's worst case
		return fmt.Errorf("safetensors: writing %s: %w", w.f.Name(), err)
	}
	if _, err := w.f.WriteAt(head, 0); err != nil {
		return fmt.Errorf("safetensors: writing %s: %w", w.f.Name(), err)
	}
	if err := w.f.Commit(); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	w.done = true
	return nil
}

// headerBytes returns the length prefix and the header for entries sorted
// by name, padded with spaces to headerLen.
func headerBytes(meta map[string]string, entries []entry, headerLen int64) ([]byte, error) {
	b := make([]byte, 8, 8+headerLen)
	binary.LittleEndian.PutUint64(b, uint64(headerLen))
	b = appendHeader(b, meta, entries)
	if int64(len(b)) > 8+headerLen {
		// reserve and WriteTensor's accounting make this impossible.
		return nil, fmt.Errorf("safetensors: internal error: header of %d bytes overflows the %d reserved", len(b)-8, headerLen)
	}
	for int64(len(b)) < 8+headerLen {
		b = append(b, ' ')
	}
	return b, nil
}

// Abort stops writing and removes the temporary file. After Commit it does
// nothing, so it can be deferred right after Create.
func (w *Writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.wb.close()
	if err := w.f.Abort(); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}
