package arrowio

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/arrowquant/arrowquant/batch"
	"github.com/arrowquant/arrowquant/quant"
)

// Layers views every row of every record batch of r as a batch.Layer.
//
// Each layer's Data is a slice of the Arrow buffer that holds the row's
// weights: float32 weights become batch.Float32 layers and float16 weights
// batch.Float16 layers, with no copy. Layers retains the record batches it
// reads; call release once the layers are no longer used (after the batch
// engine returns) to let them go. The layer names are copies and may be
// kept.
//
// A schema problem — a missing column, a column of the wrong type — is
// reported as one or more *ColumnError and no layers. Problems with single
// rows are reported together, in layer name order, as *batch.LayerError
// values wrapping a *RowError (or a bare *RowError for a row whose name is
// null); the rows without problems are returned along with that error, so
// the caller can go on, as batch.Options.ContinueOnError does. A name that
// appears in more than one row (in any record batch) is an error for every
// such row after the first, and none of them is returned.
func Layers(r array.RecordReader) (layers []batch.Layer, release func(), err error) {
	in, err := readLayers(r)
	if in == nil {
		return nil, func() {}, err
	}
	return in.layers, in.release, err
}

// input is the result of reading an input table.
type input struct {
	layers  []batch.Layer
	rows    map[string]int64 // layer name → row, for the valid layers
	records []arrow.RecordBatch
	errs    []error // row problems
}

func (in *input) release() {
	for _, rec := range in.records {
		rec.Release()
	}
	in.records = nil
}

// readLayers reads every record batch of r. It returns nil and the schema
// error, or the input and the joined row errors.
func readLayers(r array.RecordReader) (*input, error) {
	in := &input{rows: map[string]int64{}}
	first := map[string]int64{} // every name seen → its first row
	dup := map[string]bool{}    // names seen more than once
	var base int64
	for r.Next() {
		rec := r.RecordBatch()
		cols, err := inputColumns(rec)
		if err != nil {
			in.release()
			return nil, err
		}
		rec.Retain()
		in.records = append(in.records, rec)
		for i := range int(rec.NumRows()) {
			row := base + int64(i)
			name, ok := cols.name(i)
			if !ok {
				in.errs = append(in.errs, rowError("", false, row, colName, errors.New("the layer name is null")))
				continue
			}
			if r0, seen := first[name]; seen {
				dup[name] = true
				in.errs = append(in.errs, rowError(name, true, row, colName,
					fmt.Errorf("duplicate layer name, first used in row %d; no row of that name is quantized", r0)))
				continue
			}
			first[name] = row
			l, column, err := cols.layer(i)
			if err != nil {
				in.errs = append(in.errs, rowError(name, true, row, column, err))
				continue
			}
			l.Name = name
			in.layers = append(in.layers, l)
			in.rows[name] = row
		}
		base += rec.NumRows()
	}
	if err := r.Err(); err != nil {
		in.release()
		return nil, fmt.Errorf("arrowio: reading record batches: %w", err)
	}
	if len(dup) > 0 {
		in.layers = slices.DeleteFunc(in.layers, func(l batch.Layer) bool { return dup[l.Name] })
		for name := range dup {
			delete(in.rows, name)
		}
	}
	return in, joinSorted(in.errs)
}

// joinSorted joins row errors in layer name order, then row order; rows
// without a name come first.
func joinSorted(errs []error) error {
	key := func(err error) (string, int64) {
		var le *batch.LayerError
		var re *RowError
		name := ""
		if errors.As(err, &le) {
			name = le.Layer
		}
		if errors.As(err, &re) {
			return name, re.Row
		}
		return name, -1
	}
	slices.SortStableFunc(errs, func(a, b error) int {
		na, ra := key(a)
		nb, rb := key(b)
		return cmp.Or(cmp.Compare(na, nb), cmp.Compare(ra, rb))
	})
	return errors.Join(errs...)
}

// inputCols are the accessors of the input columns of one record batch.
type inputCols struct {
	names   arrow.Array // *array.String or *array.LargeString
	weights array.ListLike
	values  arrow.Array // the weights' child values, *array.Float32 or *array.Float16
	dtype   batch.DType
	shape   array.ListLike // nil when the column is absent
	dims    *array.Int64
}

// inputColumns finds and checks the input columns of rec.
func inputColumns(rec arrow.RecordBatch) (*inputCols, error) {
	sc := rec.Schema()
	var errs []error
	find := func(name string, required bool) int {
		idx := sc.FieldIndices(name)
		switch {
		case len(idx) == 0 && required:
			errs = append(errs, &ColumnError{Column: name, Reason: "is missing" + columnList(sc)})
		case len(idx) > 1:
			errs = append(errs, &ColumnError{Column: name, Reason: fmt.Sprintf("appears %d times", len(idx))})
		case len(idx) == 1:
			return idx[0]
		}
		return -1
	}
	c := &inputCols{}
	if i := find(colName, true); i >= 0 {
		switch t := sc.Field(i).Type; t.ID() {
		case arrow.STRING, arrow.LARGE_STRING:
			c.names = rec.Column(i)
		default:
			errs = append(errs, &ColumnError{Column: colName, Reason: fmt.Sprintf("has type %v, want utf8 or large_utf8", t)})
		}
	}
	if i := find(colWeights, true); i >= 0 {
		t := sc.Field(i).Type
		elem := listElem(t)
		switch {
		case elem == nil:
			errs = append(errs, &ColumnError{Column: colWeights, Reason: fmt.Sprintf("has type %v, want a list, large_list or fixed_size_list of float32 or float16", t)})
		case elem.ID() == arrow.FLOAT32:
			c.dtype = batch.Float32
		case elem.ID() == arrow.FLOAT16:
			c.dtype = batch.Float16
		default:
			errs = append(errs, &ColumnError{Column: colWeights, Reason: fmt.Sprintf("has elements of type %v, want float32 or float16", elem)})
		}
		if elem != nil {
			c.weights = rec.Column(i).(array.ListLike)
		}
	}
	if i := find(colShape, false); i >= 0 {
		t := sc.Field(i).Type
		if elem := listElem(t); elem == nil || elem.ID() != arrow.INT64 || t.ID() == arrow.FIXED_SIZE_LIST {
			errs = append(errs, &ColumnError{Column: colShape, Reason: fmt.Sprintf("has type %v, want list<int64> or large_list<int64>", t)})
		} else {
			c.shape = rec.Column(i).(array.ListLike)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c.values = c.weights.ListValues()
	if c.shape != nil {
		c.dims = c.shape.ListValues().(*array.Int64)
	}
	return c, nil
}

// listElem returns the element type of a list, large_list or
// fixed_size_list type, or nil for any other type.
func listElem(t arrow.DataType) arrow.DataType {
	switch t := t.(type) {
	case *arrow.ListType:
		return t.Elem()
	case *arrow.LargeListType:
		return t.Elem()
	case *arrow.FixedSizeListType:
		return t.Elem()
	}
	return nil
}

func columnList(sc *arrow.Schema) string {
	if sc.NumFields() == 0 {
		return " (the table has no columns)"
	}
	names := make([]string, sc.NumFields())
	for i, f := range sc.Fields() {
		names[i] = f.Name
	}
	return " (the table has " + strings.Join(names, ", ") + ")"
}

// name returns row i's layer name, copied out of the Arrow buffer so that it
// outlives the record, and false if it is null.
func (c *inputCols) name(i int) (string, bool) {
	if c.names.IsNull(i) {
		return "", false
	}
	switch a := c.names.(type) {
	case *array.String:
		return strings.Clone(a.Value(i)), true
	case *array.LargeString:
		return strings.Clone(a.Value(i)), true
	}
	return "", false
}

// layer returns the layer of row i, without its name, or the column at fault
// and the problem.
func (c *inputCols) layer(i int) (batch.Layer, string, error) {
	if c.weights.IsNull(i) {
		return batch.Layer{}, colWeights, errors.New("the weights are null")
	}
	start, end := c.weights.ValueOffsets(i)
	if start < 0 || end < start || end > int64(c.values.Len()) {
		return batch.Layer{}, colWeights, fmt.Errorf("offsets [%d, %d) are outside the %d values", start, end, c.values.Len())
	}
	n := end - start
	if c.values.NullN() > 0 {
		for k := start; k < end; k++ {
			if c.values.IsNull(int(k)) {
				return batch.Layer{}, colWeights, fmt.Errorf("weight %d is null", k-start)
			}
		}
	}
	size := int64(c.dtype.Size())
	d := c.values.Data()
	buf := d.Buffers()[1]
	from, to := (int64(d.Offset())+start)*size, (int64(d.Offset())+end)*size
	if buf == nil || to > int64(buf.Len()) {
		return batch.Layer{}, colWeights, fmt.Errorf("the values buffer is shorter than its %d values", c.values.Len())
	}
	shape, column, err := c.shapeOf(i, n)
	if err != nil {
		return batch.Layer{}, column, err
	}
	return batch.Layer{Shape: shape, DType: c.dtype, Data: buf.Bytes()[from:to:to]}, "", nil
}

// shapeOf returns row i's shape, checked against its n weights.
func (c *inputCols) shapeOf(i int, n int64) ([]int, string, error) {
	if c.shape == nil || c.shape.IsNull(i) {
		if n == 0 {
			return nil, colWeights, quant.ErrEmpty
		}
		return []int{int(n)}, "", nil
	}
	start, end := c.shape.ValueOffsets(i)
	if start < 0 || end < start || end > int64(c.dims.Len()) {
		return nil, colShape, fmt.Errorf("offsets [%d, %d) are outside the %d values", start, end, c.dims.Len())
	}
	shape := make([]int, 0, end-start)
	product := int64(1)
	for k := start; k < end; k++ {
		if c.dims.IsNull(int(k)) {
			return nil, colShape, fmt.Errorf("dimension %d is null", k-start)
		}
		d := c.dims.Value(int(k))
		if d < 0 {
			return nil, colShape, fmt.Errorf("dimension %d is negative (%d)", k-start, d)
		}
		if d != 0 && product > math.MaxInt64/d {
			product = -1 // overflows: cannot match any number of weights
		} else if product >= 0 {
			product *= d
		}
		shape = append(shape, int(d))
	}
	if len(shape) == 0 {
		return nil, colShape, errors.New("the shape is empty: a scalar has no row to quantize")
	}
	if product != n {
		return nil, colShape, fmt.Errorf("shape %v holds %s elements but there are %d weights", shape, elements(product), n)
	}
	if n == 0 {
		return nil, colWeights, quant.ErrEmpty
	}
	return shape, "", nil
}

func elements(product int64) string {
	if product < 0 {
		return "more than 2^63"
	}
	return fmt.Sprint(product)
}
