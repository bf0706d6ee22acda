//go:build !amd64 || purego

package quant

// useAVX2 is false where there is no assembly: the portable loops run.
const useAVX2 = false

func minMaxAVX2(x []float32) (mn, mx float32, ok bool) { panic("quant: no AVX2 kernel") }

func encodeAVX2(x []float32, codes []uint8, inv, zero, scale float32, qmax int32) (sqErr, sqX, sqXHat, maxAbsErr float64) {
	panic("quant: no AVX2 kernel")
}

const useAVX512 = false

func encodeRowAVX512(x []float32, codes []uint8, groups []groupParams, gs int, qmax int32, acc *rowSums) {
	panic("quant: no AVX-512 kernel")
}

func encodeRowAVX2(x []float32, codes []uint8, groups []groupParams, gs int, qmax int32, acc *rowSums) {
	panic("quant: no AVX2 kernel")
}

func encodeCodesRowAVX512(x []float32, codes []uint8, groups []groupParams, gs int, qmax int32) {
	panic("quant: no AVX-512 kernel")
}

func codesRowAVX512(x []float32, codes []uint8, groups []groupParams, gs int, qmax int32, clamp bool) {
	panic("quant: no AVX-512 kernel")
}

func encodeCodesRowAVX2(x []float32, codes []uint8, groups []groupParams, gs int, qmax int32) {
	panic("quant: no AVX2 kernel")
}

func pack4AVX2(dst []byte, codes []uint8) { panic("quant: no AVX2 kernel") }

func pack2AVX2(dst []byte, codes []uint8) { panic("quant: no AVX2 kernel") }

func rangeParamsAVX2(groups []groupParams, qmax int32, low, minStep, maxStep uint64, half bool) {
	panic("quant: no AVX2 kernel")
}

func minMaxGroupsAVX2(x []float32, gs int, groups []groupParams) (ok bool) {
	panic("quant: no AVX2 kernel")
}

func rangeParamsAVX512(groups []groupParams, qmax int32, low, minStep, maxStep uint64, half bool) {
	panic("quant: no AVX-512 kernel")
}
