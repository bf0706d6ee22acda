package safetensors

// A DType names the element type of a tensor, spelled as in the header
// ("F32", "BF16", ...).
type DType string

// The element types this package reads and writes.
const (
	F32    DType = "F32"     // IEEE 754 binary32
	F16    DType = "F16"     // IEEE 754 binary16
	BF16   DType = "BF16"    // bfloat16: the top half of a binary32
	F64    DType = "F64"     // IEEE 754 binary64
	I8     DType = "I8"      // signed 8-bit integer
	I16    DType = "I16"     // signed 16-bit integer
	I32    DType = "I32"     // signed 32-bit integer
	I64    DType = "I64"     // signed 64-bit integer
	U8     DType = "U8"      // unsigned 8-bit integer
	U16    DType = "U16"     // unsigned 16-bit integer
	U32    DType = "U32"     // unsigned 32-bit integer
	U64    DType = "U64"     // unsigned 64-bit integer
	Bool   DType = "BOOL"    // one byte per element, 0 or 1
	F8E4M3 DType = "F8_E4M3" // 8-bit float, 4 exponent and 3 mantissa bits
	F8E5M2 DType = "F8_E5M2" // 8-bit float, 5 exponent and 2 mantissa bits
)

// Size returns the number of bytes one element of d takes, or 0 if d is not
// one of the constants above.
func (d DType) Size() int {
	switch d {
	case I8, U8, Bool, F8E4M3, F8E5M2:
		return 1
	case F16, BF16, I16, U16:
		return 2
	case F32, I32, U32:
		return 4
	case F64, I64, U64:
		return 8
	}
	return 0
}

// longestDType is the longest name Size knows; the writer reserves header
// room for it when a tensor's dtype is not known yet.
const longestDType = F8E4M3
