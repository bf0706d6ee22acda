package arrowio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/arrowquant/arrowquant/internal/mmap"
)

// Magic bytes of the formats OpenTable recognises.
var (
	parquetMagic = []byte("PAR1")
	arrowMagic   = []byte("ARROW1")
)

// OpenTable opens the Parquet or Arrow IPC file at path, whether it holds
// weights (the input of Layers and Quantize) or results (the input of
// Results). The format is recognised by the file's magic bytes, not its
// name: Parquet ("PAR1"), the Arrow IPC file format ("ARROW1") or the Arrow
// IPC stream format.
//
// An Arrow IPC file is memory-mapped, and its arrays view the mapping: the
// table costs no memory until its buffers are read. A Parquet file is
// decoded into memory, every column that OpenTable can represent:
// BYTE_ARRAY (as large_utf8 when annotated as a string, large_binary
// otherwise), INT32 and INT64 (with their integer annotations: uint8,
// uint32, ...), FLOAT, DOUBLE and float16, at the top level or as the
// elements of a list (as large_list); columns of other types, such as
// nested groups or timestamps, are left out.
//
// The caller must call close once done with the table (later calls do
// nothing); close releases the table and unmaps the file, after which no
// array of the table, nor a batch.Layer read from it, may be used.
// A file that is not well formed gives a *FormatError; every record batch of
// an IPC file is validated (array.ValidateRecordFull) before it is returned,
// so later reads of its buffers stay in bounds.
func OpenTable(path string) (tbl arrow.Table, close func() error, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("arrowio: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("arrowio: %w", err)
	}
	if st.Size() == 0 {
		return nil, nil, &FormatError{Path: path, Err: errors.New("the file is empty")}
	}
	if int64(int(st.Size())) != st.Size() {
		return nil, nil, &FormatError{Path: path, Err: errors.New("the file is too large to map")}
	}
	data, unmap, err := mmap.Map(f, int(st.Size()))
	if err != nil {
		return nil, nil, fmt.Errorf("arrowio: mapping %s: %w", path, err)
	}
	tbl, mapped, err := openBytes(data)
	if err != nil {
		unmap()
		var fe *FormatError
		if errors.As(err, &fe) {
			fe.Path = path
		}
		return nil, nil, err
	}
	if !mapped {
		// The table holds copies: the mapping is no longer needed.
		if err := unmap(); err != nil {
			tbl.Release()
			return nil, nil, fmt.Errorf("arrowio: %w", err)
		}
		unmap = func() error { return nil }
	}
	closed := false
	return tbl, func() error {
		if closed {
			return nil
		}
		closed = true
		tbl.Release()
		return unmap()
	}, nil
}

// openBytes reads a table from the bytes of a Parquet or Arrow IPC file and
// reports whether the table views data (true for the IPC file format). A
// panic of the underlying readers on corrupt input becomes a *FormatError.
func openBytes(data []byte) (tbl arrow.Table, views bool, err error) {
	format := "Arrow IPC"
	defer func() {
		if p := recover(); p != nil {
			tbl, views, err = nil, false, &FormatError{Err: fmt.Errorf("the %s reader panicked on corrupt input: %v", format, p)}
		}
	}()
	switch {
	case bytes.HasPrefix(data, parquetMagic):
		format = "Parquet"
		tbl, err = readParquet(data)
		return tbl, false, err
	case bytes.HasPrefix(data, arrowMagic):
		if err := verifyIPCFile(data); err != nil {
			return nil, false, &FormatError{Err: err}
		}
		r, err := ipc.NewMappedFileReader(data, ipcLimits(data)...)
		if err != nil {
			return nil, false, &FormatError{Err: err}
		}
		defer r.Close()
		var recs []arrow.RecordBatch
		defer func() { releaseAll(recs) }()
		for i := range r.NumRecords() {
			rec, err := r.RecordBatchAt(i)
			if err != nil {
				return nil, false, &FormatError{Err: fmt.Errorf("record batch %d: %w", i, err)}
			}
			recs = append(recs, rec)
			if err := array.ValidateRecordFull(rec); err != nil {
				return nil, false, &FormatError{Err: fmt.Errorf("record batch %d: %w", i, err)}
			}
		}
		return array.NewTableFromRecords(r.Schema(), recs), true, nil
	case len(data) >= 4 && binary.LittleEndian.Uint32(data) == 0xFFFFFFFF:
		tbl, err = readIPCStream(data)
		return tbl, false, err
	}
	return nil, false, &FormatError{Err: errors.New("not a Parquet or Arrow IPC file (no PAR1 or ARROW1 magic bytes)")}
}

// readIPCStream reads the Arrow IPC stream format, copying the buffers.
func readIPCStream(data []byte) (arrow.Table, error) {
	if err := verifyIPCStream(data); err != nil {
		return nil, &FormatError{Err: err}
	}
	// ipc.NewReader does not pass its size limits on to the message
	// reader: build that one with them.
	r, err := ipc.NewReaderFromMessageReader(ipc.NewMessageReader(bytes.NewReader(data), ipcLimits(data)...))
	if err != nil {
		return nil, &FormatError{Err: err}
	}
	defer r.Release()
	var recs []arrow.RecordBatch
	defer func() { releaseAll(recs) }()
	for i := 0; r.Next(); i++ {
		rec := r.RecordBatch()
		if err := array.ValidateRecordFull(rec); err != nil {
			return nil, &FormatError{Err: fmt.Errorf("record batch %d: %w", i, err)}
		}
		rec.Retain()
		recs = append(recs, rec)
	}
	if err := r.Err(); err != nil && !errors.Is(err, io.EOF) {
		return nil, &FormatError{Err: err}
	}
	return array.NewTableFromRecords(r.Schema(), recs), nil
}

// ipcLimits lifts arrow-go's default limits on message sizes (a record
// batch body of 256 MiB, less than one large layer's codes) to what the
// data can hold.
func ipcLimits(data []byte) []ipc.Option {
	return []ipc.Option{ipc.WithMetadataSizeLimit(int64(len(data))), ipc.WithBodySizeLimit(int64(len(data)))}
}

func releaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}
