package safetensors

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// MaxHeaderSize is the largest header Parse accepts, as in the reference
// implementation: a larger length prefix is taken as corruption rather than
// a reason to read 100 MiB of JSON.
const MaxHeaderSize = 100 << 20

// metadataKey is the header key that holds the free-form string metadata
// instead of a tensor.
const metadataKey = "__metadata__"

// An entry is one tensor as the header describes it; Begin and End are
// relative to the start of the data section.
type entry struct {
	Name       string
	DType      DType
	Shape      []int64
	Begin, End int64
}

// Parse parses a whole safetensors file held in b. The path is used only in
// error messages and in File.Path and each Tensor.File.
//
// Parse is strict where the format is: the header must be a UTF-8 JSON
// object of at most MaxHeaderSize bytes (trailing spaces allowed); each
// tensor entry must hold exactly a known "dtype", a "shape" of non-negative
// integers and two "data_offsets", whose difference is the byte size the
// dtype and shape call for; no name may appear twice; "__metadata__", if
// present, must map strings to strings; and the tensors must cover the data
// section exactly, without holes or overlaps, though in any order. It
// reports a violation as a *FormatError, or an unknown dtype as an
// *UnsupportedError, and never panics.
// The tensors' Data
// slices point into b (with their capacity cut to their length), so b must
// not change while they are in use. A File from Parse needs no Close.
func Parse(path string, b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, &FormatError{File: path, Msg: fmt.Sprintf("file is %d bytes, shorter than the 8-byte header length", len(b))}
	}
	n := binary.LittleEndian.Uint64(b)
	rest := uint64(len(b) - 8)
	switch {
	case n == 0:
		return nil, &FormatError{File: path, Msg: "header length is 0"}
	case n > MaxHeaderSize:
		return nil, &FormatError{File: path, Msg: fmt.Sprintf("header length %d is over the %d-byte limit", n, MaxHeaderSize)}
	case n > rest:
		return nil, &FormatError{File: path, Msg: fmt.Sprintf("header length %d runs past the end of the %d-byte file", n, len(b))}
	}
	data := b[8+n:]
	entries, meta, err := parseHeader(path, b[8:8+n], int64(len(data)))
	if err != nil {
		return nil, err
	}
	f := &File{Path: path, Metadata: meta, Tensors: make([]Tensor, len(entries)), HeaderSize: int64(n)}
	for i, e := range entries {
		f.Tensors[i] = Tensor{
			Name:  e.Name,
			DType: e.DType,
			Shape: e.Shape,
			Data:  data[e.Begin:e.End:e.End],
			File:  path,
		}
	}
	return f, nil
}

// parseHeader parses and validates the JSON header of a file whose data
// section is dataLen bytes long, without needing those bytes. It returns the
// tensors sorted by name, and the metadata (nil if absent).
func parseHeader(path string, header []byte, dataLen int64) ([]entry, map[string]string, error) {
	bad := func(format string, args ...any) error {
		return &FormatError{File: path, Msg: fmt.Sprintf(format, args...)}
	}
	// The reference implementation insists on '{' first; a header that is
	// all spaces or starts with something else is not one it wrote.
	if len(header) == 0 || header[0] != '{' {
		return nil, nil, bad("header does not start with '{'")
	}
	// encoding/json replaces invalid UTF-8 with U+FFFD instead of failing.
	if !utf8.Valid(header) {
		return nil, nil, bad("header is not valid UTF-8")
	}
	if !json.Valid(header) {
		var v json.RawMessage
		err := json.Unmarshal(header, &v)
		return nil, nil, bad("header is not valid JSON: %v", err)
	}
	// The JSON is valid, so the scanner below meets no syntax errors: it
	// only checks the structure. It walks the bytes rather than decoding
	// into a map because a map would silently keep the last of two
	// duplicate keys, and because encoding/json's Token is ten times slower.
	p := headerParser{path: path, scanner: scanner{b: header}}
	var (
		entries []entry
		meta    map[string]string
		hasMeta bool
	)
	p.consume('{')
	for more := !p.consume('}'); more; more = p.more('}') {
		name := p.str()
		p.consume(':')
		if name == metadataKey {
			if hasMeta {
				return nil, nil, bad("%s appears twice", metadataKey)
			}
			hasMeta = true
			var err error
			if meta, err = p.metadata(); err != nil {
				return nil, nil, err
			}
			continue
		}
		e, err := p.entry(name, dataLen)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, e)
	}

	slices.SortFunc(entries, func(a, b entry) int { return cmp.Compare(a.Name, b.Name) })
	for i := 1; i < len(entries); i++ {
		if entries[i].Name == entries[i-1].Name {
			return nil, nil, &FormatError{File: path, Tensor: entries[i].Name, Msg: "appears twice in the header"}
		}
	}
	if err := checkLayout(path, entries, dataLen); err != nil {
		return nil, nil, err
	}
	return entries, meta, nil
}

// checkLayout reports whether the tensors cover [0, dataLen) exactly, with
// no hole and no overlap, in any order.
func checkLayout(path string, entries []entry, dataLen int64) error {
	order := make([]int, len(entries))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int {
		a, b := &entries[i], &entries[j]
		return cmp.Or(cmp.Compare(a.Begin, b.Begin), cmp.Compare(a.End, b.End))
	})
	var at int64 // end of the covered prefix
	prev := -1
	for _, i := range order {
		e := &entries[i]
		switch {
		case e.Begin < at:
			p := &entries[prev]
			return &FormatError{File: path, Tensor: e.Name, Msg: fmt.Sprintf("data_offsets [%d, %d] overlap tensor %q at [%d, %d]", e.Begin, e.End, p.Name, p.Begin, p.End)}
		case e.Begin > at:
			return &FormatError{File: path, Tensor: e.Name, Msg: fmt.Sprintf("data_offsets [%d, %d] leave bytes [%d, %d) of the data section uncovered", e.Begin, e.End, at, e.Begin)}
		}
		at = e.End
		prev = i
	}
	if at != dataLen {
		last := ""
		if prev >= 0 {
			last = entries[prev].Name
		}
		return &FormatError{File: path, Tensor: last, Msg: fmt.Sprintf("data section has %d bytes after the last tensor, which ends at %d", dataLen-at, at)}
	}
	return nil
}

// A headerParser checks the structure of a header already known to be
// valid JSON.
type headerParser struct {
	path string
	scanner
}

// metadata parses the value of __metadata__: an object of strings, or null.
func (p *headerParser) metadata() (map[string]string, error) {
	bad := func(format string, args ...any) error {
		return &FormatError{File: p.path, Msg: metadataKey + ": " + fmt.Sprintf(format, args...)}
	}
	switch p.peek() {
	case 'n':
		p.skipLiteral()
		return nil, nil // null, as serde's Option accepts
	case '{':
	default:
		return nil, bad("is not an object of strings")
	}
	p.consume('{')
	meta := map[string]string{}
	for more := !p.consume('}'); more; more = p.more('}') {
		k := p.str()
		p.consume(':')
		if p.peek() != '"' {
			return nil, bad("value of %q is not a string", k)
		}
		v := p.str()
		if _, dup := meta[k]; dup {
			return nil, bad("key %q appears twice", k)
		}
		meta[k] = v
	}
	return meta, nil
}

// entry parses and checks one tensor's description.
func (p *headerParser) entry(name string, dataLen int64) (entry, error) {
	e := entry{Name: name}
	bad := func(format string, args ...any) error {
		return &FormatError{File: p.path, Tensor: name, Msg: fmt.Sprintf(format, args...)}
	}
	if !p.consume('{') {
		return e, bad("entry is not a JSON object")
	}
	var hasDType, hasShape, hasOffsets bool
	var offsets []int64
	for more := !p.consume('}'); more; more = p.more('}') {
		key := p.str()
		p.consume(':')
		var err error
		switch key {
		case "dtype":
			if hasDType {
				return e, bad("dtype appears twice")
			}
			hasDType = true
			if p.peek() != '"' {
				return e, bad("dtype is not a string")
			}
			e.DType = DType(p.str())
		case "shape":
			if hasShape {
				return e, bad("shape appears twice")
			}
			hasShape = true
			if e.Shape, err = p.ints("shape"); err != nil {
				return e, bad("%v", err)
			}
		case "data_offsets":
			if hasOffsets {
				return e, bad("data_offsets appears twice")
			}
			hasOffsets = true
			if offsets, err = p.ints("data_offsets"); err != nil {
				return e, bad("%v", err)
			}
		default:
			return e, bad("unknown field %q", key)
		}
	}
	switch {
	case !hasDType:
		return e, bad("dtype is missing")
	case !hasShape:
		return e, bad("shape is missing")
	case !hasOffsets:
		return e, bad("data_offsets is missing")
	case len(offsets) != 2:
		return e, bad("data_offsets has %d numbers, not 2", len(offsets))
	}
	e.Begin, e.End = offsets[0], offsets[1]
	if e.Begin > e.End {
		return e, bad("data_offsets [%d, %d] begin after they end", e.Begin, e.End)
	}
	if e.End > dataLen {
		return e, bad("data_offsets [%d, %d] run past the end of the %d-byte data section", e.Begin, e.End, dataLen)
	}
	size := e.DType.Size()
	if size == 0 {
		return e, &UnsupportedError{File: p.path, Tensor: name, Msg: fmt.Sprintf("unsupported dtype %q", e.DType)}
	}
	nbytes, ok := byteSize(e.DType, e.Shape)
	if !ok {
		return e, bad("shape %v holds more than 2^63 bytes", e.Shape)
	}
	if nbytes != e.End-e.Begin {
		return e, bad("data_offsets [%d, %d] hold %d bytes, but %s%v needs %d", e.Begin, e.End, e.End-e.Begin, e.DType, e.Shape, nbytes)
	}
	return e, nil
}

// ints parses an array of non-negative integers that fit in an int64.
func (p *headerParser) ints(field string) ([]int64, error) {
	if !p.consume('[') {
		return nil, fmt.Errorf("%s is not an array", field)
	}
	s := []int64{}
	for more := !p.consume(']'); more; more = p.more(']') {
		if c := p.peek(); c != '-' && (c < '0' || c > '9') {
			return nil, fmt.Errorf("%s holds a value that is not a number", field)
		}
		num := p.number()
		// ParseInt refuses fractions and exponents; JSON has no '+' sign.
		v, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("%s holds %s, not an integer in [0, 2^63)", field, num)
		}
		s = append(s, v)
	}
	return s, nil
}

// numElements returns the product of shape, and false if a dimension is
// negative or the product overflows an int64. A zero anywhere makes the
// product zero, however large the rest.
func numElements(shape []int64) (int64, bool) {
	zero := false
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		zero = zero || d == 0
	}
	if zero {
		return 0, true
	}
	n := int64(1)
	for _, d := range shape {
		if n > math.MaxInt64/d {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// byteSize returns the number of bytes a tensor of dtype and shape takes,
// and false if that overflows an int64 or a dimension is negative.
func byteSize(dtype DType, shape []int64) (int64, bool) {
	n, ok := numElements(shape)
	size := int64(dtype.Size())
	if !ok || size == 0 || n > math.MaxInt64/size {
		return 0, false
	}
	return n * size, true
}
