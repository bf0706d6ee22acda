package arrowio

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/arrowquant/arrowquant/batch"
)

// parquetSchema is ResultSchema in Parquet terms: every column required,
// lists in the standard three-level form with required elements.
func parquetSchema() *schema.GroupNode {
	req := parquet.Repetitions.Required
	prim := func(name string, t parquet.Type, lt schema.LogicalType) schema.Node {
		return schema.MustPrimitive(schema.NewPrimitiveNodeLogical(name, req, lt, t, -1, -1))
	}
	list := func(name string, t parquet.Type) schema.Node {
		return schema.MustGroup(schema.ListOfWithName(name, prim("element", t, schema.NoLogicalType{}), req, -1))
	}
	return schema.MustGroup(schema.NewGroupNode("schema", req, schema.FieldList{
		prim(colName, parquet.Types.ByteArray, schema.StringLogicalType{}),
		list(colShape, parquet.Types.Int64),
		prim(colBits, parquet.Types.Int32, schema.NewIntLogicalType(8, false)),
		prim(colGroupSize, parquet.Types.Int32, schema.NewIntLogicalType(32, false)),
		prim(colCodes, parquet.Types.ByteArray, schema.NoLogicalType{}),
		list(colScales, parquet.Types.Float),
		list(colZeroPoints, parquet.Types.Float),
		prim(colCosine, parquet.Types.Double, schema.NoLogicalType{}),
		prim(colRMSE, parquet.Types.Double, schema.NoLogicalType{}),
	}, -1))
}

// maxParquetValue is the largest byte array a Parquet page can hold: page
// sizes are 32-bit, and a plain-encoded value has a 4-byte length prefix.
const maxParquetValue = math.MaxInt32 - 4

// levelChunk is the number of list elements handed to a column writer at a
// time, so that repetition and definition levels need no per-layer buffer.
const levelChunk = 1 << 16

// parquetWriter writes a result table as Parquet, compressed with zstd,
// through arrow-go's low-level parquet/file writer. Each row group is
// buffered (compressed) in memory until it is full (see CreateOptions),
// then written out.
type parquetWriter struct {
	out       *output
	fw        *file.Writer
	rg        file.BufferedRowGroupWriter
	rgBytes   int64
	rgLayers  int
	maxBytes  int64
	maxLayers int
	ones      []int16 // levelChunk levels of 1
	first     []int16 // a 0 then levelChunk-1 levels of 1: the start of a list
}

// CreateParquet creates a Writer of a Parquet file at path. Columns are
// compressed with zstd, without dictionaries, and the file's key-value
// metadata holds VersionKey and, under "ARROW:schema", ResultSchema in the
// form pyarrow and arrow-go use to restore the exact Arrow types (uint8,
// large_binary, large_list). A layer whose codes take 2 GiB or more cannot
// be stored in Parquet, whose pages have 32-bit sizes; Write refuses it (the
// IPC format has no such limit).
func CreateParquet(path string, opts *CreateOptions) (Writer, error) {
	if opts == nil {
		opts = &CreateOptions{}
	}
	out, err := create(path, opts)
	if err != nil {
		return nil, err
	}
	w := &parquetWriter{out: out, maxBytes: opts.RowGroupBytes, maxLayers: opts.RowGroupLayers}
	if w.maxBytes <= 0 {
		w.maxBytes = 64 << 20
	}
	if w.maxLayers <= 0 {
		w.maxLayers = 1024
	}
	w.ones = make([]int16, levelChunk)
	for i := range w.ones {
		w.ones[i] = 1
	}
	w.first = append([]int16{0}, w.ones[1:]...)

	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithDictionaryDefault(false),
		parquet.WithDataPageVersion(parquet.DataPageV1),
		// Statistics of the codes would be megabytes of min and max; the
		// other columns keep theirs.
		parquet.WithStatsFor(colCodes, false),
		parquet.WithCreatedBy("arrowquant"),
	)
	kv := metadata.NewKeyValueMetadata()
	kv.Append(VersionKey, FormatVersion)
	kv.Append("ARROW:schema", base64.StdEncoding.EncodeToString(serializedSchema()))
	w.fw, err = file.NewParquetWriterWithError(out, parquetSchema(), file.WithWriterProps(props), file.WithWriteMetadata(kv))
	if err != nil {
		out.abort()
		return nil, fmt.Errorf("arrowio: %s: %w", path, err)
	}
	return w, nil
}

// serializedSchema is ResultSchema as an IPC stream holding only the
// schema, the form of the "ARROW:schema" Parquet metadata.
func serializedSchema() []byte {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(resultSchema))
	w.Close()
	return buf.Bytes()
}

func (w *parquetWriter) Write(r *batch.Result) error {
	if err := w.out.check(r); err != nil {
		return err
	}
	if len(r.Codes) > maxParquetValue {
		return &batch.LayerError{Layer: r.Name, Err: fmt.Errorf("%d bytes of codes: Parquet cannot store a value of 2 GiB or more; write Arrow IPC instead", len(r.Codes))}
	}
	return w.out.wrote(r, w.write(r))
}

// write appends r as one row of the current row group, which it closes
// when full.
func (w *parquetWriter) write(r *batch.Result) (err error) {
	size := int64(len(r.Codes)) + 4*int64(len(r.Scales)+len(r.ZeroPoints))
	if w.rg != nil && w.rgBytes+size > w.maxBytes {
		// A layer that would overflow the row group starts the next one,
		// so that a large layer is held in memory alone.
		err = w.rg.Close()
		w.rg = nil
		if err != nil {
			return err
		}
	}
	if w.rg == nil {
		if w.rg, err = w.fw.AppendBufferedRowGroupChecked(); err != nil {
			return err
		}
		w.rgBytes, w.rgLayers = 0, 0
	}
	cols := make([]file.ColumnChunkWriter, numResultCols)
	for i := range cols {
		if cols[i], err = w.rg.Column(i); err != nil {
			return err
		}
	}
	shape := make([]int64, len(r.Shape))
	for i, d := range r.Shape {
		shape[i] = int64(d)
	}
	steps := []func() error{
		func() error { return writeOne(cols[iName], parquet.ByteArray(r.Name)) },
		func() error {
			return writeList(cols[iShape].(*file.Int64ColumnChunkWriter).WriteBatch, shape, w.first, w.ones)
		},
		func() error { return writeOne(cols[iBits], int32(r.Bits)) },
		func() error { return writeOne(cols[iGroupSize], int32(uint32(r.GroupSize))) },
		func() error { return writeOne(cols[iCodes], parquet.ByteArray(r.Codes)) },
		func() error {
			return writeList(cols[iScales].(*file.Float32ColumnChunkWriter).WriteBatch, r.Scales, w.first, w.ones)
		},
		func() error {
			return writeList(cols[iZeroPoints].(*file.Float32ColumnChunkWriter).WriteBatch, r.ZeroPoints, w.first, w.ones)
		},
		func() error { return writeOne(cols[iCosine], r.Quality.Cosine) },
		func() error { return writeOne(cols[iRMSE], r.Quality.RMSE) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	w.rgBytes += size
	w.rgLayers++
	if w.rgBytes >= w.maxBytes || w.rgLayers >= w.maxLayers {
		err = w.rg.Close()
		w.rg = nil
	}
	return err
}

// writeOne writes one required value.
func writeOne(cw file.ColumnChunkWriter, v any) error {
	var err error
	switch v := v.(type) {
	case parquet.ByteArray:
		_, err = cw.(*file.ByteArrayColumnChunkWriter).WriteBatch([]parquet.ByteArray{v}, nil, nil)
	case int32:
		_, err = cw.(*file.Int32ColumnChunkWriter).WriteBatch([]int32{v}, nil, nil)
	case float64:
		_, err = cw.(*file.Float64ColumnChunkWriter).WriteBatch([]float64{v}, nil, nil)
	default:
		panic(fmt.Sprintf("arrowio: writeOne of %T", v))
	}
	return err
}

// writeList writes one required list of required values (definition level
// 1 for each value, repetition level 0 for the first and 1 for the others),
// levelChunk values at a time.
func writeList[T any](write func([]T, []int16, []int16) (int64, error), values []T, first, ones []int16) error {
	if len(values) == 0 {
		_, err := write(nil, []int16{0}, []int16{0}) // an empty list
		return err
	}
	for off := 0; off < len(values); off += levelChunk {
		n := min(levelChunk, len(values)-off)
		rep := ones[:n]
		if off == 0 {
			rep = first[:n]
		}
		if _, err := write(values[off:off+n], ones[:n], rep); err != nil {
			return err
		}
	}
	return nil
}

func (w *parquetWriter) Commit() error { return w.out.commit(w.fw.Close) }

func (w *parquetWriter) Abort() error { return w.out.abort() }
