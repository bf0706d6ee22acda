//go:build !amd64 || purego

package quant

// useF16C is false where there is no F16C kernel.
const useF16C = false

func decodeHalvesF16C(dst []float32, src []uint16) { panic("quant: no F16C kernel in this build") }
