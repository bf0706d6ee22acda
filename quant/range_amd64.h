// RANGE8 folds the eight floats at src into a running minimum mn, maximum
// mx and largest magnitude bit pattern m (Y15 holds the magnitude mask),
// through the scratch register t, as the range passes of minMaxAVX2 and
// minMaxGroupsAVX2 do.
#define RANGE8(src, t, mn, mx, m) \
	VMOVUPS src, t;       \
	VMINPS  t, mn, mn;    \
	VMAXPS  t, mx, mx;    \
	VPAND   Y15, t, t;    \
	VPMAXSD t, m, m

// RANGE16 folds the sixteen floats at SI into two such sets, Y0, Y2, m0
// and Y1, Y3, m1, independent chains the processor overlaps; Y6 and Y7 are
// scratch.
#define RANGE16(m0, m1) \
	RANGE8(0(SI), Y6, Y0, Y2, m0); \
	RANGE8(32(SI), Y7, Y1, Y3, m1)

// RANGEGROUP folds the floats from SI to DI (at least eight; DX points at
// the last eight, which may overlap ones already folded, as a minimum or
// maximum allows) into the sets started in Y0, Y2, m0 and Y1, Y3, m1, then
// leaves the minimum of both sets in X0 and the maximum in X2; the
// magnitudes stay in m0 and m1 for the caller to fold. It defines the
// labels loop16, tail8 and last8, so it can be used once per function.
#define RANGEGROUP(m0, m1) \
loop16:                                    \
	LEAQ         64(SI), AX;               \
	CMPQ         AX, DI;                   \
	JA           tail8;                    \
	RANGE16(m0, m1);                       \
	MOVQ         AX, SI;                   \
	JMP          loop16;                   \
tail8:                                     \
	LEAQ         32(SI), AX;               \
	CMPQ         AX, DI;                   \
	JA           last8;                    \
	RANGE8((SI), Y6, Y0, Y2, m0);          \
last8:                                     \
	RANGE8((DX), Y7, Y1, Y3, m1);          \
	VMINPS       Y1, Y0, Y0;               \
	VMAXPS       Y3, Y2, Y2;               \
	VEXTRACTF128 $1, Y0, X1;               \
	VMINPS       X1, X0, X0;               \
	VEXTRACTF128 $1, Y2, X3;               \
	VMAXPS       X3, X2, X2;               \
	VPERMILPS    $0x4e, X0, X1;            \
	VMINPS       X1, X0, X0;               \
	VPERMILPS    $0xb1, X0, X1;            \
	VMINPS       X1, X0, X0;               \
	VPERMILPS    $0x4e, X2, X3;            \
	VMAXPS       X3, X2, X2;               \
	VPERMILPS    $0xb1, X2, X3;            \
	VMAXPS       X3, X2, X2
