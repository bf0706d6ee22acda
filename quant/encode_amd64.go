//go:build amd64 && !purego

package quant

import "golang.org/x/sys/cpu"

// useAVX2 says whether the AVX2 kernels of encode_amd64.s run. It is set once
// from CPUID (AVX2 and FMA, with operating-system support for the YMM
// registers) and never changes; the portable loops remain reachable through
// the purego build tag and are tested directly.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// minMaxAVX2 is minMax for len(x) ≥ 8.
//
//go:noescape
func minMaxAVX2(x []float32) (mn, mx float32, ok bool)

// encodeAVX2 is encodeGeneric for len(x) a positive multiple of 8, with the
// same results bit for bit. The sums come back as results rather than through
// a pointer: Go copies a struct with 16-byte moves, which cannot be forwarded
// from the kernel's 8-byte stores and would stall on every group.
//
//go:noescape
func encodeAVX2(x []float32, codes []uint8, inv, zero, scale float32, qmax int32) (sqErr, sqX, sqXHat, maxAbsErr float64)

// pack4AVX2 packs len(codes), a multiple of 32, 4-bit codes into dst.
//
//go:noescape
func pack4AVX2(dst []byte, codes []uint8)

// pack2AVX2 packs len(codes), a multiple of 32, 2-bit codes into dst.
//
//go:noescape
func pack2AVX2(dst []byte, codes []uint8)

// encodeRowAVX2 encodes a row whose groups all take the fast path, one
// group of gs elements after another (the last may be shorter), and adds
// every group's sums to acc exactly as QuantizeBlock adds those of
// encodeSums: the same results bit for bit, without a call and its set-up
// per group. gs and len(x) must be positive multiples of 8.
//
//go:noescape
func encodeRowAVX2(x []float32, codes []uint8, groups []groupParams, gs int, qmax int32, acc *rowSums)

// useAVX512 says whether encodeRowAVX512 runs instead of encodeRowAVX2: it
// needs AVX-512 F, DQ (VRANGEPD) and VL, with operating-system support for
// the Z registers, which x/sys/cpu checks.
var useAVX512 = useAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VL

// encodeRowAVX512 is encodeRowAVX2 in 512-bit registers, with the same
// results bit for bit.
//
//go:noescape
func encodeRowAVX512(x []float32, codes []uint8, groups []groupParams, gs int, qmax int32, acc *rowSums)

// encodeCodesRowAVX2 is encodeRowAVX2 without the sums: the same codes, and
// nothing else is computed. gs and len(x) must be positive multiples of 8.
//
//go:noescape
func encodeCodesRowAVX2(x []float32, codes []uint8, groups []groupParams, gs int, qmax int32)

// encodeCodesRowAVX512 is encodeCodesRowAVX2 in 512-bit registers, with
// the same codes.
func encodeCodesRowAVX512(x []float32, codes []uint8, groups []groupParams, gs int, qmax int32) {
	codesRowAVX512(x, codes, groups, gs, qmax, true)
}

// codesRowAVX512 is encodeCodesRowAVX512, and without clamp the same for
// groups whose every value falls in [0, qmax+1) on the code axis.
//
//go:noescape
func codesRowAVX512(x []float32, codes []uint8, groups []groupParams, gs int, qmax int32, clamp bool)

// rangeParamsAVX2 is rowParams's loop for len(groups) ≥ 4, with low, minStep
// and maxStep from stepBits and half for Float16.
//
//go:noescape
func rangeParamsAVX2(groups []groupParams, qmax int32, low, minStep, maxStep uint64, half bool)

// minMaxGroupsAVX2 is minMaxAVX2 for every group of gs ≥ 8 floats of x,
// len(x) = gs·len(groups) > 0, writing the groups' mn and mx; ok is false if
// any element of x is NaN or ±Inf.
//
//go:noescape
func minMaxGroupsAVX2(x []float32, gs int, groups []groupParams) (ok bool)

// rangeParamsAVX512 is rangeParamsAVX2 for len(groups) ≥ 8, eight groups at
// a time.
//
//go:noescape
func rangeParamsAVX512(groups []groupParams, qmax int32, low, minStep, maxStep uint64, half bool)
