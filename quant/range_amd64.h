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
