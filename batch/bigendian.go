//go:build armbe || arm64be || m68k || mips || mips64 || mips64p32 || ppc || ppc64 || s390 || s390x || shbe || sparc || sparc64

package batch

// arrowquant views little-endian tensor bytes as float32 values in place;
// refuse to build where that would read garbage.
var _ = "arrowquant needs a little-endian machine" * 1
