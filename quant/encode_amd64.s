//go:build amd64 && !purego

#include "textflag.h"

// REDUCE adds the eight lanes lo (0–3) and hi (4–7) of one sum in a fixed
// order, ((l0+l4) + (l2+l6)) + ((l1+l5) + (l3+l7)), and stores the result.
#define REDUCE(lo, hi, lox, tmpx, dst) \
	VADDPD       hi, lo, lo;     \
	VEXTRACTF128 $1, lo, tmpx;   \
	VADDPD       tmpx, lox, lox; \
	VPERMILPD    $1, lox, tmpx;  \
	VADDSD       tmpx, lox, lox; \
	VMOVSD       lox, dst

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

loop16:
	LEAQ    64(SI), AX
	CMPQ    AX, DI
	JA      tail8
	VMOVUPS (SI), Y6
	VMOVUPS 32(SI), Y7
	VMINPS  Y6, Y0, Y0
	VMAXPS  Y6, Y2, Y2
	VPAND   Y15, Y6, Y6
	VPMAXSD Y6, Y4, Y4
	VMINPS  Y7, Y1, Y1
	VMAXPS  Y7, Y3, Y3
	VPAND   Y15, Y7, Y7
	VPMAXSD Y7, Y5, Y5
	MOVQ    AX, SI
	JMP     loop16

tail8:
	LEAQ    32(SI), AX
	CMPQ    AX, DI
	JA      last8
	VMOVUPS (SI), Y6
	VMINPS  Y6, Y0, Y0
	VMAXPS  Y6, Y2, Y2
	VPAND   Y15, Y6, Y6
	VPMAXSD Y6, Y4, Y4

last8:
	VMOVUPS (DX), Y7
	VMINPS  Y7, Y1, Y1
	VMAXPS  Y7, Y3, Y3
	VPAND   Y15, Y7, Y7
	VPMAXSD Y7, Y5, Y5

	// Fold the two sets, then the eight lanes.
	VMINPS       Y1, Y0, Y0
	VMAXPS       Y3, Y2, Y2
	VPMAXSD      Y5, Y4, Y4
	VEXTRACTF128 $1, Y0, X1
	VMINPS       X1, X0, X0
	VEXTRACTF128 $1, Y2, X3
	VMAXPS       X3, X2, X2
	VEXTRACTI128 $1, Y4, X5
	VPMAXSD      X5, X4, X4
	VPERMILPS    $0x4e, X0, X1
	VMINPS       X1, X0, X0
	VPERMILPS    $0xb1, X0, X1
	VMINPS       X1, X0, X0
	VPERMILPS    $0x4e, X2, X3
	VMAXPS       X3, X2, X2
	VPERMILPS    $0xb1, X2, X3
	VMAXPS       X3, X2, X2
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
	VMULPS     (SI), Y15, Y0
	VADDPS     Y8, Y0, Y0
	VADDPS     128(SP), Y0, Y0
	VCVTTPS2DQ Y0, Y0
	VPMAXSD    192(SP), Y0, Y0
	VPMINSD    96(SP), Y0, Y0
	VCVTDQ2PS  Y0, Y2
	VPACKUSDW  Y0, Y0, Y0
	VSUBPS     Y8, Y2, Y2
	VPERMQ     $0x08, Y0, Y0
	VMULPS     64(SP), Y2, Y2
	VPACKUSWB  X0, X0, X0
	VMOVQ      X0, (DI)
	SUBQ       $8, CX
	JZ         last

loop:
	// x̂ of this block to float64.
	VCVTPS2PD    X2, Y5
	VEXTRACTF128 $1, Y2, X2
	VCVTPS2PD    X2, Y6

	// Codes and x̂ of the next block. Eight codes become eight bytes:
	// dwords to words (w0–w3 twice in the low lane, w4–w7 twice in the
	// high one), w0–w7 gathered in the low lane, words to bytes.
	VMULPS     32(SI), Y15, Y0
	VADDPS     Y8, Y0, Y0
	VADDPS     128(SP), Y0, Y0
	VCVTTPS2DQ Y0, Y0
	VPMAXSD    192(SP), Y0, Y0
	VPMINSD    96(SP), Y0, Y0
	VCVTDQ2PS  Y0, Y2
	VPACKUSDW  Y0, Y0, Y0
	VSUBPS     Y8, Y2, Y2
	VPERMQ     $0x08, Y0, Y0
	VMULPS     64(SP), Y2, Y2
	VPACKUSWB  X0, X0, X0
	VMOVQ      X0, 8(DI)

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
