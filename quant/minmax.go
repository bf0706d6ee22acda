package quant

import "math"

// minMaxGeneric is the portable body of minMax. It works on the bit patterns:
// orderedKey maps floats to integers in the same order, so the running
// minimum and maximum are integer min and max, which compile to conditional
// moves, where float comparisons would branch and mispredict a few times per
// group (the builtin float min and max are slower still, for their NaN and
// signed-zero rules). Non-finite values are caught by the largest magnitude
// bit pattern, which reaches the all-ones exponent of ±Inf and NaN only if
// some element is not finite; the minimum and maximum are then meaningless
// and unused. −0 orders below +0, and either may be returned for a group of
// zeros: every use of mn and mx treats them alike.
func minMaxGeneric(x []float32) (mn, mx float32, ok bool) {
	k := orderedKey(math.Float32bits(x[0]))
	lo0, hi0, lo1, hi1 := k, k, k, k
	var top0, top1 uint32 // largest |v| bit patterns
	i := 0
	for ; i+2 <= len(x); i += 2 {
		b0, b1 := math.Float32bits(x[i]), math.Float32bits(x[i+1])
		k0, k1 := orderedKey(b0), orderedKey(b1)
		lo0, hi0 = min(lo0, k0), max(hi0, k0)
		lo1, hi1 = min(lo1, k1), max(hi1, k1)
		top0 = max(top0, b0&0x7fffffff)
		top1 = max(top1, b1&0x7fffffff)
	}
	if i < len(x) {
		b := math.Float32bits(x[i])
		k := orderedKey(b)
		lo0, hi0 = min(lo0, k), max(hi0, k)
		top0 = max(top0, b&0x7fffffff)
	}
	mn = math.Float32frombits(uint32(orderedKey(uint32(min(lo0, lo1)))))
	mx = math.Float32frombits(uint32(orderedKey(uint32(max(hi0, hi1)))))
	return mn, mx, max(top0, top1) < 0x7f800000
}

// orderedKey maps the bit pattern of a float32 to an int32 that orders like
// the float (for all but NaN): negative floats have their magnitude bits
// inverted. It is its own inverse.
func orderedKey(b uint32) int32 {
	return int32(b ^ uint32(int32(b)>>31)&0x7fffffff)
}
