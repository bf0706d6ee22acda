package quant

import "math"

// formatBits are the float64 bit patterns rangeParamsFast works with for one
// storage format: low, the float64 mantissa bits below the format's, and
// [minStep, maxStep], the format's normal range, which a rounded step must
// fall in. rangeParamsFast and the vector kernels read the same table, so
// they cannot disagree on a bound.
type formatBits struct {
	low, minStep, maxStep uint64
}

var stepBits = [...]formatBits{
	// float16's normal range is [2^-14, 65504]; 65536 would be +Inf.
	Float16: {low: 1<<42 - 1, minStep: math.Float64bits(0x1p-14), maxStep: math.Float64bits(65504)},
	Float32: {low: 1<<29 - 1, minStep: math.Float64bits(0x1p-126), maxStep: math.Float64bits(math.MaxFloat32)},
}

// rowParams sets scale, zero and inv of every group from its mn and mx as
// rangeParamsFast does, and inv to 0 where rangeParamsFast returns ok =
// false (constant groups among them), which the caller leaves to
// chooseParams.
//
// The choice is a long chain of dependent float64 operations (two
// divisions among them) with a few integer steps on the bits, the same for
// every group and branch-free but for the format: it runs on eight groups
// at once with AVX-512 and four with AVX2, in float64 lanes, which is bit
// for bit the scalar arithmetic (the same IEEE operations in the same order,
// rounded to nearest). Fewer groups than that stay scalar. block calls it
// on all the groups of a batch of rows, so that the chains of different
// groups overlap.
func rowParams(groups []groupParams, qmax int32, format ScaleFormat) {
	f := &stepBits[format]
	switch {
	case useAVX512 && len(groups) >= 8:
		rangeParamsAVX512(groups, qmax, f.low, f.minStep, f.maxStep, format == Float16)
		return
	case useAVX2 && len(groups) >= 4:
		rangeParamsAVX2(groups, qmax, f.low, f.minStep, f.maxStep, format == Float16)
		return
	}
	for g := range groups {
		p := &groups[g]
		var ok bool
		if p.scale, p.zero, p.inv, ok = rangeParamsFast(p.mn, p.mx, qmax, format); !ok {
			p.inv = 0
		}
	}
}
