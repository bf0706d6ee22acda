package arrowio

import (
	"github.com/apache/arrow-go/v18/arrow"
)

// FormatVersion is the version of the result table layout, stored in the
// schema metadata under VersionKey. A reader refuses other versions.
const FormatVersion = "1"

// VersionKey is the schema metadata key (in Parquet, the file key-value
// metadata) that holds FormatVersion.
const VersionKey = "arrowquant.format_version"

// Column names of the input table.
const (
	colName    = "layer_name"
	colWeights = "weights"
	colShape   = "shape"
)

// Column names of the result table, in schema order; the first is colName.
const (
	colBits       = "bit_width"
	colGroupSize  = "group_size"
	colCodes      = "quantized_data"
	colScales     = "scales"
	colZeroPoints = "zero_points"
	colCosine     = "cosine"
	colRMSE       = "rmse"
)

// Indices of the result columns in ResultSchema.
const (
	iName = iota
	iShape
	iBits
	iGroupSize
	iCodes
	iScales
	iZeroPoints
	iCosine
	iRMSE
	numResultCols
)

var resultSchema = arrow.NewSchema([]arrow.Field{
	{Name: colName, Type: arrow.BinaryTypes.String},
	{Name: colShape, Type: arrow.ListOfNonNullable(arrow.PrimitiveTypes.Int64)},
	{Name: colBits, Type: arrow.PrimitiveTypes.Uint8},
	{Name: colGroupSize, Type: arrow.PrimitiveTypes.Uint32},
	// A layer's codes or scales can exceed 2 GiB, or 2^31 values, which
	// 32-bit offsets cannot address: hence the large types.
	{Name: colCodes, Type: arrow.BinaryTypes.LargeBinary},
	{Name: colScales, Type: arrow.LargeListOfNonNullable(arrow.PrimitiveTypes.Float32)},
	{Name: colZeroPoints, Type: arrow.LargeListOfNonNullable(arrow.PrimitiveTypes.Float32)},
	{Name: colCosine, Type: arrow.PrimitiveTypes.Float64},
	{Name: colRMSE, Type: arrow.PrimitiveTypes.Float64},
}, func() *arrow.Metadata {
	md := arrow.NewMetadata([]string{VersionKey}, []string{FormatVersion})
	return &md
}())

// ResultSchema returns the schema of a result table: one row per quantized
// layer, sorted by layer name, every column not null.
//
//	layer_name      utf8
//	shape           list<int64>          the layer's shape
//	bit_width       uint8                2, 4 or 8
//	group_size      uint32
//	quantized_data  large_binary         codes packed row by row
//	scales          large_list<float32>  one per group, row-major
//	zero_points     large_list<float32>  one per group, row-major
//	cosine          float64              cosine similarity of the weights and their decoding
//	rmse            float64              root mean square error of the decoding
//
// with the metadata VersionKey = FormatVersion. The codes, scales and zero
// points are those of quant.Tensor; docs/FORMAT.md gives the layout.
// The returned schema is shared and must not be modified.
func ResultSchema() *arrow.Schema { return resultSchema }
