package safetensors

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strconv"
	"unsafe"

	"github.com/arrowquant/arrowquant/internal/mmap"
)

// A Tensor is one named tensor of a file.
type Tensor struct {
	Name  string
	DType DType
	Shape []int64 // empty for a scalar
	// Data holds the tensor's bytes, little-endian, row-major:
	// DType.Size() × NumElements() of them. For a tensor from Open or
	// OpenModel it is a view into a read-only memory mapping: writing to it
	// crashes the program, and reading it after Close does too.
	Data []byte
	File string // path of the file (shard) the tensor lives in
}

// NumElements returns the number of elements of t: the product of its
// shape, 1 for a scalar. It returns -1 if the product overflows an int64,
// which never happens for a tensor this package has read.
func (t *Tensor) NumElements() int64 {
	n, ok := numElements(t.Shape)
	if !ok {
		return -1
	}
	return n
}

// A File is one parsed safetensors file.
type File struct {
	Path       string
	Tensors    []Tensor          // sorted by name, in byte order
	Metadata   map[string]string // the header's __metadata__, nil if absent
	HeaderSize int64             // length of the JSON header, padding included

	unmap  func() error // releases the mapping; nil if there is none
	mapped []byte       // the mapped file, for Release
}

// Open maps the safetensors file at path into memory read-only and parses
// it (see Parse). The tensors' Data stay valid until Close. The file must
// not be truncated while it is open: on most systems, touching a mapped
// page past the new end kills the program.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close() // the mapping outlives the descriptor
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &FormatError{File: path, Msg: "not a regular file"}
	}
	size := st.Size()
	if size < 8 {
		return nil, &FormatError{File: path, Msg: fmt.Sprintf("file is %d bytes, shorter than the 8-byte header length", size)}
	}
	if size != int64(int(size)) {
		return nil, &UnsupportedError{File: path, Msg: fmt.Sprintf("file is %d bytes, too large to map on a %d-bit system", size, strconv.IntSize)}
	}
	data, unmap, err := mmap.Map(fh, int(size))
	if err != nil {
		return nil, fmt.Errorf("safetensors: mapping %s: %w", path, err)
	}
	f, err := Parse(path, data)
	if err != nil {
		unmap()
		return nil, err
	}
	f.unmap, f.mapped = unmap, data
	return f, nil
}

// Release tells the system that t, a tensor of f, will not be read again
// soon, so that its pages leave the process's page tables now instead of all
// at Close: a tool that is done with one tensor after another calls it for
// each, which spreads the cost of unmapping a large model over its run.
// t.Data stays valid; reading it again faults the pages back in from the
// file. Release does nothing for a File from Parse or after Close.
func (f *File) Release(t *Tensor) {
	if f.unmap == nil || len(t.Data) == 0 {
		return
	}
	// Only bytes of the mapping: advice on other memory could discard it.
	base, p := uintptr(unsafe.Pointer(unsafe.SliceData(f.mapped))), uintptr(unsafe.Pointer(unsafe.SliceData(t.Data)))
	if p < base || p+uintptr(len(t.Data)) > base+uintptr(len(f.mapped)) {
		return
	}
	mmap.Release(t.Data)
}

// Close releases the memory mapping of a File from Open; after it, the
// tensors' Data must not be read. Close on a File from Parse, and a second
// Close, do nothing.
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	unmap := f.unmap
	f.unmap, f.mapped = nil, nil
	// Drop the views we own so that a use after Close fails with an index
	// error here rather than a fault in the unmapped pages.
	for i := range f.Tensors {
		f.Tensors[i].Data = nil
	}
	if err := unmap(); err != nil {
		return fmt.Errorf("safetensors: unmapping %s: %w", f.Path, err)
	}
	return nil
}

// Tensor returns the tensor of f with the given name.
func (f *File) Tensor(name string) (*Tensor, bool) {
	return findTensor(f.Tensors, name)
}

// findTensor finds name in tensors sorted by name.
func findTensor(tensors []Tensor, name string) (*Tensor, bool) {
	i, ok := slices.BinarySearchFunc(tensors, name, func(t Tensor, name string) int { return cmp.Compare(t.Name, name) })
	if !ok {
		return nil, false
	}
	return &tensors[i], true
}
