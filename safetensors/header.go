package safetensors

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// The header a writer produces is compact JSON with "__metadata__" first
// (its keys sorted) and then the tensors sorted by name, padded with spaces
// so that the data section starts at a multiple of 8. It is a function of
// its input alone, so equal input gives byte-identical files.

// plannedRank is the rank the writer reserves header room for when it does
// not know a tensor's shape yet. A higher rank still fits if other tensors
// left room unused; see Create.
const plannedRank = 8

// A slot is one planned tensor of a header under construction.
type slot struct {
	name     string
	maxBytes int64
	worst    int64 // header bytes reserved for its entry
	known    bool  // e holds the final dtype and shape already
	optional bool  // may be left out of the file
	written  bool
	e        entry
}

// reserve computes, for slots sorted by name, the header length to reserve
// (a multiple of 8) and the length the header would have if every tensor
// took its worst case, and it sets each slot's worst. Every tensor's offsets
// are at most the sum of all maxBytes, so printing each offset as that sum
// bounds its digits whatever order the tensors come in.
func reserve(meta map[string]string, slots []slot) (headerLen, used int64, err error) {
	var total int64
	for _, s := range slots {
		if total > math.MaxInt64-s.maxBytes {
			return 0, 0, fmt.Errorf("safetensors: planned tensors add up to more than 2^63 bytes")
		}
		total += s.maxBytes
	}
	worst := make([]entry, len(slots))
	var extra int64 // room for shapes beyond the "[]" in worst
	var scratch []byte
	for i := range slots {
		s := &slots[i]
		w := entry{Name: s.name, DType: s.e.DType, Shape: s.e.Shape, Begin: total, End: total}
		var shapeRoom int64
		if !s.known {
			w.DType, w.Shape = longestDType, nil
			shapeRoom = shapeAllowance(s.maxBytes) - 2
		}
		worst[i] = w
		scratch = appendEntry(scratch[:0], w)
		s.worst = int64(len(scratch)) + shapeRoom
		extra += shapeRoom
	}
	used = int64(len(appendHeader(nil, meta, worst))) + extra
	headerLen = (used + 7) &^ 7
	if headerLen > MaxHeaderSize {
		return 0, 0, fmt.Errorf("safetensors: header would take %d bytes, over the %d-byte limit", headerLen, MaxHeaderSize)
	}
	return headerLen, used, nil
}

// shapeAllowance returns the length of the longest shape, printed as
// "[d1,...,dr]", that a tensor of at most maxBytes bytes and rank at most
// plannedRank can have if it has any elements: the product of its
// dimensions is at most maxBytes, so their digits add up to at most
// r + floor(log10(maxBytes)), and the brackets and commas to r + 1.
func shapeAllowance(maxBytes int64) int64 {
	return 1 + 2*plannedRank + int64(len(strconv.FormatInt(max(maxBytes, 1), 10))) - 1
}

// appendHeader appends the JSON header for entries sorted by name.
func appendHeader(b []byte, meta map[string]string, entries []entry) []byte {
	b = append(b, '{')
	if meta != nil {
		b = appendString(b, metadataKey)
		b = append(b, ":{"...)
		for i, k := range slices.Sorted(maps.Keys(meta)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, meta[k])
		}
		b = append(b, '}')
	}
	for i, e := range entries {
		if i > 0 || meta != nil {
			b = append(b, ',')
		}
		b = appendEntry(b, e)
	}
	return append(b, '}')
}

// appendEntry appends one tensor's "name":{...} member.
func appendEntry(b []byte, e entry) []byte {
	b = appendString(b, e.Name)
	b = append(b, `:{"dtype":`...)
	b = appendString(b, string(e.DType))
	b = append(b, `,"shape":[`...)
	for i, d := range e.Shape {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, d, 10)
	}
	b = append(b, `],"data_offsets":[`...)
	b = strconv.AppendInt(b, e.Begin, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, e.End, 10)
	return append(b, "]}"...)
}

// appendString appends s, which must be valid UTF-8, as a JSON string. It
// escapes what JSON requires and, like encoding/json, U+2028 and U+2029,
// but leaves <, > and & alone.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == '\u2028' || r == '\u2029' {
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}

// checkNames reports whether a header with this metadata and these tensor
// names can be written: all valid UTF-8, no name twice, none "__metadata__".
func checkNames(path string, meta map[string]string, names []string) error {
	for k, v := range meta {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return errorf(path, "", "metadata %q: not valid UTF-8", k)
		}
	}
	seen := make(map[string]bool, len(names))
	for _, name := range names {
		switch {
		case !utf8.ValidString(name):
			return errorf(path, name, "name is not valid UTF-8")
		case name == metadataKey:
			return errorf(path, name, "name is reserved for the metadata")
		case seen[name]:
			return errorf(path, name, "appears twice")
		}
		seen[name] = true
	}
	return nil
}
