//go:build amd64 && !purego

#include "textflag.h"
#include "range_amd64.h"

// STORE4 stores the four lanes of scale, zero and inv in the four groups
// from off(BX) on. (VSCATTERDPS, one per vector, made rangeParamsAVX512
// about 10 % slower on Zen 4.)
#define STORE4(scale, zero, inv, off) \
	VMOVSS     scale, off+8(BX);      \
	VMOVSS     zero, off+12(BX);      \
	VMOVSS     inv, off+16(BX);       \
	VEXTRACTPS $1, scale, off+28(BX); \
	VEXTRACTPS $1, zero, off+32(BX);  \
	VEXTRACTPS $1, inv, off+36(BX);   \
	VEXTRACTPS $2, scale, off+48(BX); \
	VEXTRACTPS $2, zero, off+52(BX);  \
	VEXTRACTPS $2, inv, off+56(BX);   \
	VEXTRACTPS $3, scale, off+68(BX); \
	VEXTRACTPS $3, zero, off+72(BX);  \
	VEXTRACTPS $3, inv, off+76(BX)

// func rangeParamsAVX2(groups []groupParams, qmax int32, low, minStep, maxStep uint64, half bool)
//
// rangeParamsFast for four groups at a time, as rowParams describes; each
// step is the scalar one in a lane:
//
//	step = (float64(mx) − float64(mn)) / float64(qmax)   VCVTPS2PD, VSUBPD, VDIVPD
//	mid  = (float64(mx) + float64(mn)) · 0.5             VADDPD, VMULPD (x/2 and x·0.5 are the same rounding of the same value)
//	b    = (bits(step) + low) &^ low                     VPADDQ, VPANDN
//	ok   = minStep ≤ b ≤ maxStep                         VPCMPGTQ (b < 2^63: signed compares are right)
//	zero = float32(qmax/2 − mid/s), s = frombits(b)      VDIVPD, VSUBPD, VCVTPD2PS
//
// then, for float16 only, the exponent check and the rounding of zero on
// its bits, for both formats scale = float32(s), inv = 1/scale and the fits
// check with codeAxis's float32 operations, and for float32 only decode's
// finiteness test. Lanes that are not ok get inv = 0; their scale and zero
// are meaningless. The two tests on the format are the same every
// iteration and cost nothing once predicted; the float16 path is the usual
// one and skips a sixth of the instructions.
//
// len(groups) ≥ 4. The last four groups are done again from len−4 when the
// count is not a multiple of four: a group's parameters depend on its own
// mn and mx only, so computing them twice writes the same values.
//
// Frame (32-byte slots, dword constants broadcast to eight lanes):
//	0 float64(qmax)   32 qmax/2     64 0.5         96 minStep−1   128 maxStep+1
//	160 float32(qmax)+1   192 0.5f  224 1.0f       256 0x7fffffff (|·| bits)
//	288 113<<23 − 1 (exponent ≥ −14)   320 143<<23 (exponent ≤ 15)
//	352 0xfff   384 1   416 bits(65504)+1   448 +Inf bits
// Registers: low Y15, 0x1fff X14, zeros X13.
TEXT ·rangeParamsAVX2(SB), NOSPLIT, $480-57
	MOVQ groups_base+0(FP), BX
	MOVQ groups_len+8(FP), CX
	LEAQ (CX)(CX*4), CX
	LEAQ -80(BX)(CX*4), R8 // &groups[len−4]

	MOVL         qmax+24(FP), AX
	VCVTSI2SDL   AX, X0, X0
	VBROADCASTSD X0, Y0
	VMOVUPD      Y0, 0(SP)
	MOVQ         $0x3fe0000000000000, DX // 0.5
	VMOVQ        DX, X1
	VBROADCASTSD X1, Y1
	VMOVUPD      Y1, 64(SP)
	VMULPD       Y1, Y0, Y2
	VMOVUPD      Y2, 32(SP)
	VPBROADCASTQ low+32(FP), Y15
	MOVQ         minStep+40(FP), DX
	DECQ         DX
	VMOVQ        DX, X0
	VPBROADCASTQ X0, Y0
	VMOVDQU      Y0, 96(SP)
	MOVQ         maxStep+48(FP), DX
	INCQ         DX
	VMOVQ        DX, X0
	VPBROADCASTQ X0, Y0
	VMOVDQU      Y0, 128(SP)
	VCVTSI2SSL   AX, X0, X0
	MOVL         $0x3f800000, DX // 1.0f
	VMOVD        DX, X1
	VADDSS       X1, X0, X0
	VBROADCASTSS X0, Y0
	VMOVUPS      Y0, 160(SP)
	VBROADCASTSS X1, Y1
	VMOVUPS      Y1, 224(SP)

#define DWORDS(v, off) \
	MOVL         v, DX;  \
	VMOVD        DX, X0; \
	VPBROADCASTD X0, Y0; \
	VMOVDQU Y0, off(SP)

	DWORDS($0x3f000000,     192)
	DWORDS($0x7fffffff,     256)
	DWORDS($(113<<23-1),    288)
	DWORDS($(143<<23),      320)
	DWORDS($0xfff,          352)
	DWORDS($1,              384)
	DWORDS($(0x477fe000+1), 416)
	DWORDS($0x7f800000,     448)
	MOVL                    $0x1fff, DX
	VMOVD                   DX, X14
	VPBROADCASTD            X14, X14
	VPXOR                   X13, X13, X13

loop:
	// mn and mx of four groups, 20 bytes apart: pairs, then split.
	VMOVQ   0(BX), X0
	VMOVHPS 20(BX), X0, X0
	VMOVQ   40(BX), X1
	VMOVHPS 60(BX), X1, X1
	VSHUFPS $0x88, X1, X0, X2 // mn
	VSHUFPS $0xdd, X1, X0, X3 // mx

	VCVTPS2PD    X2, Y4
	VCVTPS2PD    X3, Y5
	VSUBPD       Y4, Y5, Y6
	VDIVPD       0(SP), Y6, Y6 // step
	VADDPD       Y4, Y5, Y7
	VMULPD       64(SP), Y7, Y7 // mid
	VPADDQ       Y15, Y6, Y6
	VPANDN       Y6, Y15, Y6    // b: step rounded up, s
	VPCMPGTQ     96(SP), Y6, Y8
	VMOVDQU      128(SP), Y9
	VPCMPGTQ     Y6, Y9, Y9
	VPAND        Y9, Y8, Y8     // ok, in quadwords
	VDIVPD       Y6, Y7, Y7
	VMOVUPD      32(SP), Y9
	VSUBPD       Y7, Y9, Y7
	VCVTPD2PSY   Y7, X7        // zero
	VCVTPD2PSY   Y6, X6        // scale
	VEXTRACTI128 $1, Y8, X9
	VSHUFPS      $0x88, X9, X8, X8 // ok, in doublewords

	CMPB half+56(FP), $0
	JEQ  fits
	// float16: the exponent of zero within float16's normal range, zero
	// rounded to nearest even on its 13 low bits, and at most 65504.
	VPAND    256(SP), X7, X9
	VPCMPGTD 288(SP), X9, X10
	VPAND    X10, X8, X8
	VMOVDQU  320(SP), X10
	VPCMPGTD X9, X10, X10
	VPAND    X10, X8, X8
	VPSRLD   $13, X7, X9
	VPAND    384(SP), X9, X9
	VPADDD   X9, X7, X7
	VPADDD   352(SP), X7, X7
	VPANDN   X7, X14, X7
	VPAND    256(SP), X7, X9
	VMOVDQU  416(SP), X10
	VPCMPGTD X9, X10, X10
	VPAND    X10, X8, X8

fits:
	VMOVUPS 224(SP), X9
	VDIVPS  X6, X9, X9 // inv
	VMULPS  X9, X2, X10
	VADDPS  X7, X10, X10
	VADDPS  192(SP), X10, X10 // codeAxis(mn)
	VMULPS  X9, X3, X11
	VADDPS  X7, X11, X11
	VADDPS  192(SP), X11, X11 // codeAxis(mx)
	VCMPPS  $0x1d, X13, X10, X0 // ≥ 0, ordered
	VPAND   X0, X8, X8
	VCMPPS  $0x11, 160(SP), X11, X0 // < qmax+1, ordered
	VPAND   X0, X8, X8
	CMPB    half+56(FP), $0
	JNE     store
	// float32: decode(uint8(code), zero, scale) must be finite at both ends.
	VCVTTPS2DQ X10, X10
	VCVTDQ2PS  X10, X10
	VSUBPS     X7, X10, X10
	VMULPS     X6, X10, X10
	VPAND      256(SP), X10, X10
	VPCMPEQD   448(SP), X10, X10
	VPANDN     X8, X10, X8
	VCVTTPS2DQ X11, X11
	VCVTDQ2PS  X11, X11
	VSUBPS     X7, X11, X11
	VMULPS     X6, X11, X11
	VPAND      256(SP), X11, X11
	VPCMPEQD   448(SP), X11, X11
	VPANDN     X8, X11, X8

store:
	VPAND X8, X9, X9 // inv, 0 where not ok

	STORE4(X6, X7, X9, 0)

	CMPQ    BX, R8
	JEQ     done
	ADDQ    $80, BX
	CMPQ    BX, R8
	CMOVQHI R8, BX
	JMP     loop

done:
	VZEROUPPER
	RET

// func minMaxGroupsAVX2(x []float32, gs int, groups []groupParams) (ok bool)
//
// minMaxAVX2 for every group of gs ≥ 8 floats of x, len(x) = gs·len(groups),
// writing each group's mn and mx, in one call: the per-call set-up and the
// return of three results go, and the horizontal folding of one group
// overlaps the loads of the next, which depend on nothing before them. The
// largest |v| bit pattern is kept across all groups, so ok is false if any
// element is NaN or ±Inf; the caller then finds the first one. Within a
// group, as in minMaxAVX2: sixteen floats per iteration in two sets, then
// eight, and the last eight again from the group's end.
//
// Registers: |·| mask Y15, largest |v| bits Y14 (and Y13 in the loop).
TEXT ·minMaxGroupsAVX2(SB), NOSPLIT, $0-57
	MOVQ x_base+0(FP), SI
	MOVQ gs+24(FP), R10
	SHLQ $2, R10 // bytes per group
	MOVQ groups_base+32(FP), BX
	MOVQ groups_len+40(FP), CX

	MOVL         $0x7fffffff, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15
	VPXOR        Y14, Y14, Y14
	VPXOR        Y13, Y13, Y13

group:
	LEAQ (SI)(R10*1), DI // end of the group
	LEAQ -32(DI), DX     // its last eight floats

	VMOVUPS (SI), Y0 // minimum, set 0
	VMOVAPS Y0, Y1   // minimum, set 1
	VMOVAPS Y0, Y2   // maximum, set 0
	VMOVAPS Y0, Y3   // maximum, set 1
	VPAND   Y15, Y0, Y6
	VPMAXSD Y6, Y14, Y14
	ADDQ    $32, SI

	RANGEGROUP(Y14, Y13)
	VMOVSS X0, 0(BX)
	VMOVSS X2, 4(BX)

	MOVQ DI, SI
	ADDQ $20, BX
	DECQ CX
	JNZ  group

	VPMAXSD      Y13, Y14, Y14
	VEXTRACTI128 $1, Y14, X5
	VPMAXSD      X5, X14, X14
	VPSHUFD      $0x4e, X14, X5
	VPMAXSD      X5, X14, X14
	VPSHUFD      $0xb1, X14, X5
	VPMAXSD      X5, X14, X14
	VMOVD        X14, AX
	CMPL         AX, $0x7f800000
	SETLT        ok+56(FP)
	VZEROUPPER
	RET

// BCASTD broadcasts the doubleword v to the eight lanes of y.
#define BCASTD(v, y) \
	MOVL         v, DX; \
	VPBROADCASTD DX, y

// func rangeParamsAVX512(groups []groupParams, qmax int32, low, minStep, maxStep uint64, half bool)
//
// rangeParamsAVX2 for eight groups at a time, len(groups) ≥ 8: float64
// lanes in Z registers, float32 lanes in Y registers, the ok decisions in
// K1 (bit i for group i in both widths), and inv zeroed where K1 is clear. The operations are those of
// rangeParamsAVX2 one for one; what changes is that there are half as many
// of them per group, and the chains of one iteration are what keeps the
// processor busy, not the number of its execution units.
//
// Registers: float64 qmax Z31, qmax/2 Z30, 0.5 Z29, low Z28, minStep Z27,
// maxStep Z26; float32 qmax+1 Y25, 0.5 Y24, 1 Y23; |·| mask Y22, 113<<23
// Y21, 142<<23|0x7fffff Y20, 0xfff Y19, 1 Y18, 0x1fff Y17, bits(65504)
// Y16, +Inf bits Y15, zeros Y14.
TEXT ·rangeParamsAVX512(SB), NOSPLIT, $0-57
	MOVQ groups_base+0(FP), BX
	MOVQ groups_len+8(FP), CX
	LEAQ (CX)(CX*4), CX
	LEAQ -160(BX)(CX*4), R8 // &groups[len−8]

	MOVL                        qmax+24(FP), AX
	VCVTSI2SDL                  AX, X0, X0
	VBROADCASTSD                X0, Z31
	MOVQ                        $0x3fe0000000000000, DX // 0.5
	VPBROADCASTQ                DX, Z29
	VMULPD                      Z29, Z31, Z30
	VPBROADCASTQ                low+32(FP), Z28
	VPBROADCASTQ                minStep+40(FP), Z27
	VPBROADCASTQ                maxStep+48(FP), Z26
	VCVTSI2SSL                  AX, X0, X0
	MOVL                        $0x3f800000, DX // 1.0f
	VPBROADCASTD                DX, Y23
	VADDSS                      X23, X0, X0
	VBROADCASTSS                X0, Y25
	BCASTD($0x3f000000,         Y24)
	BCASTD($0x7fffffff,         Y22)
	BCASTD($(113<<23),          Y21)
	BCASTD($(142<<23|0x7fffff), Y20)
	BCASTD($0xfff,              Y19)
	BCASTD($1,                  Y18)
	BCASTD($0x1fff,             Y17)
	BCASTD($0x477fe000,         Y16)
	BCASTD($0x7f800000,         Y15)
	VPXORD                      Y14, Y14, Y14

loop512:
	// mn and mx of eight groups: pairs, halves, then split.
	VMOVQ       0(BX), X0
	VMOVHPS     20(BX), X0, X0
	VMOVQ       40(BX), X1
	VMOVHPS     60(BX), X1, X1
	VMOVQ       80(BX), X2
	VMOVHPS     100(BX), X2, X2
	VMOVQ       120(BX), X3
	VMOVHPS     140(BX), X3, X3
	VINSERTF128 $1, X2, Y0, Y0
	VINSERTF128 $1, X3, Y1, Y1
	VSHUFPS     $0x88, Y1, Y0, Y2 // mn
	VSHUFPS     $0xdd, Y1, Y0, Y3 // mx

	VCVTPS2PD Y2, Z4
	VCVTPS2PD Y3, Z5
	VSUBPD    Z4, Z5, Z6
	VDIVPD    Z31, Z6, Z6 // step
	VADDPD    Z4, Z5, Z7
	VMULPD    Z29, Z7, Z7 // mid
	VPADDQ    Z28, Z6, Z6
	VPANDNQ   Z6, Z28, Z6 // b: step rounded up, s
	VPCMPUQ   $5, Z27, Z6, K1     // ≥ minStep
	VPCMPUQ   $2, Z26, Z6, K1, K1 // ≤ maxStep
	VDIVPD    Z6, Z7, Z7
	VSUBPD    Z7, Z30, Z7
	VCVTPD2PS Z7, Y7 // zero
	VCVTPD2PS Z6, Y6 // scale

	CMPB    half+56(FP), $0
	JEQ     fits512
	VPANDD  Y22, Y7, Y9
	VPCMPUD $5, Y21, Y9, K1, K1 // exponent ≥ −14
	VPCMPUD $2, Y20, Y9, K1, K1 // exponent ≤ 15
	VPSRLD  $13, Y7, Y9
	VPANDD  Y18, Y9, Y9
	VPADDD  Y9, Y7, Y7
	VPADDD  Y19, Y7, Y7
	VPANDND Y7, Y17, Y7
	VPANDD  Y22, Y7, Y9
	VPCMPUD $2, Y16, Y9, K1, K1 // ≤ 65504

fits512:
	VDIVPS     Y6, Y23, Y9 // inv
	VMULPS     Y9, Y2, Y10
	VADDPS     Y7, Y10, Y10
	VADDPS     Y24, Y10, Y10 // codeAxis(mn)
	VMULPS     Y9, Y3, Y11
	VADDPS     Y7, Y11, Y11
	VADDPS     Y24, Y11, Y11 // codeAxis(mx)
	VCMPPS     $0x1d, Y14, Y10, K1, K1 // ≥ 0, ordered
	VCMPPS     $0x11, Y25, Y11, K1, K1 // < qmax+1, ordered
	CMPB       half+56(FP), $0
	JNE        store512
	VCVTTPS2DQ Y10, Y10
	VCVTDQ2PS  Y10, Y10
	VSUBPS     Y7, Y10, Y10
	VMULPS     Y6, Y10, Y10
	VPANDD     Y22, Y10, Y10
	VPCMPUD    $4, Y15, Y10, K1, K1 // decode(lo) finite
	VCVTTPS2DQ Y11, Y11
	VCVTDQ2PS  Y11, Y11
	VSUBPS     Y7, Y11, Y11
	VMULPS     Y6, Y11, Y11
	VPANDD     Y22, Y11, Y11
	VPCMPUD    $4, Y15, Y11, K1, K1 // decode(hi) finite

store512:
	VBLENDMPS    Y9, Y14, K1, Y9 // inv, 0 where not ok
	STORE4(X6,   X7, X9, 0)
	VEXTRACTF128 $1, Y6, X6
	VEXTRACTF128 $1, Y7, X7
	VEXTRACTF128 $1, Y9, X9
	STORE4(X6,   X7, X9, 80)

	CMPQ    BX, R8
	JEQ     done512
	ADDQ    $160, BX
	CMPQ    BX, R8
	CMOVQHI R8, BX
	JMP     loop512

done512:
	VZEROUPPER
	RET
