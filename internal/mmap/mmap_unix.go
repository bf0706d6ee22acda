//go:build unix

// Package mmap maps files into memory read-only, so that format readers can
// view tensors in place without reading whole models into the heap.
package mmap

import (
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
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

// Release tells the system that b, which must lie inside data returned by
// Map, will not be read again soon: the whole pages inside b leave the
// process's page tables now (they stay in the page cache). Reading b later
// still works, faulting the pages back in. A reader that is done with one
// tensor after another spreads the cost of unmapping a large file over its
// run this way, instead of paying it all at once at the end.
func Release(b []byte) {
	page := uintptr(os.Getpagesize())
	if len(b) == 0 {
		return
	}
	start := uintptr(unsafe.Pointer(&b[0]))
	first := (start + page - 1) &^ (page - 1)
	last := (start + uintptr(len(b))) &^ (page - 1)
	if first >= last {
		return
	}
	// Only advice: an error changes nothing the caller could act on.
	_ = unix.Madvise(b[first-start:last-start], unix.MADV_DONTNEED)
}
