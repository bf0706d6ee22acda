//go:build !unix

package arrowio

import (
	"io"
	"os"
)

// mapFile reads the first size bytes of f into memory: this system has no
// mmap that the package uses, so an IPC table costs the file's size in
// memory here.
func mapFile(f *os.File, size int) ([]byte, func() error, error) {
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, nil, err
	}
	return data, func() error { return nil }, nil
}
