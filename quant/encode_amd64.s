//go:build amd64 && !purego

#include "textflag.h"
#include "range_amd64.h"

// REDUCE adds the eight lanes lo (0–3) and hi (4–7) of one sum in a fixed
// order, ((l0+l4) + (l2+l6)) + ((l1+l5) + (l3+l7)), and stores the result.
#define REDUCE(lo, hi, lox, tmpx, dst) \
	VADDPD       hi, lo, lo;     \
	VEXTRACTF128 $1, lo, tmpx;   \
	VADDPD       tmpx, lox, lox; \
	VPERMILPD    $1, lox, tmpx;  \
	VADDSD       tmpx, lox, lox; \
	VMOVSD       lox, dst

// HSUM adds the eight lanes lo (0–3) and hi (4–7) of one sum as REDUCE does
// and leaves the result in the low element of lox.
#define HSUM(lo, hi, lox, tmpx) \
	VADDPD       hi, lo, lo;     \
	VEXTRACTF128 $1, lo, tmpx;   \
	VADDPD       tmpx, lox, lox; \
	VPERMILPD    $1, lox, tmpx;  \
	VADDSD       tmpx, lox, lox

// SUMS8 adds the sums of eight elements: x at off(SI), x̂ in xh (float32,
// destroyed), as the loop of encodeAVX2 does; Y4–Y7 are scratch.
#define SUMS8(xh, xhx, off) \
	VCVTPS2PD    xhx, Y4;          \
	VEXTRACTF128 $1, xh, xhx;      \
	VCVTPS2PD    xhx, Y5;          \
	VCVTPS2PD    off(SI), Y6;      \
	VCVTPS2PD    off+16(SI), Y7;   \
	VFMADD231PD  Y6, Y6, Y11;      \
	VFMADD231PD  Y7, Y7, Y12;      \
	VFMADD231PD  Y4, Y4, Y13;      \
	VFMADD231PD  Y5, Y5, Y14;      \
	VSUBPD       Y4, Y6, Y6;       \
	VSUBPD       Y5, Y7, Y7;       \
	VFMADD231PD  Y6, Y6, Y9;       \
	VFMADD231PD  Y7, Y7, Y10;      \
	VANDPD       128(SP), Y6, Y6;  \
	VANDPD       128(SP), Y7, Y7;  \
	VMAXPD       Y7, Y6, Y6;       \
	VMAXPD       Y6, Y8, Y8

// CODES8 computes the codes of the eight floats at off(SI) into q and their
// x̂ into xh, as encodeAVX2 does.
#define CODES8(q, xh, off) \
	VMULPS     off(SI), Y15, q; \
	VADDPS     0(SP), q, q;     \
	VADDPS     96(SP), q, q;    \
	VCVTTPS2DQ q, q;            \
	VPMAXSD    160(SP), q, q;   \
	VPMINSD    64(SP), q, q;    \
	VCVTDQ2PS  q, xh

// ADDTOACC adds one group's reduced sums — Σd² in X9, Σx² in X11, Σx̂² in
// X13, max |d| in X8 — to the rowSums at R11 as QuantizeBlock adds them:
// sqErr += e, sqX += xx, sqXHat += hh, xXHat += ((xx + hh) − e)/2,
// maxAbsErr = max(maxAbsErr, m). X0, X1 and DX are scratch.
#define ADDTOACC \
	VADDSD X13, X11, X1;                   \
	VSUBSD X9, X1, X1;                     \
	MOVQ   $0x3fe0000000000000, DX;        \
	VMOVQ  DX, X0;                         \
	VMULSD X0, X1, X1;                     \
	VADDSD 0(R11), X9, X9;                 \
	VMOVSD X9, 0(R11);                     \
	VADDSD 8(R11), X11, X11;               \
	VMOVSD X11, 8(R11);                    \
	VADDSD 16(R11), X13, X13;              \
	VMOVSD X13, 16(R11);                   \
	VADDSD 24(R11), X1, X1;                \
	VMOVSD X1, 24(R11);                    \
	VMAXSD 32(R11), X8, X8;                \
	VMOVSD X8, 32(R11)

// ENCODE8 is one step of encodeAVX2: the codes of the eight floats at
// off(SI), stored as eight bytes at doff(DI), and their x̂ in Y2.
// Eight codes become eight bytes: dwords to words (w0–w3 twice in the low
// lane, w4–w7 twice in the high one), w0–w7 gathered in the low lane, words
// to bytes.
#define ENCODE8(off, doff) \
	VMULPS     off(SI), Y15, Y0;  \
	VADDPS     Y8, Y0, Y0;        \
	VADDPS     128(SP), Y0, Y0;   \
	VCVTTPS2DQ Y0, Y0;            \
	VPMAXSD    192(SP), Y0, Y0;   \
	VPMINSD    96(SP), Y0, Y0;    \
	VCVTDQ2PS  Y0, Y2;            \
	VPACKUSDW  Y0, Y0, Y0;        \
	VSUBPS     Y8, Y2, Y2;        \
	VPERMQ     $0x08, Y0, Y0;     \
	VMULPS     64(SP), Y2, Y2;    \
	VPACKUSWB  X0, X0, X0;        \
	VMOVQ      X0, doff(DI)

// The row kernels (encodeRowAVX2, encodeRowAVX512, encodeCodesRowAVX2,
// codesRowAVX512) share their arguments x, codes, groups, gs and qmax at the
// same offsets, and these macros.
//
// ROWARGS loads x into SI and its end into R9, codes into DI, groups into
// BX, and the bytes of x per group into R10.
#define ROWARGS \
	MOVQ x_base+0(FP), SI;      \
	MOVQ x_len+8(FP), R8;       \
	LEAQ (SI)(R8*4), R9;        \
	MOVQ codes_base+24(FP), DI; \
	MOVQ groups_base+48(FP), BX; \
	MOVQ gs+72(FP), R10;        \
	SHLQ $2, R10

// GROUPEND sets R12 to the end of the group starting at SI: a whole group
// or, for the last one, the end of x.
#define GROUPEND \
	LEAQ    (SI)(R10*1), R12; \
	CMPQ    R12, R9;          \
	CMOVQHI R9, R12

// ROWCONSTS512 broadcasts qmax into Z20 and 0.5 into Z19, and zeroes Z21,
// for the AVX-512 row kernels.
#define ROWCONSTS512 \
	MOVL         qmax+80(FP), DX; \
	VPBROADCASTD DX, Z20;         \
	MOVL         $0x3f000000, DX; \
	VPBROADCASTD DX, Z19;         \
	VPXORD       Z21, Z21, Z21

// AVX2 kernels of the quantizer. Each one does, eight floats at a time,
// exactly what the portable Go loop next to it does one float at a time: the
// same IEEE operations, rounded the same way, in the same order per lane.

// func minMaxAVX2(x []float32) (mn, mx float32, ok bool)
//
// len(x) ≥ 8. Two sets of running minimum, maximum and largest |v| bit
// pattern, sixteen floats per iteration; the last eight floats are read again
// from len(x)−8, which covers any tail without a scalar loop (min and max do
// not mind seeing an element twice). VMINPS and VMAXPS may drop a NaN, but a
// NaN's magnitude bits exceed those of +Inf, so the bit-pattern maximum
// catches it, and ±Inf too.
TEXT ·minMaxAVX2(SB), NOSPLIT, $0-33
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	LEAQ (SI)(CX*4), DI // end
	LEAQ -32(DI), DX    // last eight floats

	MOVL         $0x7fffffff, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15 // magnitude mask

	VMOVUPS (SI), Y0   // minimum, set 0
	VMOVAPS Y0, Y1     // minimum, set 1
	VMOVAPS Y0, Y2     // maximum, set 0
	VMOVAPS Y0, Y3     // maximum, set 1
	VPAND   Y15, Y0, Y4 // largest |v| bits, set 0
	VMOVDQA Y4, Y5      // largest |v| bits, set 1
	ADDQ    $32, SI

	RANGEGROUP(Y4, Y5)

	// Fold the two sets of magnitudes, then the eight lanes.
	VPMAXSD      Y5, Y4, Y4
	VEXTRACTI128 $1, Y4, X5
	VPMAXSD      X5, X4, X4
	VPSHUFD      $0x4e, X4, X5
	VPMAXSD      X5, X4, X4
	VPSHUFD      $0xb1, X4, X5
	VPMAXSD      X5, X4, X4

	VMOVSS X0, mn+24(FP)
	VMOVSS X2, mx+28(FP)
	VMOVD  X4, AX
	CMPL   AX, $0x7f800000
	SETLT  ok+32(FP)
	VZEROUPPER
	RET

// func encodeAVX2(x []float32, codes []uint8, inv, zero, scale float32, qmax int32) (sqErr, sqX, sqXHat, maxAbsErr float64)
//
// len(x) is a positive multiple of 8. For every eight floats:
//
//	q = clamp(int32(float32(float32(x·inv) + zero) + 0.5), 0, qmax)  VMULPS, VADDPS, VADDPS, VCVTTPS2DQ, VPMAXSD, VPMINSD
//	x̂ = float32(float32(q) − zero) · scale                            VCVTDQ2PS, VSUBPS, VMULPS
//	d = float64(x) − float64(x̂)                                       VCVTPS2PD, VSUBPD
//
// and lane j (element index mod 8) of the sums gets d², x² and x̂², lane
// j mod 4 of the maximum gets |d|. The products x² and x̂² are exact in
// float64, so VFMADD231PD adds the very value the Go loop's multiply and add
// do; d² is fused as math.FMA does in the Go loop. The lanes are then added as
// laneSums.reduce does.
//
// The loop is software-pipelined: while the sums of one block of eight are
// accumulated, the codes and x̂ of the next are computed, which keeps the
// long code → x̂ → d chain of one block off the critical path.
//
// Constants in the frame: scale 64, qmax 96, 0.5 128, |·| mask 160, zeros 192;
// inv in Y15 and zero in Y8.
// Y0: codes; Y2: x̂ of the next block; Y3/Y4: x lo/hi, then d; Y5/Y6: x̂ lo/hi;
// Y7: max|d|; Y9/Y10: d²; Y11/Y12: x²; Y13/Y14: x̂².
TEXT ·encodeAVX2(SB), NOSPLIT, $224-96
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	MOVQ codes_base+24(FP), DI

	VBROADCASTSS inv+48(FP), Y15
	VBROADCASTSS zero+52(FP), Y8
	VBROADCASTSS scale+56(FP), Y0
	VMOVUPS      Y0, 64(SP)
	MOVL         qmax+60(FP), DX
	VMOVD        DX, X0
	VPBROADCASTD X0, Y0
	VMOVDQU      Y0, 96(SP)
	MOVL         $0x3f000000, DX // 0.5
	VMOVD        DX, X0
	VPBROADCASTD X0, Y0
	VMOVDQU      Y0, 128(SP)
	MOVQ         $0x7fffffffffffffff, DX
	VMOVQ        DX, X0
	VPBROADCASTQ X0, Y0
	VMOVDQU      Y0, 160(SP)
	VPXOR        Y0, Y0, Y0
	VMOVDQU      Y0, 192(SP)

	VXORPD Y7, Y7, Y7
	VXORPD Y9, Y9, Y9
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11
	VXORPD Y12, Y12, Y12
	VXORPD Y13, Y13, Y13
	VXORPD Y14, Y14, Y14

	// Codes and x̂ of the first block.
	ENCODE8(0, 0)
	SUBQ       $8, CX
	JZ         last

loop:
	// x̂ of this block to float64.
	VCVTPS2PD    X2, Y5
	VEXTRACTF128 $1, Y2, X2
	VCVTPS2PD    X2, Y6

	// Codes and x̂ of the next block.
	ENCODE8(32, 8)

	// Sums of this block.
	VCVTPS2PD   (SI), Y3
	VCVTPS2PD   16(SI), Y4
	VFMADD231PD Y3, Y3, Y11 // x²
	VFMADD231PD Y4, Y4, Y12
	VFMADD231PD Y5, Y5, Y13 // x̂²
	VFMADD231PD Y6, Y6, Y14
	VSUBPD      Y5, Y3, Y3  // d
	VSUBPD      Y6, Y4, Y4
	VFMADD231PD Y3, Y3, Y9  // d²
	VFMADD231PD Y4, Y4, Y10
	VANDPD      160(SP), Y3, Y3 // |d|
	VMAXPD      Y3, Y7, Y7
	VANDPD      160(SP), Y4, Y4
	VMAXPD      Y4, Y7, Y7

	ADDQ $32, SI
	ADDQ $8, DI
	SUBQ $8, CX
	JNZ  loop

last:
	VCVTPS2PD    X2, Y5
	VEXTRACTF128 $1, Y2, X2
	VCVTPS2PD    X2, Y6
	VCVTPS2PD    (SI), Y3
	VCVTPS2PD    16(SI), Y4
	VFMADD231PD  Y3, Y3, Y11
	VFMADD231PD  Y4, Y4, Y12
	VFMADD231PD  Y5, Y5, Y13
	VFMADD231PD  Y6, Y6, Y14
	VSUBPD       Y5, Y3, Y3
	VSUBPD       Y6, Y4, Y4
	VFMADD231PD  Y3, Y3, Y9
	VFMADD231PD  Y4, Y4, Y10
	VANDPD       160(SP), Y3, Y3
	VMAXPD       Y3, Y7, Y7
	VANDPD       160(SP), Y4, Y4
	VMAXPD       Y4, Y7, Y7

	// Add the lanes as laneSums.reduce does: t_k = l_k + l_{k+4}, then
	// (t0 + t2) + (t1 + t3).
	REDUCE(Y9, Y10, X9, X0, sqErr+64(FP))
	REDUCE(Y11, Y12, X11, X0, sqX+72(FP))
	REDUCE(Y13, Y14, X13, X0, sqXHat+80(FP))
	VEXTRACTF128 $1, Y7, X0
	VMAXPD       X0, X7, X7
	VPERMILPD    $1, X7, X0
	VMAXSD       X0, X7, X7
	VMOVSD       X7, maxAbsErr+88(FP)
	VZEROUPPER
	RET

// func pack4AVX2(dst []byte, codes []uint8)
//
// len(codes) is a multiple of 32; 32 codes become 16 bytes. VPMADDUBSW with
// the bytes 1, 16 turns each pair into the word c0 + 16·c1, which is below
// 256 for codes below 16, and VPACKUSWB narrows the words to bytes.
TEXT ·pack4AVX2(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ codes_base+24(FP), SI
	MOVQ codes_len+32(FP), CX
	SHRQ $5, CX
	JZ   done4

	MOVL         $0x10011001, AX // bytes 1, 16, 1, 16
	VMOVD        AX, X7
	VPBROADCASTD X7, Y7

loop4:
	VMOVDQU      (SI), Y0
	VPMADDUBSW   Y7, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKUSWB    X1, X0, X0
	VMOVDQU      X0, (DI)
	ADDQ         $32, SI
	ADDQ         $16, DI
	DECQ         CX
	JNZ          loop4
	VZEROUPPER

done4:
	RET

// func pack2AVX2(dst []byte, codes []uint8)
//
// len(codes) is a multiple of 32; 32 codes become 8 bytes: pairs of codes to
// words c0 + 4·c1 (VPMADDUBSW), pairs of words to dwords w0 + 16·w1
// (VPMADDWD), then dwords to words to bytes.
TEXT ·pack2AVX2(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ codes_base+24(FP), SI
	MOVQ codes_len+32(FP), CX
	SHRQ $5, CX
	JZ   done2

	MOVL         $0x04010401, AX // bytes 1, 4, 1, 4
	VMOVD        AX, X6
	VPBROADCASTD X6, Y6
	MOVL         $0x00100001, AX // words 1, 16
	VMOVD        AX, X7
	VPBROADCASTD X7, Y7

loop2:
	VMOVDQU      (SI), Y0
	VPMADDUBSW   Y6, Y0, Y0
	VPMADDWD     Y7, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKUSDW    X1, X0, X0
	VPACKUSWB    X0, X0, X0
	VMOVQ        X0, (DI)
	ADDQ         $32, SI
	ADDQ         $8, DI
	DECQ         CX
	JNZ          loop2
	VZEROUPPER

done2:
	RET

// func encodeRowAVX2(x []float32, codes []uint8, groups []groupParams, gs int, qmax int32, acc *rowSums)
//
// encodeAVX2 for every group of a row, and the sums of each group added to
// acc as QuantizeBlock adds them. Group g is x[g·gs : min((g+1)·gs, len(x))];
// gs and len(x) are positive multiples of 8 and every group is encoded with
// its inv, zero and scale (none is constant or needs encodePrecise). Each
// group's sums are accumulated in the lanes of encodeAVX2 and reduced in its
// order, so the sums are those of encodeAVX2 and the additions of
// QuantizeBlock, bit for bit; sixteen floats per iteration share one pack of
// the codes, and the set-up is done once per row.
//
// Frame: zero 0, scale 32, qmax 64, 0.5 96, |·| mask 128, zeros 160; inv in
// Y15, max|d| in Y8, d² Y9/Y10, x² Y11/Y12, x̂² Y13/Y14.
TEXT ·encodeRowAVX2(SB), NOSPLIT, $192-96
	ROWARGS
	MOVQ acc+88(FP), R11

	MOVL         qmax+80(FP), DX
	VMOVD        DX, X0
	VPBROADCASTD X0, Y0
	VMOVDQU      Y0, 64(SP)
	MOVL         $0x3f000000, DX // 0.5
	VMOVD        DX, X0
	VPBROADCASTD X0, Y0
	VMOVDQU      Y0, 96(SP)
	MOVQ         $0x7fffffffffffffff, DX
	VMOVQ        DX, X0
	VPBROADCASTQ X0, Y0
	VMOVDQU      Y0, 128(SP)
	VPXOR        Y0, Y0, Y0
	VMOVDQU      Y0, 160(SP)

group:
	GROUPEND

	VBROADCASTSS 16(BX), Y15 // inv
	VBROADCASTSS 12(BX), Y0  // zero
	VMOVUPS      Y0, 0(SP)
	VBROADCASTSS 8(BX), Y0   // scale
	VMOVUPS      Y0, 32(SP)

	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11
	VXORPD Y12, Y12, Y12
	VXORPD Y13, Y13, Y13
	VXORPD Y14, Y14, Y14

loop16:
	LEAQ 64(SI), AX
	CMPQ AX, R12
	JHI  tail8
	CODES8(Y0, Y2, 0)
	CODES8(Y1, Y3, 32)
	// Sixteen codes to bytes: dwords to words (a0–3 b0–3 | a4–7 b4–7),
	// qwords reordered (a0–7 | b0–7), words to bytes.
	VPACKUSDW    Y1, Y0, Y0
	VPERMQ       $0xd8, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKUSWB    X1, X0, X0
	VMOVDQU      X0, (DI)
	VSUBPS       0(SP), Y2, Y2
	VMULPS       32(SP), Y2, Y2
	VSUBPS       0(SP), Y3, Y3
	VMULPS       32(SP), Y3, Y3
	SUMS8(Y2, X2, 0)
	SUMS8(Y3, X3, 32)
	MOVQ         AX, SI
	ADDQ         $16, DI
	JMP          loop16

tail8:
	CMPQ SI, R12
	JEQ  reduce
	CODES8(Y0, Y2, 0)
	VPACKUSDW Y0, Y0, Y0
	VPERMQ    $0x08, Y0, Y0
	VPACKUSWB X0, X0, X0
	VMOVQ     X0, (DI)
	VSUBPS    0(SP), Y2, Y2
	VMULPS    32(SP), Y2, Y2
	SUMS8(Y2, X2, 0)
	ADDQ      $32, SI
	ADDQ      $8, DI

reduce:
	// The group's sums, reduced as laneSums.reduce does, then added to acc
	// as QuantizeBlock adds them: sqErr += e, sqX += xx, sqXHat += hh,
	// xXHat += ((xx + hh) − e)/2, maxAbsErr = max(maxAbsErr, m).
	HSUM(Y9, Y10, X9, X0)
	HSUM(Y11, Y12, X11, X0)
	HSUM(Y13, Y14, X13, X0)
	VEXTRACTF128 $1, Y8, X0
	VMAXPD       X0, X8, X8
	VPERMILPD    $1, X8, X0
	VMAXSD       X0, X8, X8

	ADDTOACC

	ADDQ $20, BX
	CMPQ SI, R9
	JB   group
	VZEROUPPER
	RET

// func encodeRowAVX512(x []float32, codes []uint8, groups []groupParams, gs int, qmax int32, acc *rowSums)
//
// encodeRowAVX2 with 512-bit registers, the same results bit for bit: the
// eight lanes of each sum sit in one Z register (lane j holds the elements
// whose index in the group is j mod 8, added in order), sixteen floats per
// iteration, codes narrowed by VPMOVDB, and max |d| kept by VRANGEPD
// (imm 0b1011: the larger magnitude, sign cleared).
//
// Registers: inv Z16, zero Z17, scale Z18, 0.5 Z19, qmax Z20, zeros Z21;
// max|d| Z8, d² Z9, x² Z11, x̂² Z13.
TEXT ·encodeRowAVX512(SB), NOSPLIT, $0-96
	ROWARGS
	MOVQ acc+88(FP), R11

	ROWCONSTS512

group512:
	GROUPEND

	VBROADCASTSS 16(BX), Z16 // inv
	VBROADCASTSS 12(BX), Z17 // zero
	VBROADCASTSS 8(BX), Z18  // scale

	VXORPD Y8, Y8, Y8 // VEX zeroing clears the whole Z register
	VXORPD Y9, Y9, Y9
	VXORPD Y11, Y11, Y11
	VXORPD Y13, Y13, Y13

loop512:
	LEAQ 64(SI), AX
	CMPQ AX, R12
	JHI  tail512
	VMULPS        (SI), Z16, Z0
	VADDPS        Z17, Z0, Z0
	VADDPS        Z19, Z0, Z0
	VCVTTPS2DQ    Z0, Z0
	VPMAXSD       Z21, Z0, Z0
	VPMINSD       Z20, Z0, Z0
	VPMOVDB       Z0, X1
	VMOVDQU       X1, (DI)
	VCVTDQ2PS     Z0, Z1
	VSUBPS        Z17, Z1, Z1
	VMULPS        Z18, Z1, Z1 // x̂
	VCVTPS2PD     Y1, Z2
	VEXTRACTF64X4 $1, Z1, Y1
	VCVTPS2PD     Y1, Z3
	VCVTPS2PD     (SI), Z4
	VCVTPS2PD     32(SI), Z5
	VFMADD231PD   Z4, Z4, Z11 // x²
	VFMADD231PD   Z2, Z2, Z13 // x̂²
	VSUBPD        Z2, Z4, Z4  // d
	VFMADD231PD   Z4, Z4, Z9  // d²
	VFMADD231PD   Z5, Z5, Z11
	VFMADD231PD   Z3, Z3, Z13
	VSUBPD        Z3, Z5, Z5
	VFMADD231PD   Z5, Z5, Z9
	VRANGEPD      $0x0b, Z5, Z4, Z4
	VRANGEPD      $0x0b, Z4, Z8, Z8
	MOVQ          AX, SI
	ADDQ          $16, DI
	JMP           loop512

tail512:
	CMPQ        SI, R12
	JEQ         reduce512
	VMULPS      (SI), Y16, Y0
	VADDPS      Y17, Y0, Y0
	VADDPS      Y19, Y0, Y0
	VCVTTPS2DQ  Y0, Y0
	VPMAXSD     Y21, Y0, Y0
	VPMINSD     Y20, Y0, Y0
	VPMOVDB     Y0, X1
	VMOVQ       X1, (DI)
	VCVTDQ2PS   Y0, Y1
	VSUBPS      Y17, Y1, Y1
	VMULPS      Y18, Y1, Y1
	VCVTPS2PD   Y1, Z2
	VCVTPS2PD   (SI), Z4
	VFMADD231PD Z4, Z4, Z11
	VFMADD231PD Z2, Z2, Z13
	VSUBPD      Z2, Z4, Z4
	VFMADD231PD Z4, Z4, Z9
	VRANGEPD    $0x0b, Z4, Z8, Z8
	ADDQ        $32, SI
	ADDQ        $8, DI

reduce512:
	// Lanes 4–7 onto 0–3, then as encodeRowAVX2.
	VEXTRACTF64X4 $1, Z9, Y0
	VADDPD        Y0, Y9, Y9
	VEXTRACTF128  $1, Y9, X0
	VADDPD        X0, X9, X9
	VPERMILPD     $1, X9, X0
	VADDSD        X0, X9, X9
	VEXTRACTF64X4 $1, Z11, Y0
	VADDPD        Y0, Y11, Y11
	VEXTRACTF128  $1, Y11, X0
	VADDPD        X0, X11, X11
	VPERMILPD     $1, X11, X0
	VADDSD        X0, X11, X11
	VEXTRACTF64X4 $1, Z13, Y0
	VADDPD        Y0, Y13, Y13
	VEXTRACTF128  $1, Y13, X0
	VADDPD        X0, X13, X13
	VPERMILPD     $1, X13, X0
	VADDSD        X0, X13, X13
	VEXTRACTF64X4 $1, Z8, Y0
	VMAXPD        Y0, Y8, Y8
	VEXTRACTF128  $1, Y8, X0
	VMAXPD        X0, X8, X8
	VPERMILPD     $1, X8, X0
	VMAXSD        X0, X8, X8

	ADDTOACC

	ADDQ $20, BX
	CMPQ SI, R9
	JB   group512
	VZEROUPPER
	RET

// CODES computes into r the codes of the floats at off(SI), as codeAxis and
// codeOf do: r = clamp(int32(float32(float32(x·inv) + zero) + 0.5), lo, hi),
// every step rounded (no fused multiply-add), with lo all zeros and hi qmax.
// The codes-only kernels below use it at both register widths.
#define CODES(r, off, inv, zero, half, lo, hi) \
	VMULPS     off(SI), inv, r; \
	VADDPS     zero, r, r;      \
	VADDPS     half, r, r;      \
	VCVTTPS2DQ r, r;            \
	VPMAXSD    lo, r, r;        \
	VPMINSD    hi, r, r

// func encodeCodesRowAVX2(x []float32, codes []uint8, groups []groupParams, gs int, qmax int32)
//
// The codes of encodeRowAVX2 and nothing else: group g is
// x[g·gs : min((g+1)·gs, len(x))], encoded with its inv and zero; gs and
// len(x) are positive multiples of 8. Sixteen floats per iteration share one
// narrowing to bytes, as in encodeRowAVX2; the constants stay in registers,
// as there are no sums to hold.
//
// Registers: inv Y15, zero Y14, 0.5 Y13, qmax Y12, zeros Y11.
TEXT ·encodeCodesRowAVX2(SB), NOSPLIT, $0-84
	ROWARGS

	MOVL         qmax+80(FP), DX
	VMOVD        DX, X12
	VPBROADCASTD X12, Y12
	MOVL         $0x3f000000, DX // 0.5
	VMOVD        DX, X13
	VPBROADCASTD X13, Y13
	VPXOR        Y11, Y11, Y11

group:
	GROUPEND

	VBROADCASTSS 16(BX), Y15 // inv
	VBROADCASTSS 12(BX), Y14 // zero

loop16:
	LEAQ 64(SI), AX
	CMPQ AX, R12
	JHI  tail8
	CODES(Y0, 0, Y15, Y14, Y13, Y11, Y12)
	CODES(Y1, 32, Y15, Y14, Y13, Y11, Y12)
	// Sixteen codes to bytes as in encodeRowAVX2.
	VPACKUSDW    Y1, Y0, Y0
	VPERMQ       $0xd8, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKUSWB    X1, X0, X0
	VMOVDQU      X0, (DI)
	MOVQ         AX, SI
	ADDQ         $16, DI
	JMP          loop16

tail8:
	CMPQ SI, R12
	JEQ  next
	CODES(Y0, 0, Y15, Y14, Y13, Y11, Y12)
	VPACKUSDW Y0, Y0, Y0
	VPERMQ    $0x08, Y0, Y0
	VPACKUSWB X0, X0, X0
	VMOVQ     X0, (DI)
	ADDQ      $32, SI
	ADDQ      $8, DI

next:
	ADDQ $20, BX
	CMPQ SI, R9
	JB   group
	VZEROUPPER
	RET

// func codesRowAVX512(x []float32, codes []uint8, groups []groupParams, gs int, qmax int32, clamp bool)
//
// encodeCodesRowAVX2 in 512-bit registers, the same codes: sixteen floats
// per iteration, codes narrowed by VPMOVDB, and at most one block of eight
// at the end of a group. (Two blocks of sixteen per iteration, in two
// independent chains, measured no faster on Zen 4: the loop is bound by its
// vector operations, not by their latency or the loop's own.)
//
// Without clamp, the clamp to [0, qmax] is left out of the loop of sixteen,
// a third of its vector operations: block asks for that only for groups
// whose parameters were checked to fit (see encodeFittedRow), where it
// cannot change a code. The test of clamp is a branch the same way every
// iteration, on the integer side of the core.
//
// Registers: inv Z16, zero Z17, 0.5 Z19, qmax Z20, zeros Z21; clamp R13.
TEXT ·codesRowAVX512(SB), NOSPLIT, $0-85
	ROWARGS
	MOVBQZX clamp+84(FP), R13

	ROWCONSTS512

group:
	GROUPEND

	VBROADCASTSS 16(BX), Z16 // inv
	VBROADCASTSS 12(BX), Z17 // zero

loop16:
	LEAQ       64(SI), AX
	CMPQ       AX, R12
	JHI        tail8
	VMULPS     (SI), Z16, Z0
	VADDPS     Z17, Z0, Z0
	VADDPS     Z19, Z0, Z0
	VCVTTPS2DQ Z0, Z0
	TESTQ      R13, R13
	JZ         narrow
	VPMAXSD    Z21, Z0, Z0
	VPMINSD    Z20, Z0, Z0

narrow:
	VPMOVDB Z0, X0
	VMOVDQU X0, (DI)
	MOVQ    AX, SI
	ADDQ    $16, DI
	JMP     loop16

tail8:
	CMPQ SI, R12
	JEQ  next
	CODES(Y0, 0, Y16, Y17, Y19, Y21, Y20)
	VPMOVDB Y0, X0
	VMOVQ   X0, (DI)
	ADDQ    $32, SI
	ADDQ    $8, DI

next:
	ADDQ $20, BX
	CMPQ SI, R9
	JB   group
	VZEROUPPER
	RET
