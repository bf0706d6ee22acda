// Package atomicfile writes a file so that it appears at its destination
// complete or not at all: the data goes to a temporary file beside the
// destination, which Commit syncs and renames into place and Abort removes.
// It also refuses to replace the files a tool is reading from, so that a
// conversion can never destroy its own input.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// File is a file being written under a temporary name. Its embedded
// *os.File is the temporary file: write, seek and WriteAt it as usual, but
// finish with Commit or Abort rather than Close.
type File struct {
	*os.File
	dest string
	done bool
}

// Create creates the temporary file for dest in dest's folder, after
// CheckDestination(dest, refuse).
func Create(dest string, refuse []string) (*File, error) {
	if err := CheckDestination(dest, refuse); err != nil {
		return nil, err
	}
	dir, base := filepath.Split(dest)
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, err
	}
	// CreateTemp makes the file private; the result is an ordinary file.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &File{File: f, dest: dest}, nil
}

// Dest returns the destination path.
func (f *File) Dest() string { return f.dest }

// Commit flushes the temporary file to disk, closes it and renames it over
// the destination. On failure it removes the temporary file. Either way
// the File is finished.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("%s: Commit after Commit or Abort", f.dest)
	}
	f.done = true
	err := f.File.Sync()
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), f.dest)
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	syncDir(filepath.Dir(f.dest))
	return nil
}

// Abort closes and removes the temporary file. After Commit or Abort it does
// nothing, so it can be deferred right after Create.
func (f *File) Abort() error {
	if f.done {
		return nil
	}
	f.done = true
	f.File.Close()
	if err := os.Remove(f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// WriteFile writes everything r yields to dest atomically.
func WriteFile(dest string, r io.Reader, refuse []string) error {
	f, err := Create(dest, refuse)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := io.Copy(f, r); err != nil {
		return err
	}
	return f.Commit()
}

// CheckDestination refuses a dest that is a folder, or the same file as any
// of refuse (os.SameFile: through hard and symbolic links too). Paths that
// do not exist are fine.
func CheckDestination(dest string, refuse []string) error {
	st, err := os.Stat(dest)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.IsDir() {
		return fmt.Errorf("%s is a directory", dest)
	}
	for _, r := range refuse {
		rst, err := os.Stat(r)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if os.SameFile(st, rst) {
			return fmt.Errorf("refusing to overwrite the input %s with %s", r, dest)
		}
	}
	return nil
}

// syncDir makes a rename in dir durable where the system allows; a failure
// only weakens durability, not correctness, so it is ignored.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
