package quant

import (
	"fmt"
	"math"
)

// A Quantizer quantizes blocks of a tensor. It owns a little scratch space, so
// each goroutine needs its own; the zero value is ready to use.
type Quantizer struct {
	codes  []uint8       // one code per column of the current row segment
	groups []groupParams // the groups of the current row segment
}

// groupParams are one group's range and the parameters chosen for it; inv is
// 1/scale in float32 where the encoder may multiply by it (fastPath), else 0.
// Between rowParams and block's loop over the groups, inv = 0 also marks the
// groups whose parameters rowParams left to chooseParams. The layout (five
// float32, 20 bytes) is read by the assembly kernels.
type groupParams struct {
	mn, mx, scale, zero, inv float32
}

// rowSums are the sums of the usual groups of a block, added group by group
// in the order of the groups; encodeRowAVX2 adds to them in the same order.
type rowSums struct {
	sqErr, sqX, sqXHat, xXHat, maxAbsErr float64
}

// QuantizeBlock quantizes nrows rows of t, starting at row r0, restricted to
// columns [c0, c1), from src, which holds those nrows·(c1−c0) values row-major.
// c0 must be a multiple of t.Layout().SegmentAlign() and c1 either Cols or such
// a multiple too, so that the block owns whole groups and whole bytes; distinct
// blocks write disjoint parts of t and may run concurrently.
//
// format is the storage of the block's scales. In Float16 mode the returned
// error satisfies IsNeedFloat32 when some group cannot be stored in float16
// within the bound; the caller then redoes the whole tensor with Float32. A NaN
// or infinite input gives a *NonFiniteError with its flat index in the tensor.
func (z *Quantizer) QuantizeBlock(t *Tensor, src []float32, r0, nrows, c0, c1 int, format ScaleFormat) (Sums, error) {
	return z.block(t, src, r0, nrows, c0, c1, format, true)
}

// EncodeBlock is QuantizeBlock without the quality sums, for callers that
// never look at them: it writes the same codes, scales and zero points, byte
// for byte, and returns the same errors, but skips the float64 arithmetic of
// the sums, which is more than half of QuantizeBlock's work. The arguments,
// the float16 → float32 fallback and the concurrency rules are those of
// QuantizeBlock.
func (z *Quantizer) EncodeBlock(t *Tensor, src []float32, r0, nrows, c0, c1 int, format ScaleFormat) error {
	_, err := z.block(t, src, r0, nrows, c0, c1, format, false)
	return err
}

// block is QuantizeBlock, and EncodeBlock when withSums is false: one body,
// so that both choose the parameters and the codes in the very same way.
// Without sums, the returned Sums are zero.
func (z *Quantizer) block(t *Tensor, src []float32, r0, nrows, c0, c1 int, format ScaleFormat, withSums bool) (Sums, error) {
	l := t.Layout()
	width := c1 - c0
	if r0 < 0 || nrows < 0 || r0+nrows > l.Rows || c0 < 0 || c1 > l.Cols || width <= 0 ||
		c0%l.SegmentAlign() != 0 || (c1 != l.Cols && c1%l.SegmentAlign() != 0) || len(src) != nrows*width {
		panic(fmt.Sprintf("quant: bad block rows [%d,+%d) cols [%d,%d) of %d×%d with %d values", r0, nrows, c0, c1, l.Rows, l.Cols, len(src)))
	}
	ng := (width-1)/l.GroupSize + 1
	// Rows are taken in batches of about batchFloats values, when their
	// groups are all whole: the ranges of a batch are one run of groups of
	// equal length, found in one pass, and the parameters of all its groups
	// are chosen in one pass too. That choice is a long chain of dependent
	// operations per group; over a batch, the chains of many groups overlap
	// in the processor, where over one row the encoder would wait for the
	// end of the last chain every row. A batch stays in the first-level
	// cache for the encoder's pass.
	batch := 1
	if width%l.GroupSize == 0 {
		batch = max(1, min(nrows, batchFloats/width))
	}
	if cap(z.codes) < width {
		z.codes = make([]uint8, width)
	}
	if cap(z.groups) < ng*batch {
		z.groups = make([]groupParams, ng*batch)
	}
	codes := z.codes[:width]
	qmax := int32(1)<<l.Bits - 1
	// The sums of the usual groups are kept in a rowSums, not added as a
	// groupSums: the compiler copies a struct of more than four fields with
	// 16-byte moves, which stall on the 8-byte stores that filled it.
	// Constant and subnormal groups go to sums directly.
	var sums Sums
	var acc rowSums
	var n int
	rowBytes, rowGroups := l.RowBytes(), l.GroupsPerRow()
	// The row kernels take whole rows of groups whose lengths are
	// multiples of eight lanes.
	rowKernel := useAVX2 && l.GroupSize%8 == 0 && width%8 == 0
	for b0 := r0; b0 < r0+nrows; b0 += batch {
		nb := min(batch, r0+nrows-b0)
		rows := src[(b0-r0)*width : (b0-r0+nb)*width]
		var nf *NonFiniteError
		if !groupRanges(rows, l.GroupSize, z.groups[:ng*nb]) {
			// The rows before the one holding the first non-finite value
			// are quantized, as if row by row, and then the error returned.
			nf = firstNonFinite(rows)
			k := int(nf.Index) / width
			nf.Index += int64(b0+k)*int64(l.Cols) + int64(c0) - int64(k*width)
			nb = k
		}
		rowParams(z.groups[:ng*nb], qmax, format)
		for r := b0; r < b0+nb; r++ {
			row := rows[(r-b0)*width : (r-b0+1)*width]
			groups := z.groups[(r-b0)*ng : (r-b0+1)*ng]
			// The row's scales and zero points as slices of their own: t's
			// fields would be reloaded and bounds-checked after every store.
			gi := r*rowGroups + c0/l.GroupSize
			scales, zeros := t.Scales[gi:gi+ng], t.ZeroPoints[gi:gi+ng]
			fast := true // every group takes encodeSums
			for g := range groups {
				p := &groups[g]
				if p.inv != 0 { // rangeParamsFast's choice
					scales[g], zeros[g] = p.scale, p.zero
					continue
				}
				var err error
				if p.scale, p.zero, err = chooseParams(p.mn, p.mx, qmax, format); err != nil {
					return Sums{}, err
				}
				p.inv = 0
				if fastPath(p.scale) {
					p.inv = 1 / p.scale
				}
				fast = fast && p.inv != 0 && p.mn != p.mx
				scales[g], zeros[g] = p.scale, p.zero
			}
			switch {
			case fast && rowKernel && !withSums:
				encodeFittedRow(row, codes, groups, l.GroupSize, qmax)
			case fast && rowKernel && useAVX512:
				encodeRowAVX512(row, codes, groups, l.GroupSize, qmax, &acc)
				n += width
			case fast && rowKernel:
				encodeRowAVX2(row, codes, groups, l.GroupSize, qmax, &acc)
				n += width
			default:
				for g := range groups {
					p := &groups[g]
					start := g * l.GroupSize
					end := min(start+l.GroupSize, width)
					x, c := row[start:end], codes[start:end]
					switch {
					case p.mn == p.mx:
						clear(c)
						if withSums {
							sums.addConstant(p.mn, len(x))
						}
					case !withSums:
						encodeCodes(x, c, groups[g:g+1], qmax)
					case p.inv != 0:
						e, xx, hh, m := encodeSums(x, c, p.inv, p.scale, p.zero, qmax)
						acc.sqErr += e
						acc.sqX += xx
						acc.sqXHat += hh
						acc.xXHat += xXHat(e, xx, hh)
						acc.maxAbsErr = max(acc.maxAbsErr, m)
						n += len(x)
					default:
						sums.add(encodePrecise(x, c, p.scale, p.zero, qmax))
					}
				}
			}
			off := r*rowBytes + c0*l.Bits/8
			packRow(t.Codes[off:off+(width*l.Bits+7)/8], codes, l.Bits)
		}
		if nf != nil {
			return Sums{}, nf
		}
	}
	sums.add(groupSums{sqErr: acc.sqErr, sqX: acc.sqX, sqXHat: acc.sqXHat, xXHat: acc.xXHat, maxAbsErr: acc.maxAbsErr, n: n})
	return sums, nil
}

// chooseParams picks the scale and zero point of a group spanning [mn, mx].
func chooseParams(mn, mx float32, qmax int32, format ScaleFormat) (scale, zero float32, err error) {
	if mn == mx {
		return constantParams(mn, format)
	}
	return rangeParams(mn, mx, qmax, format)
}

// batchFloats is about how many values block takes in one batch of rows:
// 16 KiB of float32, half the first-level data cache of current x86 cores.
const batchFloats = 4096

// groupRanges sets mn and mx of every group of x, which holds len(groups)
// groups of gs values, the last one possibly shorter, and returns false if
// any value is NaN or ±Inf (mn and mx are then meaningless).
func groupRanges(x []float32, gs int, groups []groupParams) bool {
	whole := 0
	if useAVX2 && gs >= 8 {
		if whole = len(x) / gs; whole > 0 && !minMaxGroupsAVX2(x[:whole*gs], gs, groups[:whole]) {
			return false
		}
	}
	for g := whole; g < len(groups); g++ {
		p := &groups[g]
		var ok bool
		if p.mn, p.mx, ok = minMax(x[g*gs : min((g+1)*gs, len(x))]); !ok {
			return false
		}
	}
	return true
}

// minMax returns the least and greatest of x, and false if any is NaN or ±Inf.
// len(x) must be at least 1. The caller's rescan finds which element failed.
func minMax(x []float32) (mn, mx float32, ok bool) {
	if useAVX2 && len(x) >= 8 {
		return minMaxAVX2(x)
	}
	return minMaxGeneric(x)
}

func firstNonFinite(x []float32) *NonFiniteError {
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return &NonFiniteError{Index: int64(i), Value: v}
		}
	}
	panic("quant: minMax saw a non-finite value that is not there")
}

// constantParams represents a group whose elements all equal v exactly: every
// code is 0 and (0 − zero)·scale == v.
func constantParams(v float32, format ScaleFormat) (scale, zero float32, err error) {
	if v == 0 {
		return 1, 0, nil
	}
	scale, zero = float32(math.Abs(float64(v))), -1
	if v < 0 {
		zero = 1
	}
	if format == Float16 && HalfToFloat32(Float32ToHalf(scale)) != scale {
		return 0, 0, errNeedFloat32
	}
	return scale, zero, nil
}

// rangeParams picks scale and zero point for a group spanning [mn, mx], mn < mx.
// The scale is rounded up to the storage format so the range still fits in
// 2^bits−1 steps, and the zero point centres the range in the codes, leaving at
// least half a step of slack at each end for the zero point's own rounding.
// The choice is then checked with the encoder's own arithmetic: neither
// extreme may be clipped. Float16 reports errNeedFloat32 where it cannot pass;
// Float32 widens the scale until it does.
func rangeParams(mn, mx float32, qmax int32, format ScaleFormat) (scale, zero float32, err error) {
	step := (float64(mx) - float64(mn)) / float64(qmax)
	mid := (float64(mx) + float64(mn)) / 2
	if format == Float16 {
		h := halfUp(step)
		scale = HalfToFloat32(h)
		// An infinite scale overflowed; one far above the exact step sits in
		// float16's subnormal range and would throw away most of the codes.
		if math.IsInf(float64(scale), 0) || float64(scale) > step*(1+1.0/64) {
			return 0, 0, errNeedFloat32
		}
		zero = HalfToFloat32(Float32ToHalf(float32(float64(qmax)/2 - mid/float64(scale))))
		if !fits(mn, mx, scale, zero, qmax) {
			return 0, 0, errNeedFloat32
		}
		return scale, zero, nil
	}
	for widen := 0; widen < 64; widen++ {
		scale = float32Up(step)
		if math.IsInf(float64(scale), 0) {
			break
		}
		zero = float32(float64(qmax)/2 - mid/float64(scale))
		if fits(mn, mx, scale, zero, qmax) {
			return scale, zero, nil
		}
		step *= 2
	}
	return 0, 0, fmt.Errorf("quant: cannot quantize range [%g, %g] within float32", mn, mx)
}

// rangeParamsFast is rangeParams for the usual group, without its float16
// conversions and branches, and with inv = 1/scale, which the encoder needs
// and which is then computed once per group. It gives exactly what rangeParams
// gives, or ok = false where it does not know, which is left to rangeParams:
// a step or zero point outside the normal range of the storage format, and a
// range that does not fit at the first try.
//
// Rounding up to the format is done on the bits of the float64 step: for a
// normal result, clearing the bits below the format's mantissa and adding one
// unit in its last place when any of them was set is the smallest value of
// the format ≥ step (a carry into the exponent is right too). Adding low (all
// those bits set) and then clearing them does both in two integer operations:
// the addition carries into the format's last place exactly when one of them
// was set. Rounding the
// zero point to float16 is done on the bits of the float32 value, to nearest
// with ties to even, as Float32ToHalf does for its normal results. A normal
// float16 scale s is ≥ 2^-14, so 1/s is finite and fastPath holds; it is at
// most step·(1+2^-10), within rangeParams's bound of step·(1+1/64); and as
// |q − zero| ≤ 255 + 65504 and s ≤ 65504, every decoded value is finite. The
// float32 path keeps the finiteness check.
func rangeParamsFast(mn, mx float32, qmax int32, format ScaleFormat) (scale, zero, inv float32, ok bool) {
	step := (float64(mx) - float64(mn)) / float64(qmax)
	mid := (float64(mx) + float64(mn)) / 2
	f := &stepBits[format]
	b := (math.Float64bits(step) + f.low) &^ f.low
	if b < f.minStep || b > f.maxStep {
		return 0, 0, 0, false
	}
	s := math.Float64frombits(b)
	if format == Float16 {
		zb := math.Float32bits(float32(float64(qmax)/2 - mid/s))
		if e := zb >> 23 & 0xff; e < 127-14 || e > 127+15 {
			return 0, 0, 0, false
		}
		zb = (zb + 0xfff + zb>>13&1) &^ 0x1fff
		if zb&0x7fffffff > math.Float32bits(65504) {
			return 0, 0, 0, false
		}
		zero = math.Float32frombits(zb)
	} else {
		zero = float32(float64(qmax)/2 - mid/s)
	}
	scale = float32(s)
	inv = 1 / scale
	lo, hi := codeAxis(mn, inv, zero), codeAxis(mx, inv, zero)
	if !(lo >= 0 && hi < float32(qmax)+1) {
		return 0, 0, 0, false
	}
	if format != Float16 {
		a, c := decode(uint8(lo), zero, scale), decode(uint8(hi), zero, scale)
		if math.IsInf(float64(a), 0) || math.IsInf(float64(c), 0) {
			return 0, 0, 0, false
		}
	}
	return scale, zero, inv, true
}

// fits reports whether mn and mx encode without clipping and decode to finite
// values under scale and zero, using exactly the encoder's arithmetic.
func fits(mn, mx, scale, zero float32, qmax int32) bool {
	for _, v := range [2]float32{mn, mx} {
		var u float64
		if fastPath(scale) {
			u = float64(codeAxis(v, 1/scale, zero))
		} else {
			u = codeAxisPrecise(v, scale, zero)
		}
		if u < 0 || u >= float64(qmax)+1 || math.IsInf(float64(decode(uint8(u), zero, scale)), 0) {
			return false
		}
	}
	return true
}

// fastPath reports whether the encoder may multiply by 1/scale in float32:
// false for scales so small that the reciprocal overflows or loses precision.
func fastPath(scale float32) bool {
	return float64(scale) >= 0x1p-126 && !math.IsInf(float64(1/scale), 0)
}
