package quant

import "math"

// groupSums are the float64 error sums of one group.
type groupSums struct {
	sqErr, sqX, sqXHat, xXHat, maxAbsErr float64
	n                                    int
}

// encodeFast writes the codes of x and sums its errors. It is the hot loop:
// every element costs one multiply-add to reach the code axis and one to come
// back, each rounded to float32 at every step (no fused multiply-add), so the
// codes are identical on every platform and in every implementation.
//
// Three sums are kept, Σ(x−x̂)², Σx² and Σx̂², and Σx·x̂ is derived from them
// at the end: x·x̂ = (x² + x̂² − (x−x̂)²)/2 exactly. The derivation adds at most
// a few rounding errors of Σx² + Σx̂², which is close to 2·Σx·x̂ wherever x̂
// follows x: |x − x̂| ≤ s/2, and the extremes of a group decode to at least
// (qmax−1)·s/2 in magnitude. It saves one multiply-add per element in the loop.
//
// The sums are kept in eight float64 lanes, lane j taking the elements whose
// index is j mod 8, over the longest prefix of x that is a multiple of 8; the
// lanes are then added in a fixed order, and the last len(x) mod 8 elements
// one by one. (x−x̂)² is added with a fused multiply-add (its product is the
// one term that is not exact in float64). The AVX2 kernel and the portable
// one follow that order exactly, so the sums, too, are identical bit for bit
// whichever runs, and the same for the same input every time.
func encodeFast(x []float32, codes []uint8, inv, scale, zero float32, qmax int32) groupSums {
	sqErr, sqX, sqXHat, maxAbsErr := encodeSums(x, codes, inv, scale, zero, qmax)
	return groupSums{sqErr: sqErr, sqX: sqX, sqXHat: sqXHat, xXHat: xXHat(sqErr, sqX, sqXHat), maxAbsErr: maxAbsErr, n: len(x)}
}

// xXHat derives Σx·x̂ from the sums encodeFast keeps.
func xXHat(sqErr, sqX, sqXHat float64) float64 {
	return (sqX + sqXHat - sqErr) / 2
}

// encodeSums is encodeFast returning its sums as float64 results, the form
// QuantizeBlock adds up without copying a struct.
func encodeSums(x []float32, codes []uint8, inv, scale, zero float32, qmax int32) (sqErr, sqX, sqXHat, maxAbsErr float64) {
	codes = codes[:len(x)]
	n8 := len(x) &^ (lanes - 1)
	if n8 > 0 {
		if useAVX2 {
			sqErr, sqX, sqXHat, maxAbsErr = encodeAVX2(x[:n8], codes[:n8], inv, zero, scale, qmax)
		} else {
			sqErr, sqX, sqXHat, maxAbsErr = encodeGeneric(x[:n8], codes[:n8], inv, zero, scale, qmax)
		}
	}
	for i := n8; i < len(x); i++ {
		v := x[i]
		q := uint8(codeOf(codeAxis(v, inv, zero), qmax))
		codes[i] = q
		vf, hf := float64(v), float64(decode(q, zero, scale))
		d := vf - hf
		sqErr = math.FMA(d, d, sqErr)
		sqX += vf * vf
		sqXHat += hf * hf
		if a := math.Abs(d); a > maxAbsErr {
			maxAbsErr = a
		}
	}
	return sqErr, sqX, sqXHat, maxAbsErr
}

// encodeCodesRow writes the codes of a row whose groups all take the fast
// path, as encodeSums would group by group, with the widest row kernel the
// processor has: EncodeBlock's counterpart of encodeRowAVX512/encodeRowAVX2.
// gs and len(x) must be positive multiples of 8, and useAVX2 true.
func encodeCodesRow(x []float32, codes []uint8, groups []groupParams, gs int, qmax int32) {
	if useAVX512 {
		encodeCodesRowAVX512(x, codes, groups, gs, qmax)
	} else {
		encodeCodesRowAVX2(x, codes, groups, gs, qmax)
	}
}

// encodeFittedRow is encodeCodesRow for block's rows whose groups all had
// their parameters checked to fit, by rangeParamsFast or by rangeParams's
// fits, with codeAxis on the group's mn and mx: 0 ≤ codeAxis(mn) and
// codeAxis(mx) < qmax+1. codeAxis is non-decreasing in v (a multiplication
// by inv > 0 and two additions, each correctly rounded), so every value of
// the group lands in [0, qmax+1) too and the clamp of codeOf never changes
// a code. The AVX-512 kernel leaves it out, which saves two of its seven
// vector operations per sixteen values; the AVX2 kernel keeps it (not
// measured without, for want of a processor that has AVX2 only).
func encodeFittedRow(x []float32, codes []uint8, groups []groupParams, gs int, qmax int32) {
	if useAVX512 {
		codesRowAVX512(x, codes, groups, gs, qmax, false)
	} else {
		encodeCodesRowAVX2(x, codes, groups, gs, qmax)
	}
}

// encodeCodes writes the codes of one group, g[0], as encodeSums or
// encodePrecise would, for rows the row kernels do not take whole. The
// longest prefix that is a multiple of 8 goes to a row kernel as a row of one
// group; a group of subnormal values (inv == 0) goes to encodePrecise, whose
// sums are dropped: it is rare, and sharing its loop keeps the codes those of
// QuantizeBlock by construction.
func encodeCodes(x []float32, codes []uint8, g []groupParams, qmax int32) {
	p := &g[0]
	if p.inv == 0 {
		encodePrecise(x, codes, p.scale, p.zero, qmax)
		return
	}
	n8 := 0
	if useAVX2 {
		if n8 = len(x) &^ 7; n8 > 0 {
			encodeCodesRow(x[:n8], codes[:n8], g, n8, qmax)
		}
	}
	encodeCodesGeneric(x[n8:], codes[n8:], p.inv, p.zero, qmax)
}

// encodeCodesGeneric is the portable loop of encodeCodes: the codes of
// encodeGeneric, element by element, and nothing else.
func encodeCodesGeneric(x []float32, codes []uint8, inv, zero float32, qmax int32) {
	codes = codes[:len(x)]
	for i, v := range x {
		codes[i] = uint8(codeOf(codeAxis(v, inv, zero), qmax))
	}
}

// codeAxis is where v falls on the code axis, plus the 0.5 that makes the
// truncation in codeOf round to nearest. It is the encoder's arithmetic:
// every step is rounded to float32 explicitly, so no compiler fuses the
// multiply and the add (Go may, on arm64 and others). Everything that picks
// or checks codes goes through it, and the assembly repeats it instruction
// for instruction (VMULPS, VADDPS, VADDPS, VCVTTPS2DQ).
func codeAxis(v, inv, zero float32) float32 { return float32(float32(v*inv)+zero) + 0.5 }

// codeAxisPrecise is codeAxis for scales too small to invert in float32
// (groups of subnormal values): it divides in float64.
func codeAxisPrecise(v, scale, zero float32) float64 {
	return float64(v)/float64(scale) + float64(zero) + 0.5
}

// codeOf truncates a code-axis position and clamps it to [0, qmax].
func codeOf(u float32, qmax int32) int32 { return min(max(int32(u), 0), qmax) }

// decode is the one decoding formula, (q − zero)·scale, each step rounded
// to float32; Dequantize and every error sum use it.
func decode(q uint8, zero, scale float32) float32 { return float32(float32(q)-zero) * scale }

// lanes is the number of float64 partial sums encodeFast keeps per quantity.
const lanes = 8

// laneSums are the partial sums of encodeGeneric: lane j of each array holds
// the elements whose index is j mod 8, lane j mod 4 of maxAbsErr their
// largest |x − x̂| (a maximum does not depend on order; four lanes are what
// one AVX2 register holds).
type laneSums struct {
	sqErr, sqX, sqXHat [lanes]float64
	maxAbsErr          [4]float64
}

// reduce adds the lanes of every sum in one fixed order,
// ((l0+l4) + (l2+l6)) + ((l1+l5) + (l3+l7)), which encodeAVX2 repeats.
func (l *laneSums) reduce() (sqErr, sqX, sqXHat, maxAbsErr float64) {
	return reduceLanes(&l.sqErr), reduceLanes(&l.sqX), reduceLanes(&l.sqXHat),
		max(max(l.maxAbsErr[0], l.maxAbsErr[1]), max(l.maxAbsErr[2], l.maxAbsErr[3]))
}

func reduceLanes(s *[lanes]float64) float64 {
	t0, t1, t2, t3 := s[0]+s[4], s[1]+s[5], s[2]+s[6], s[3]+s[7]
	return (t0 + t2) + (t1 + t3)
}

// encodeGeneric is the portable main loop of encodeFast: it encodes x, whose
// length must be a multiple of 8, and returns the reduced lanes. It runs lane
// by lane (elements j, j+8, j+16, … for lane j), which gives the same sums as
// eight lanes side by side and lets the compiler keep them in registers.
func encodeGeneric(x []float32, codes []uint8, inv, zero, scale float32, qmax int32) (sqErr, sqX, sqXHat, maxAbsErr float64) {
	var l laneSums
	codes = codes[:len(x)]
	for j := range lanes {
		var e, xx, hh float64
		var m uint64 // bits of max |d|: non-negative floats order like their bits
		for i := j; i < len(x); i += lanes {
			v := x[i]
			q := uint8(codeOf(codeAxis(v, inv, zero), qmax))
			codes[i] = q
			vf, hf := float64(v), float64(decode(q, zero, scale))
			d := vf - hf
			// vf·vf and hf·hf are exact in float64 (24-bit significands),
			// so fusing them could not change the sums; d·d is fused on
			// purpose, as in the AVX2 kernel.
			e = math.FMA(d, d, e)
			xx += vf * vf
			hh += hf * hf
			m = max(m, math.Float64bits(d)&^(1<<63)) // a conditional move, not a branch
		}
		l.sqErr[j], l.sqX[j], l.sqXHat[j] = e, xx, hh
		l.maxAbsErr[j&3] = max(l.maxAbsErr[j&3], math.Float64frombits(m))
	}
	return l.reduce()
}

// encodePrecise is encodeFast for scales too small to invert in float32
// (groups of subnormal values): it divides in float64 instead. It is rare and
// stays a plain loop.
func encodePrecise(x []float32, codes []uint8, scale, zero float32, qmax int32) groupSums {
	codes = codes[:len(x)]
	var g groupSums
	for i, v := range x {
		q := uint8(min(max(int32(codeAxisPrecise(v, scale, zero)), 0), qmax))
		codes[i] = q
		vf, hf := float64(v), float64(decode(q, zero, scale))
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
