package quant

import "math"

// groupSums are the float64 error sums of one group.
type groupSums struct {
	sqErr, sqX, sqXHat, xXHat, maxAbsErr float64
	n                                    int
}

// encodeFast writes the codes of x and sums its errors. It is the hot loop:
// every element costs one multiply-add to reach the code axis and one to come
// back, and the explicit float32 conversions keep the compiler from fusing
// them, so results are identical on every platform.
func encodeFast(x []float32, codes []uint8, inv, scale, zero float32, qmax int32) groupSums {
	codes = codes[:len(x)]
	var g groupSums
	var sqErr, sqX, sqXHat, xXHat, maxErr float64
	for i, v := range x {
		q := int32(float32(v*inv) + zero + 0.5)
		q = min(max(q, 0), qmax)
		codes[i] = uint8(q)
		xh := float32(float32(q)-zero) * scale
		vf, hf := float64(v), float64(xh)
		d := vf - hf
		sqErr += d * d
		sqX += vf * vf
		sqXHat += hf * hf
		xXHat += vf * hf
		maxErr = max(maxErr, math.Abs(d))
	}
	g.sqErr, g.sqX, g.sqXHat, g.xXHat, g.maxAbsErr, g.n = sqErr, sqX, sqXHat, xXHat, maxErr, len(x)
	return g
}

// encodePrecise is encodeFast for scales too small to invert in float32
// (groups of subnormal values): it divides in float64 instead.
func encodePrecise(x []float32, codes []uint8, scale, zero float32, qmax int32) groupSums {
	codes = codes[:len(x)]
	var g groupSums
	for i, v := range x {
		q := int32(float64(v)/float64(scale) + float64(zero) + 0.5)
		q = min(max(q, 0), qmax)
		codes[i] = uint8(q)
		xh := float32(float32(q)-zero) * scale
		vf, hf := float64(v), float64(xh)
		d := vf - hf
		g.sqErr += d * d
		g.sqX += vf * vf
		g.sqXHat += hf * hf
		g.xXHat += vf * hf
		g.maxAbsErr = max(g.maxAbsErr, math.Abs(d))
	}
	g.n = len(x)
	return g
}
