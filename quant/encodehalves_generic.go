//go:build !amd64 || purego

package quant

func encodeHalvesF16C(dst []uint16, src []float32) int { panic("quant: no F16C kernel in this build") }
