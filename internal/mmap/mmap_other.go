//go:build !unix

// Package mmap maps files into memory read-only, so that format readers can
// view tensors in place without reading whole models into the heap.
package mmap

import (
	"io"
	"os"
)

// Map reads the first size bytes of f into memory: this system has no mmap
// that the package uses, so mapping costs the file's size in memory here.
func Map(f *os.File, size int) (data []byte, unmap func() error, err error) {
	data = make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, nil, err
	}
	return data, func() error { return nil }, nil
}

// Release does nothing here: the data is a copy in the heap.
func Release(b []byte) {}
