// Package quant holds the arithmetic of arrowquant: asymmetric affine group
// quantization of float weights to 2, 4 or 8 bits, the bit packing of the codes,
// the one decoder (Dequantize), float16/bfloat16 conversion and the quality
// figures that say how much a tensor lost. It does no I/O and keeps no state;
// the batch package runs it in parallel and the format packages store its output.
//
// # Layout
//
// A tensor of shape S is viewed as R rows of C columns, where C is the last
// dimension and R the product of the others (1 for a rank-1 tensor). Each row is
// cut into groups of GroupSize consecutive columns; the last group of a row may be
// shorter, and a group never crosses into the next row. Every group has a scale s
// and a zero point z, and element x is stored as the code
//
//	q = clamp(round(x/s + z), 0, 2^bits-1)
//
// which decodes to x̂ = (q − z)·s in float32. Scale and zero point are chosen so
// that no element of the group is clipped, hence |x − x̂| ≤ s/2 for every element
// (up to float32 rounding).
//
// Codes are bit-packed row by row: every row starts on a byte boundary, the code
// of column c sits at bit offset c·bits of the row's little-endian bit string
// (lower columns in lower bits), and unused high bits of a row's last byte are zero.
//
// Scales and zero points are stored as float16 when float16 can honour the bound
// for every group of the tensor, and as float32 otherwise; codes are always
// computed from the stored (rounded) values, so any reader that follows the
// formula above decodes exactly what Dequantize does.
package quant
