package arrowio

import (
	"bytes"
	"errors"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// This file turns Parquet into Arrow arrays with the low-level parquet/file
// reader, for the few shapes of column arrowquant's tables use: a primitive
// column, or a list of primitives (in the standard three-level form, the
// legacy two-level form or as a bare repeated field). It is a small
// replacement for pqarrow, which would link gRPC into every program.

// readChunk is the number of levels read at a time.
const readChunk = 1 << 16

// pqColumn is a top-level Parquet field that readParquet turns into an
// Arrow column.
type pqColumn struct {
	leaf   int            // the leaf column's index
	field  arrow.Field    // the Arrow column
	elem   arrow.DataType // the leaf's Arrow type
	list   bool
	maxDef int16 // definition level of a present value
	// For a list: a definition level below nullDef is a null list, nullDef
	// itself an empty list, and from nullDef+1 up an element (null below
	// maxDef). For a primitive column, below maxDef is null.
	nullDef int16
}

// readParquet reads a Parquet file into a table of the supported columns,
// one record batch per row group.
func readParquet(data []byte) (arrow.Table, error) {
	// A page can be as large as the file (arrowquant writes a layer's codes
	// as one value, so one page); arrow-go's defaults (64 MiB compressed,
	// 256 MiB uncompressed) would refuse a large layer.
	props := parquet.NewReaderProperties(nil)
	props.MaxCompressedPageSize = max(int64(len(data)), 1)
	props.MaxUncompressedPageSize = min(math.MaxInt32, max(parquet.DefaultMaxUncompressedPageSize, 64*int64(len(data))))
	if err := verifyParquetSchema(data); err != nil {
		return nil, &FormatError{Err: err}
	}
	pf, err := file.NewParquetReader(bytes.NewReader(data), file.WithReadProps(props))
	if err != nil {
		return nil, &FormatError{Err: err}
	}
	defer pf.Close()
	md := pf.MetaData()
	cols := planColumns(md.Schema)
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = c.field
	}
	var keys, values []string
	for _, kv := range md.KeyValueMetadata() {
		// ARROW:schema describes the types pqarrow would give, not ours.
		if kv.Key != "ARROW:schema" && kv.Value != nil {
			keys, values = append(keys, kv.Key), append(values, *kv.Value)
		}
	}
	meta := arrow.NewMetadata(keys, values)
	sc := arrow.NewSchema(fields, &meta)

	var recs []arrow.RecordBatch
	defer func() { releaseAll(recs) }()
	for g := range pf.NumRowGroups() {
		rg := pf.RowGroup(g)
		rows := rg.NumRows()
		arrays := make([]arrow.Array, 0, len(cols))
		err := func() error {
			for _, c := range cols {
				a, err := readColumn(rg, c, rows, int64(len(data)))
				if err != nil {
					return fmt.Errorf("row group %d, column %q: %w", g, c.field.Name, err)
				}
				arrays = append(arrays, a)
			}
			return nil
		}()
		if err == nil {
			recs = append(recs, array.NewRecordBatch(sc, arrays, rows))
		}
		for _, a := range arrays {
			a.Release()
		}
		if err != nil {
			return nil, &FormatError{Err: err}
		}
	}
	return array.NewTableFromRecords(sc, recs), nil
}

// planColumns lists the top-level fields of sc that readParquet can turn
// into Arrow columns.
func planColumns(sc *schema.Schema) []pqColumn {
	var cols []pqColumn
	root := sc.Root()
	for i := range root.NumFields() {
		node := root.Field(i)
		c := pqColumn{field: arrow.Field{Name: node.Name(), Nullable: node.RepetitionType() == parquet.Repetitions.Optional}}
		var leaf schema.Node
		switch n := node.(type) {
		case *schema.PrimitiveNode:
			leaf = n
			c.list = n.RepetitionType() == parquet.Repetitions.Repeated // a bare repeated field
		case *schema.GroupNode:
			leaf = listElement(n)
			c.list = true
			if n.RepetitionType() == parquet.Repetitions.Optional {
				c.nullDef = 1
			}
		}
		if leaf == nil {
			continue
		}
		c.leaf = sc.ColumnIndexByNode(leaf)
		if c.leaf < 0 {
			continue
		}
		col := sc.Column(c.leaf)
		c.elem = arrowType(col)
		c.maxDef = col.MaxDefinitionLevel()
		switch {
		case c.elem == nil:
			continue
		case c.list && col.MaxRepetitionLevel() != 1, !c.list && col.MaxRepetitionLevel() != 0:
			continue
		case c.list:
			c.field.Type = arrow.LargeListOfField(arrow.Field{Name: "element", Type: c.elem, Nullable: c.maxDef > c.nullDef+1})
		default:
			c.field.Type = c.elem
		}
		cols = append(cols, c)
	}
	return cols
}

// listElement returns the primitive element of a LIST-annotated group, or
// nil if g is not a list of primitives.
func listElement(g *schema.GroupNode) schema.Node {
	_, isList := g.LogicalType().(schema.ListLogicalType)
	if (!isList && g.ConvertedType() != schema.ConvertedTypes.List) || g.NumFields() != 1 ||
		g.RepetitionType() == parquet.Repetitions.Repeated {
		return nil
	}
	rep := g.Field(0)
	if rep.RepetitionType() != parquet.Repetitions.Repeated {
		return nil
	}
	switch r := rep.(type) {
	case *schema.PrimitiveNode: // two-level form: the repeated field is the element
		return r
	case *schema.GroupNode: // three-level form
		if r.NumFields() == 1 {
			if e, ok := r.Field(0).(*schema.PrimitiveNode); ok && e.RepetitionType() != parquet.Repetitions.Repeated {
				return e
			}
		}
	}
	return nil
}

// arrowType is the Arrow type readParquet gives a leaf column, or nil if it
// does not read that type.
func arrowType(col *schema.Column) arrow.DataType {
	lt := col.LogicalType()
	_, none := lt.(schema.NoLogicalType)
	if lt == nil {
		none = true
	}
	it, isInt := lt.(schema.IntLogicalType)
	switch col.PhysicalType() {
	case parquet.Types.Int32:
		switch {
		case none:
			return arrow.PrimitiveTypes.Int32
		case !isInt:
			return nil
		}
		switch w, s := it.BitWidth(), it.IsSigned(); {
		case w == 8 && s:
			return arrow.PrimitiveTypes.Int8
		case w == 8:
			return arrow.PrimitiveTypes.Uint8
		case w == 16 && s:
			return arrow.PrimitiveTypes.Int16
		case w == 16:
			return arrow.PrimitiveTypes.Uint16
		case w == 32 && s:
			return arrow.PrimitiveTypes.Int32
		case w == 32:
			return arrow.PrimitiveTypes.Uint32
		}
	case parquet.Types.Int64:
		switch {
		case none, isInt && it.BitWidth() == 64 && it.IsSigned():
			return arrow.PrimitiveTypes.Int64
		case isInt && it.BitWidth() == 64:
			return arrow.PrimitiveTypes.Uint64
		}
	case parquet.Types.Float:
		if none {
			return arrow.PrimitiveTypes.Float32
		}
	case parquet.Types.Double:
		if none {
			return arrow.PrimitiveTypes.Float64
		}
	case parquet.Types.ByteArray:
		switch lt.(type) {
		case schema.StringLogicalType:
			return arrow.BinaryTypes.LargeString
		case nil, schema.NoLogicalType:
			return arrow.BinaryTypes.LargeBinary
		}
	case parquet.Types.FixedLenByteArray:
		if _, ok := lt.(schema.Float16LogicalType); ok && col.TypeLength() == 2 {
			return arrow.FixedWidthTypes.Float16
		}
	}
	return nil
}

// valueSink collects the values of one column chunk into an Arrow array.
type valueSink interface {
	// next reads up to readChunk levels into defs and reps (nil when the
	// column has none) and the present values into a buffer.
	next(defs, reps []int16) (levels int64, values int, err error)
	// take appends values [from, to) of the buffer to the array.
	take(from, to int)
	// null appends a placeholder for a null value.
	null()
	// build returns the array data of the n values appended.
	build(n int, validity *memory.Buffer, nulls int) (*array.Data, error)
}

// readColumn reads column c of a row group as an array of rows rows.
func readColumn(rg *file.RowGroupReader, c pqColumn, rows, fileSize int64) (arrow.Array, error) {
	cc, err := rg.MetaData().ColumnChunk(c.leaf)
	if err != nil {
		return nil, err
	}
	// arrow-go reads the whole chunk into a buffer of the size the metadata
	// claims: check it lies within the file first.
	start, size := cc.DataPageOffset(), cc.TotalCompressedSize()
	if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 && start > cc.DictionaryPageOffset() {
		start = cc.DictionaryPageOffset()
	}
	if start < 0 || size < 0 || start > fileSize-size {
		return nil, fmt.Errorf("column chunk [%d, +%d) lies outside the %d-byte file", start, size, fileSize)
	}
	cr, err := rg.Column(c.leaf)
	if err != nil {
		return nil, err
	}
	// The value count comes from the file too: trust it for a first
	// allocation only as far as the file is large.
	hint := max(0, min(cc.NumValues(), fileSize))
	sink := newSink(cr, c.elem, int(hint))
	if bs, ok := sink.(*bytesSink); ok {
		// Values plus their length prefixes, as far as a decompression
		// ratio of 64 makes plausible.
		bs.data = make([]byte, 0, max(0, min(cc.TotalUncompressedSize(), 64*fileSize)))
	}
	var defs, reps []int16
	if c.maxDef > 0 {
		defs = make([]int16, readChunk)
	}
	if c.list {
		reps = make([]int16, readChunk)
	}
	var (
		nrows, nvalues   int64   // rows started, values (list elements) appended
		offsets          []int64 // list: where each row starts
		rowNulls, valNul []int64 // positions of null rows and of null values
	)
	for cr.HasNext() {
		n, nv, err := sink.next(defs, reps)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
		switch {
		case defs == nil: // required, not repeated: every level is a value
			sink.take(0, nv)
			nrows += int64(nv)
			nvalues += int64(nv)
		case !c.list:
			k, run := 0, 0
			for i, d := range defs[:n] {
				if d == c.maxDef {
					k++
					continue
				}
				sink.take(run, k)
				sink.null()
				run = k
				rowNulls = append(rowNulls, nrows+int64(i))
			}
			sink.take(run, k)
			if k != nv {
				return nil, fmt.Errorf("%d values for %d present definition levels", nv, k)
			}
			nrows += n
			nvalues = nrows
		default:
			k, run := 0, 0
			for i, d := range defs[:n] {
				if reps[i] == 0 {
					offsets = append(offsets, nvalues)
					nrows++
				} else if nrows == 0 || reps[i] != 1 {
					return nil, fmt.Errorf("repetition level %d at the start of a row", reps[i])
				}
				switch {
				case d < c.nullDef:
					if reps[i] != 0 {
						return nil, errors.New("a null list inside a list")
					}
					rowNulls = append(rowNulls, nrows-1)
				case d == c.nullDef: // an empty list
					if reps[i] != 0 {
						return nil, errors.New("an empty list inside a list")
					}
				case d == c.maxDef:
					k++
					nvalues++
				default: // a null element
					sink.take(run, k)
					sink.null()
					run = k
					valNul = append(valNul, nvalues)
					nvalues++
				}
			}
			sink.take(run, k)
			if k != nv {
				return nil, fmt.Errorf("%d values for %d present definition levels", nv, k)
			}
		}
	}
	if err := cr.Err(); err != nil {
		return nil, err
	}
	if nrows != rows {
		return nil, fmt.Errorf("%d rows, but the row group has %d", nrows, rows)
	}
	if !c.list {
		d, err := sink.build(int(nrows), bitmap(nrows, rowNulls), len(rowNulls))
		if err != nil {
			return nil, err
		}
		defer d.Release()
		return array.MakeFromData(d), nil
	}
	child, err := sink.build(int(nvalues), bitmap(nvalues, valNul), len(valNul))
	if err != nil {
		return nil, err
	}
	defer child.Release()
	offsets = append(offsets, nvalues)
	d := array.NewData(c.field.Type, int(nrows),
		[]*memory.Buffer{bitmap(nrows, rowNulls), memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(offsets))},
		[]arrow.ArrayData{child}, len(rowNulls), 0)
	defer d.Release()
	return array.MakeFromData(d), nil
}

// bitmap is the validity bitmap of n values of which those at nulls are
// null, or nil when none is.
func bitmap(n int64, nulls []int64) *memory.Buffer {
	if len(nulls) == 0 {
		return nil
	}
	b := make([]byte, bitutil.BytesForBits(n))
	bitutil.SetBitsTo(b, 0, n, true)
	for _, i := range nulls {
		bitutil.ClearBit(b, int(i))
	}
	return memory.NewBufferBytes(b)
}

// newSink returns the sink for a leaf of Arrow type t (as arrowType gives)
// read by cr, with room for hint values.
func newSink(cr file.ColumnChunkReader, t arrow.DataType, hint int) valueSink {
	switch t.ID() {
	case arrow.INT8:
		return newFixed(cr.(*file.Int32ColumnChunkReader).ReadBatch, t, hint, narrow(arrow.Int8Traits.CastToBytes))
	case arrow.UINT8:
		return newFixed(cr.(*file.Int32ColumnChunkReader).ReadBatch, t, hint, narrow(arrow.Uint8Traits.CastToBytes))
	case arrow.INT16:
		return newFixed(cr.(*file.Int32ColumnChunkReader).ReadBatch, t, hint, narrow(arrow.Int16Traits.CastToBytes))
	case arrow.UINT16:
		return newFixed(cr.(*file.Int32ColumnChunkReader).ReadBatch, t, hint, narrow(arrow.Uint16Traits.CastToBytes))
	case arrow.INT32, arrow.UINT32: // a uint32 is stored as the int32 of the same bits
		return newFixed(cr.(*file.Int32ColumnChunkReader).ReadBatch, t, hint, same(arrow.Int32Traits.CastToBytes))
	case arrow.INT64, arrow.UINT64:
		return newFixed(cr.(*file.Int64ColumnChunkReader).ReadBatch, t, hint, same(arrow.Int64Traits.CastToBytes))
	case arrow.FLOAT32:
		return newFixed(cr.(*file.Float32ColumnChunkReader).ReadBatch, t, hint, same(arrow.Float32Traits.CastToBytes))
	case arrow.FLOAT64:
		return newFixed(cr.(*file.Float64ColumnChunkReader).ReadBatch, t, hint, same(arrow.Float64Traits.CastToBytes))
	case arrow.FLOAT16:
		return &float16Sink{read: cr.(*file.FixedLenByteArrayColumnChunkReader).ReadBatch, buf: make([]parquet.FixedLenByteArray, readChunk), out: make([]byte, 0, 2*hint)}
	case arrow.LARGE_STRING, arrow.LARGE_BINARY:
		return &bytesSink{read: cr.(*file.ByteArrayColumnChunkReader).ReadBatch, t: t, buf: make([]parquet.ByteArray, readChunk), offsets: []int64{0}}
	}
	panic(fmt.Sprintf("arrowio: no Parquet sink for %v", t))
}

// fixedSink collects values of a fixed-width physical type T.
type fixedSink[T any] struct {
	read   func(int64, []T, []int16, []int16) (int64, int, error)
	t      arrow.DataType
	buf    []T
	out    []T
	finish func([]T) ([]byte, error) // to the bytes of the Arrow type
}

func newFixed[T any](read func(int64, []T, []int16, []int16) (int64, int, error), t arrow.DataType, hint int, finish func([]T) ([]byte, error)) *fixedSink[T] {
	return &fixedSink[T]{read: read, t: t, buf: make([]T, readChunk), out: make([]T, 0, hint), finish: finish}
}

func (s *fixedSink[T]) next(defs, reps []int16) (int64, int, error) {
	return s.read(readChunk, s.buf, defs, reps)
}
func (s *fixedSink[T]) take(from, to int) { s.out = append(s.out, s.buf[from:to]...) }
func (s *fixedSink[T]) null()             { var zero T; s.out = append(s.out, zero) }
func (s *fixedSink[T]) build(n int, validity *memory.Buffer, nulls int) (*array.Data, error) {
	b, err := s.finish(s.out)
	if err != nil {
		return nil, err
	}
	return array.NewData(s.t, n, []*memory.Buffer{validity, memory.NewBufferBytes(b)}, nil, nulls, 0), nil
}

// same keeps values of the Arrow type's own width.
func same[T any](cast func([]T) []byte) func([]T) ([]byte, error) {
	return func(v []T) ([]byte, error) { return cast(v), nil }
}

// narrow converts int32 values to a narrower integer type N, refusing
// values out of its range.
func narrow[N int8 | uint8 | int16 | uint16](cast func([]N) []byte) func([]int32) ([]byte, error) {
	return func(v []int32) ([]byte, error) {
		out := make([]N, len(v))
		for i, x := range v {
			out[i] = N(x)
			if int32(out[i]) != x {
				return nil, fmt.Errorf("value %d at index %d is out of range for %T", x, i, out[i])
			}
		}
		return cast(out), nil
	}
}

// float16Sink collects binary16 values as raw bytes, never converting them.
type float16Sink struct {
	read func(int64, []parquet.FixedLenByteArray, []int16, []int16) (int64, int, error)
	buf  []parquet.FixedLenByteArray
	out  []byte
}

func (s *float16Sink) next(defs, reps []int16) (int64, int, error) {
	return s.read(readChunk, s.buf, defs, reps)
}
func (s *float16Sink) take(from, to int) {
	for _, v := range s.buf[from:to] {
		s.out = append(s.out, v[:2]...)
	}
}
func (s *float16Sink) null() { s.out = append(s.out, 0, 0) }
func (s *float16Sink) build(n int, validity *memory.Buffer, nulls int) (*array.Data, error) {
	return array.NewData(arrow.FixedWidthTypes.Float16, n, []*memory.Buffer{validity, memory.NewBufferBytes(s.out)}, nil, nulls, 0), nil
}

// bytesSink collects byte arrays, copying them out of the pages they alias.
type bytesSink struct {
	read    func(int64, []parquet.ByteArray, []int16, []int16) (int64, int, error)
	t       arrow.DataType
	buf     []parquet.ByteArray
	data    []byte
	offsets []int64
}

func (s *bytesSink) next(defs, reps []int16) (int64, int, error) {
	return s.read(readChunk, s.buf, defs, reps)
}
func (s *bytesSink) take(from, to int) {
	for _, v := range s.buf[from:to] {
		if len(s.data)+len(v) > cap(s.data) {
			// Grow by doubling: append's slower growth for large slices
			// copies multi-megabyte codes many times.
			s.data = append(make([]byte, 0, max(2*cap(s.data), len(s.data)+len(v))), s.data...)
		}
		s.data = append(s.data, v...)
		s.offsets = append(s.offsets, int64(len(s.data)))
	}
}
func (s *bytesSink) null() { s.offsets = append(s.offsets, int64(len(s.data))) }
func (s *bytesSink) build(n int, validity *memory.Buffer, nulls int) (*array.Data, error) {
	return array.NewData(s.t, n, []*memory.Buffer{validity,
		memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(s.offsets)), memory.NewBufferBytes(s.data)}, nil, nulls, 0), nil
}
