package arrowio

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/arrowquant/arrowquant/batch"
)

// resultRecord returns a one-row record batch of ResultSchema holding r. The
// codes, scales and zero points are not copied: the record views r's slices,
// which must not change while it is in use.
func resultRecord(r *batch.Result) arrow.RecordBatch {
	shape := make([]int64, len(r.Shape))
	for i, d := range r.Shape {
		shape[i] = int64(d)
	}
	data := []*array.Data{
		iName:       binaryData(arrow.BinaryTypes.String, []byte(r.Name)),
		iShape:      listData(resultSchema.Field(iShape).Type, fixedData(arrow.PrimitiveTypes.Int64, len(shape), arrow.Int64Traits.CastToBytes(shape))),
		iBits:       fixedData(arrow.PrimitiveTypes.Uint8, 1, []byte{uint8(r.Bits)}),
		iGroupSize:  fixedData(arrow.PrimitiveTypes.Uint32, 1, arrow.Uint32Traits.CastToBytes([]uint32{uint32(r.GroupSize)})),
		iCodes:      binaryData(arrow.BinaryTypes.LargeBinary, r.Codes),
		iScales:     listData(resultSchema.Field(iScales).Type, fixedData(arrow.PrimitiveTypes.Float32, len(r.Scales), arrow.Float32Traits.CastToBytes(r.Scales))),
		iZeroPoints: listData(resultSchema.Field(iZeroPoints).Type, fixedData(arrow.PrimitiveTypes.Float32, len(r.ZeroPoints), arrow.Float32Traits.CastToBytes(r.ZeroPoints))),
		iCosine:     fixedData(arrow.PrimitiveTypes.Float64, 1, arrow.Float64Traits.CastToBytes([]float64{r.Quality.Cosine})),
		iRMSE:       fixedData(arrow.PrimitiveTypes.Float64, 1, arrow.Float64Traits.CastToBytes([]float64{r.Quality.RMSE})),
	}
	cols := make([]arrow.Array, len(data))
	for i, d := range data {
		cols[i] = array.MakeFromData(d)
		d.Release()
	}
	rec := array.NewRecordBatch(resultSchema, cols, 1)
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// fixedData is an array of n fixed-width values without nulls.
func fixedData(t arrow.DataType, n int, values []byte) *array.Data {
	return array.NewData(t, n, []*memory.Buffer{nil, memory.NewBufferBytes(values)}, nil, 0, 0)
}

// binaryData is a one-element string or binary array (32- or 64-bit
// offsets, as t says).
func binaryData(t arrow.DataType, b []byte) *array.Data {
	return array.NewData(t, 1, []*memory.Buffer{nil, offsets(t, len(b)), memory.NewBufferBytes(b)}, nil, 0, 0)
}

// listData is a one-element list (or large list, as t says) of child.
func listData(t arrow.DataType, child *array.Data) *array.Data {
	d := array.NewData(t, 1, []*memory.Buffer{nil, offsets(t, child.Len())}, []arrow.ArrayData{child}, 0, 0)
	child.Release()
	return d
}

// offsets is the offsets buffer [0, n] of a one-element array of type t.
func offsets(t arrow.DataType, n int) *memory.Buffer {
	switch t.ID() {
	case arrow.LARGE_BINARY, arrow.LARGE_STRING, arrow.LARGE_LIST:
		return memory.NewBufferBytes(arrow.Int64Traits.CastToBytes([]int64{0, int64(n)}))
	}
	return memory.NewBufferBytes(arrow.Int32Traits.CastToBytes([]int32{0, int32(n)}))
}
