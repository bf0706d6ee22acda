package arrowio

import (
	"fmt"

	"github.com/arrowquant/arrowquant/batch"
)

// ColumnError reports a problem with the schema of a table: a column that is
// missing, appears twice or has the wrong type. Nothing is read from a table
// with a ColumnError.
type ColumnError struct {
	Column string // the column's name, e.g. "weights"
	Reason string // what is wrong, e.g. "is missing"
}

func (e *ColumnError) Error() string {
	return fmt.Sprintf("arrowio: column %q %s", e.Column, e.Reason)
}

// RowError reports a problem with one row of a table. When the row's layer
// name is known, the RowError is wrapped in a *batch.LayerError that names
// the layer; use errors.As to find either.
type RowError struct {
	Row    int64  // 0-based, counted across all record batches of the table
	Column string // the column whose value is wrong
	Err    error  // what is wrong with it
}

func (e *RowError) Error() string {
	return fmt.Sprintf("row %d, column %q: %v", e.Row, e.Column, e.Err)
}

// Unwrap returns the underlying problem.
func (e *RowError) Unwrap() error { return e.Err }

// FormatError reports a file that is not a well-formed Parquet or Arrow IPC
// file.
type FormatError struct {
	Path string // the file, or "" for bytes not read from a file
	Err  error
}

func (e *FormatError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("arrowio: invalid format: %v", e.Err)
	}
	return fmt.Sprintf("arrowio: %s: invalid format: %v", e.Path, e.Err)
}

// Unwrap returns the underlying problem.
func (e *FormatError) Unwrap() error { return e.Err }

// UnsupportedError reports a well-formed table that this version of arrowio
// cannot read, such as a result table of a newer format version.
type UnsupportedError struct {
	What string
}

func (e *UnsupportedError) Error() string { return "arrowio: unsupported " + e.What }

// rowError wraps err as a problem with the given row and column of the layer
// name, or of an unnamed row when named is false.
func rowError(name string, named bool, row int64, column string, err error) error {
	re := &RowError{Row: row, Column: column, Err: err}
	if !named {
		return re
	}
	return &batch.LayerError{Layer: name, Err: re}
}

// onlyRowErrors reports whether err consists of layer and row problems
// alone, the errors after which ContinueOnError still returns results.
func onlyRowErrors(err error) bool {
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range u.Unwrap() {
			if !onlyRowErrors(e) {
				return false
			}
		}
		return true
	}
	switch err.(type) {
	case *batch.LayerError, *RowError:
		return true
	}
	return false
}
