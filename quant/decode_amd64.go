//go:build amd64 && !purego

package quant

import "golang.org/x/sys/cpu"

// useF16C says whether decodeHalvesF16C may run: the F16C conversion
// instruction is exact for every half, subnormals included, and converts
// eight at a time. Set once from CPUID, never changed.
var useF16C = cpu.X86.HasF16C && cpu.X86.HasAVX

// decodeHalvesF16C converts len(dst) halves from src (len(src) ≥ len(dst))
// to float32; len(dst) must be a multiple of 8.
//
//go:noescape
func decodeHalvesF16C(dst []float32, src []uint16)
