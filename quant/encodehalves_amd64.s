//go:build amd64 && !purego

#include "textflag.h"

// func encodeHalvesF16C(dst []uint16, src []float32) int
//
// VCMPPS with predicate 3 (unordered) flags NaN lanes; a block with any is
// left to the caller's scalar loop. Rounding immediate 0 is to nearest even.
TEXT ·encodeHalvesF16C(SB), NOSPLIT, $0-56
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	SHRQ $3, CX
	XORQ AX, AX // values converted

loop:
	TESTQ     CX, CX
	JZ        done
	VMOVUPS   (SI), Y0
	VCMPPS    $3, Y0, Y0, Y1
	VPTEST    Y1, Y1
	JNZ       done
	VCVTPS2PH $0, Y0, (DI)
	ADDQ      $32, SI
	ADDQ      $16, DI
	ADDQ      $8, AX
	DECQ      CX
	JMP       loop

done:
	MOVQ AX, ret+48(FP)
	VZEROUPPER
	RET
