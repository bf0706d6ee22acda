package arrowio

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/arrowquant/arrowquant/quant"
)

// QuantizedLayer is one row of a result table: a named quantized tensor,
// ready for quant.Dequantize, and the quality figures stored with it.
type QuantizedLayer struct {
	Name string
	// Tensor's Format is not stored in the table: it is quant.Float16 when
	// every scale and zero point is exactly a binary16 value (always the
	// case for a tensor the engine quantized with float16 scales) and
	// quant.Float32 otherwise.
	quant.Tensor
	Cosine float64
	RMSE   float64
}

// ReadResults reads the result table in the Parquet or Arrow IPC file at
// path (see OpenTable) and returns its layers, as Results does.
func ReadResults(path string) ([]QuantizedLayer, error) {
	tbl, closeTable, err := OpenTable(path)
	if err != nil {
		return nil, err
	}
	defer closeTable()
	layers, err := Results(tbl)
	if err != nil {
		return nil, fmt.Errorf("arrowio: %s: %w", path, err)
	}
	return layers, nil
}

// Results returns the layers of a result table (see ResultSchema), in table
// order, as copies that outlive tbl. Besides the exact types of
// ResultSchema it accepts the equivalent ones other writers produce (utf8
// or large_utf8, binary or large_binary, list or large_list, any integer
// type for bit_width and group_size).
//
// Every row is checked: no nulls, a valid bit width and group size, and as
// many bytes of codes and as many scales and zero points as its shape
// implies (quant.Tensor.Check), scales finite and positive, zero points
// finite, names unique. A schema problem is a *ColumnError; row problems
// are reported together, each a *batch.LayerError (or, for a null name, a
// bare *RowError) wrapping a *RowError that names the row and column. A
// table whose VersionKey metadata names another format version gives an
// *UnsupportedError.
func Results(tbl arrow.Table) ([]QuantizedLayer, error) {
	sc := tbl.Schema()
	if v, ok := sc.Metadata().GetValue(VersionKey); ok && v != FormatVersion {
		return nil, &UnsupportedError{What: fmt.Sprintf("result table format version %q (this reader knows %q)", v, FormatVersion)}
	}
	idx, err := resultColumns(sc)
	if err != nil {
		return nil, err
	}
	tr := array.NewTableReader(tbl, -1)
	defer tr.Release()
	var (
		layers []QuantizedLayer
		errs   []error
		rowOf  = map[string]int64{}
		base   int64
	)
	for tr.Next() {
		rec := tr.RecordBatch()
		cols := make([]arrow.Array, numResultCols)
		for i, j := range idx {
			cols[i] = rec.Column(j)
		}
		for i := range int(rec.NumRows()) {
			row := base + int64(i)
			l, column, err := resultRow(cols, i)
			if err != nil {
				name, named := l.Name, column != colName
				errs = append(errs, rowError(name, named, row, column, err))
				continue
			}
			if r0, dup := rowOf[l.Name]; dup {
				errs = append(errs, rowError(l.Name, true, row, colName, fmt.Errorf("duplicate layer name, first used in row %d", r0)))
				continue
			}
			rowOf[l.Name] = row
			layers = append(layers, l)
		}
		base += rec.NumRows()
	}
	if err := tr.Err(); err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, joinSorted(errs)
	}
	return layers, nil
}

// resultColumns finds the result columns in sc, in ResultSchema order.
func resultColumns(sc *arrow.Schema) ([]int, error) {
	type want struct {
		ok   func(arrow.DataType) bool
		desc string
	}
	isInt := func(t arrow.DataType) bool { return arrow.IsInteger(t.ID()) }
	isID := func(ids ...arrow.Type) func(arrow.DataType) bool {
		return func(t arrow.DataType) bool {
			for _, id := range ids {
				if t.ID() == id {
					return true
				}
			}
			return false
		}
	}
	listOf := func(elem arrow.Type) func(arrow.DataType) bool {
		return func(t arrow.DataType) bool {
			e := listElem(t)
			return e != nil && e.ID() == elem && t.ID() != arrow.FIXED_SIZE_LIST
		}
	}
	wants := []want{
		iName:       {isID(arrow.STRING, arrow.LARGE_STRING), "utf8"},
		iShape:      {listOf(arrow.INT64), "list<int64>"},
		iBits:       {isInt, "uint8"},
		iGroupSize:  {isInt, "uint32"},
		iCodes:      {isID(arrow.BINARY, arrow.LARGE_BINARY), "large_binary"},
		iScales:     {listOf(arrow.FLOAT32), "large_list<float32>"},
		iZeroPoints: {listOf(arrow.FLOAT32), "large_list<float32>"},
		iCosine:     {isID(arrow.FLOAT64), "float64"},
		iRMSE:       {isID(arrow.FLOAT64), "float64"},
	}
	idx := make([]int, numResultCols)
	var errs []error
	for i, w := range wants {
		name := resultSchema.Field(i).Name
		found := sc.FieldIndices(name)
		switch {
		case len(found) == 0:
			errs = append(errs, &ColumnError{Column: name, Reason: "is missing" + columnList(sc)})
		case len(found) > 1:
			errs = append(errs, &ColumnError{Column: name, Reason: fmt.Sprintf("appears %d times", len(found))})
		case !w.ok(sc.Field(found[0]).Type):
			errs = append(errs, &ColumnError{Column: name, Reason: fmt.Sprintf("has type %v, want %s", sc.Field(found[0]).Type, w.desc)})
		default:
			idx[i] = found[0]
		}
	}
	return idx, errors.Join(errs...)
}

// resultRow reads and checks row i. On error it returns the layer with its
// name (if known) and the column at fault.
func resultRow(cols []arrow.Array, i int) (QuantizedLayer, string, error) {
	var l QuantizedLayer
	for c, a := range cols {
		if a.IsNull(i) {
			if c == iName {
				return l, colName, errors.New("the layer name is null")
			}
			l.Name, _ = stringValue(cols[iName], i)
			return l, resultSchema.Field(c).Name, errors.New("null value")
		}
	}
	l.Name, _ = stringValue(cols[iName], i)
	dims, err := listValues(cols[iShape], i, func(a arrow.Array) []int64 { return a.(*array.Int64).Int64Values() })
	if err != nil {
		return l, colShape, err
	}
	l.Shape = make([]int, len(dims))
	for k, d := range dims {
		l.Shape[k] = int(d)
	}
	bits, ok := intValue(cols[iBits], i)
	if !ok || (bits != 2 && bits != 4 && bits != 8) {
		return l, colBits, fmt.Errorf("bit width %d: must be 2, 4 or 8", int64(bits))
	}
	gs, ok := intValue(cols[iGroupSize], i)
	if !ok || gs < 1 || gs > math.MaxUint32 {
		return l, colGroupSize, fmt.Errorf("group size %d: must be from 1 to 2^32-1", int64(gs))
	}
	l.Bits, l.GroupSize = int(bits), int(gs)
	l.Codes = binaryValue(cols[iCodes], i)
	float32s := func(a arrow.Array) []float32 { return a.(*array.Float32).Float32Values() }
	if l.Scales, err = listValues(cols[iScales], i, float32s); err != nil {
		return l, colScales, err
	}
	if l.ZeroPoints, err = listValues(cols[iZeroPoints], i, float32s); err != nil {
		return l, colZeroPoints, err
	}
	l.Cosine = cols[iCosine].(*array.Float64).Value(i)
	l.RMSE = cols[iRMSE].(*array.Float64).Value(i)

	if len(l.Shape) > 0 && l.Shape[len(l.Shape)-1] > math.MaxInt/8 {
		// Cols·Bits would overflow int in quant.Layout.
		return l, colShape, fmt.Errorf("shape %v is too large", l.Shape)
	}
	l.Format = quant.Float32
	if err := l.Tensor.Check(); err != nil {
		column := colCodes
		var se *quant.ShapeError
		switch {
		case errors.As(err, &se), errors.Is(err, quant.ErrEmpty):
			column = colShape
		case len(l.Codes) == l.Layout().CodesLen():
			column = colScales
		}
		return l, column, err
	}
	half := true
	for k, s := range l.Scales {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return l, colScales, fmt.Errorf("scale %d is %v: must be finite and positive", k, s)
		}
		half = half && isHalf(s)
	}
	for k, z := range l.ZeroPoints {
		if math.IsNaN(float64(z)) || math.IsInf(float64(z), 0) {
			return l, colZeroPoints, fmt.Errorf("zero point %d is %v: must be finite", k, z)
		}
		half = half && isHalf(z)
	}
	if half {
		l.Format = quant.Float16
	}
	return l, "", nil
}

// isHalf reports whether v is exactly a binary16 value.
func isHalf(v float32) bool { return quant.HalfToFloat32(quant.Float32ToHalf(v)) == v }

func stringValue(a arrow.Array, i int) (string, bool) {
	if a.IsNull(i) {
		return "", false
	}
	switch a := a.(type) {
	case *array.String:
		return strings.Clone(a.Value(i)), true
	case *array.LargeString:
		return strings.Clone(a.Value(i)), true
	}
	return "", false
}

// binaryValue returns a copy of row i of a binary or large_binary array.
func binaryValue(a arrow.Array, i int) []byte {
	switch a := a.(type) {
	case *array.Binary:
		return append([]byte{}, a.Value(i)...)
	case *array.LargeBinary:
		return append([]byte{}, a.Value(i)...)
	}
	return nil
}

// intValue returns row i of an integer array, and false if it is negative.
func intValue(a arrow.Array, i int) (uint64, bool) {
	switch a := a.(type) {
	case *array.Uint8:
		return uint64(a.Value(i)), true
	case *array.Uint16:
		return uint64(a.Value(i)), true
	case *array.Uint32:
		return uint64(a.Value(i)), true
	case *array.Uint64:
		return a.Value(i), true
	}
	var v int64
	switch a := a.(type) {
	case *array.Int8:
		v = int64(a.Value(i))
	case *array.Int16:
		v = int64(a.Value(i))
	case *array.Int32:
		v = int64(a.Value(i))
	case *array.Int64:
		v = a.Value(i)
	}
	return uint64(v), v >= 0
}

// listValues returns a copy of the elements of row i of a list or
// large_list array, whose child values() views; null elements are refused.
func listValues[T any](a arrow.Array, i int, values func(arrow.Array) []T) ([]T, error) {
	l := a.(array.ListLike)
	child := l.ListValues()
	start, end := l.ValueOffsets(i)
	if start < 0 || end < start || end > int64(child.Len()) {
		return nil, fmt.Errorf("offsets [%d, %d) are outside the %d values", start, end, child.Len())
	}
	if child.NullN() > 0 {
		for k := start; k < end; k++ {
			if child.IsNull(int(k)) {
				return nil, fmt.Errorf("element %d is null", k-start)
			}
		}
	}
	return append([]T{}, values(child)[start:end]...), nil
}
