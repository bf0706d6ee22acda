package arrowio

import (
	"bufio"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/arrowquant/arrowquant/batch"

	"github.com/arrowquant/arrowquant/internal/atomicfile"
)

// Writer writes a result table (see ResultSchema) to a file one layer at a
// time, so that memory stays bounded by a few layers whatever the size of
// the model. Nothing appears at the destination until Commit succeeds:
// until then the data goes to a temporary file in the same directory, which
// Commit renames into place and Abort removes. Call Abort on every path
// (typically deferred right after the Writer is created); after Commit it
// does nothing. A Writer is not safe for concurrent use.
//
// Its Write method has the signature batch.Stream and Stream expect of their
// emit callback:
//
//	w, err := arrowio.Create(out, &arrowio.CreateOptions{Refuse: []string{in}})
//	if err != nil { ... }
//	defer w.Abort()
//	if err := batch.Stream(ctx, layers, opts, w.Write); err != nil { ... }
//	return w.Commit()
type Writer interface {
	// Write appends one layer. Layers must come in strictly increasing
	// name order, as batch.Stream emits them, and pass quant.Tensor.Check;
	// a result that breaks either rule is refused and leaves the Writer as
	// it was. After an I/O error every later call returns that error.
	// Write has copied what it needs from r when it returns, so r's memory
	// may then be reused (batch.Options.RecycleResults).
	Write(r *batch.Result) error
	// Commit finishes the file and renames it into place. If it fails, the
	// temporary file is removed and the destination left untouched.
	Commit() error
	// Abort removes the temporary file. It does nothing after Commit or a
	// previous Abort.
	Abort() error
}

// CreateOptions are the options of CreateParquet, CreateIPC and Create.
// The zero value (or nil) gives the defaults.
type CreateOptions struct {
	// Refuse lists the files the caller reads from: creating a Writer
	// fails if the destination is one of them (compared with os.SameFile,
	// so through links too), so that a tool never replaces its own input.
	// Paths that do not exist are ignored.
	Refuse []string

	// RowGroupBytes bounds the codes, scales and zero points of a Parquet
	// row group; 0 means 64 MiB. A row group is kept in memory, compressed,
	// until it is closed; a layer that would take it past the bound starts
	// the next one, so the Writer holds at most RowGroupBytes or one layer,
	// whichever is more.
	RowGroupBytes int64

	// RowGroupLayers closes a Parquet row group once it holds this many
	// layers; 0 means 1024.
	RowGroupLayers int
}

// Create creates a Writer for path, choosing the format by the name's
// extension: Parquet for ".parquet" and ".pq", the Arrow IPC file format for
// ".arrow", ".ipc" and ".feather". Any other extension is refused.
func Create(path string, opts *CreateOptions) (Writer, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".parquet", ".pq":
		return CreateParquet(path, opts)
	case ".arrow", ".ipc", ".feather":
		return CreateIPC(path, opts)
	}
	return nil, fmt.Errorf("arrowio: %s: unknown extension: want .parquet or .arrow", path)
}

// output is the temporary file behind a Writer, and the checks every
// Writer makes on the results it is given.
type output struct {
	path   string
	f      *atomicfile.File
	buf    *bufio.Writer
	last   string // name of the last layer written
	layers int
	err    error // first I/O error; every later call returns it
	done   bool  // Commit or Abort has run
}

// create checks the destination and creates the temporary file beside it.
func create(path string, opts *CreateOptions) (*output, error) {
	var refuse []string
	if opts != nil {
		refuse = opts.Refuse
	}
	f, err := atomicfile.Create(path, refuse)
	if err != nil {
		return nil, fmt.Errorf("arrowio: %w", err)
	}
	return &output{path: path, f: f, buf: bufio.NewWriterSize(f, 1<<20)}, nil
}

// Write implements io.Writer for the format encoders, remembering the
// first error.
func (o *output) Write(p []byte) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	n, err := o.buf.Write(p)
	if err != nil {
		o.err = fmt.Errorf("arrowio: writing %s: %w", o.f.Name(), err)
	}
	return n, o.err
}

// check refuses a result that is out of order or inconsistent, before
// anything of it is written.
func (o *output) check(r *batch.Result) error {
	if o.done {
		return fmt.Errorf("arrowio: %s: Write after Commit or Abort", o.path)
	}
	if o.err != nil {
		return o.err
	}
	if o.layers > 0 && r.Name <= o.last {
		return fmt.Errorf("arrowio: %s: layer %q written after %q: layers must come in strictly increasing name order", o.path, r.Name, o.last)
	}
	if err := r.Tensor.Check(); err != nil {
		return &batch.LayerError{Layer: r.Name, Err: err}
	}
	return nil
}

// wrote records that r was written, or the error writing it.
func (o *output) wrote(r *batch.Result, err error) error {
	if err != nil {
		if o.err == nil {
			o.err = fmt.Errorf("arrowio: %s: writing layer %q: %w", o.path, r.Name, err)
		}
		return o.err
	}
	o.last = r.Name
	o.layers++
	return nil
}

// commit finishes the format with closeFormat (its footer), then flushes,
// syncs and closes the temporary file and renames it into place; on failure
// it removes it.
func (o *output) commit(closeFormat func() error) error {
	if o.done {
		return fmt.Errorf("arrowio: %s: Commit after Commit or Abort", o.path)
	}
	if o.err == nil {
		if err := closeFormat(); err != nil {
			o.err = fmt.Errorf("arrowio: %s: %w", o.path, err)
		}
	}
	o.done = true
	if o.err != nil {
		o.f.Abort()
		return o.err
	}
	if err := o.buf.Flush(); err != nil {
		o.f.Abort()
		return fmt.Errorf("arrowio: committing %s: %w", o.path, err)
	}
	if err := o.f.Commit(); err != nil {
		return fmt.Errorf("arrowio: committing %s: %w", o.path, err)
	}
	return nil
}

// abort removes the temporary file unless Commit or Abort already ran.
func (o *output) abort() error {
	if o.done {
		return nil
	}
	o.done = true
	if err := o.f.Abort(); err != nil {
		return fmt.Errorf("arrowio: %w", err)
	}
	return nil
}
