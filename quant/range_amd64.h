// RANGE16 folds the sixteen floats at 0(SI) and 32(SI) into two sets of
// running minimum (Y0, Y1), maximum (Y2, Y3) and largest magnitude bit
// pattern (m0, m1; Y15 holds the magnitude mask), as the range passes of
// minMaxAVX2 and minMaxGroupsAVX2 do; Y6 and Y7 are scratch.
#define RANGE16(m0, m1) \
	VMOVUPS (SI), Y6;   \
	VMOVUPS 32(SI), Y7; \
	VMINPS  Y6, Y0, Y0; \
	VMAXPS  Y6, Y2, Y2; \
	VPAND   Y15, Y6, Y6; \
	VPMAXSD Y6, m0, m0; \
	VMINPS  Y7, Y1, Y1; \
	VMAXPS  Y7, Y3, Y3; \
	VPAND   Y15, Y7, Y7; \
	VPMAXSD Y7, m1, m1
