//go:build unix

// Package mmap maps files into memory read-only, so that format readers can
// view tensors in place without reading whole models into the heap.
package mmap

import (
	"os"
	"syscall"
)

// Map maps the first size (> 0) bytes of f read-only and returns them with
// the function that unmaps them. The bytes must not be used after unmap.
func Map(f *os.File, size int) (data []byte, unmap func() error, err error) {
	data, err = syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return data, func() error { return syscall.Munmap(data) }, nil
}
