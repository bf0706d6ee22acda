//go:build amd64 && !purego

package quant

// encodeHalvesF16C converts src to halves in dst (len(dst) ≥ len(src)),
// eight at a time, rounding to nearest even as Float32ToHalf does; len(src)
// must be a multiple of 8. It stops before the first block of eight holding
// a NaN, whose payload VCVTPS2PH may quiet differently from Float32ToHalf,
// and returns how many values it converted.
//
//go:noescape
func encodeHalvesF16C(dst []uint16, src []float32) int
