package arrowio

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// arrow-go's IPC readers trust the lengths written in an IPC file's
// flatbuffers: a corrupted count of schema fields, field children or
// metadata entries makes them allocate gigabytes at once, which kills the
// process (a fatal out-of-memory error, which recover cannot catch). The
// checks below walk the flatbuffers an IPC file or stream holds — the
// footer, the schema and every message — and refuse any length that points
// past the buffer before arrow-go reads them. Field numbers are those of
// Arrow's format/Schema.fbs, Message.fbs and File.fbs.

// maxFieldDepth bounds the nesting of schema fields, as deeper recursion in
// arrow-go could exhaust the stack.
const maxFieldDepth = 64

// fbuf is a flatbuffer with bounds-checked reads. budget bounds the tables
// visited, so that tables shared many times cannot make a walk (or
// arrow-go's) take exponential time.
type fbuf struct {
	b      []byte
	budget int
}

var errFlatbuffer = errors.New("flatbuffer offset or length out of bounds")

func (f *fbuf) u32(p int) (uint32, bool) {
	if p < 0 || p > len(f.b)-4 {
		return 0, false
	}
	return binary.LittleEndian.Uint32(f.b[p:]), true
}

func (f *fbuf) u16(p int) (int, bool) {
	if p < 0 || p > len(f.b)-2 {
		return 0, false
	}
	return int(binary.LittleEndian.Uint16(f.b[p:])), true
}

// fbTable is a table of a verified header.
type fbTable struct {
	f       *fbuf
	pos, vt int
	vtSize  int
}

// root returns the root table of f.
func (f *fbuf) root() (fbTable, bool) {
	off, ok := f.u32(0)
	if !ok {
		return fbTable{}, false
	}
	return f.table(int64(off))
}

// table checks the table header at pos: its vtable and its inline size.
func (f *fbuf) table(pos int64) (fbTable, bool) {
	f.budget--
	if f.budget < 0 || pos < 0 || pos > int64(len(f.b))-4 {
		return fbTable{}, false
	}
	soff := int64(int32(binary.LittleEndian.Uint32(f.b[pos:])))
	vt := pos - soff
	if vt < 0 || vt > int64(len(f.b))-4 {
		return fbTable{}, false
	}
	vtSize, _ := f.u16(int(vt))
	size, _ := f.u16(int(vt) + 2)
	if vtSize < 4 || vtSize%2 != 0 || vt+int64(vtSize) > int64(len(f.b)) || pos+int64(size) > int64(len(f.b)) {
		return fbTable{}, false
	}
	return fbTable{f: f, pos: int(pos), vt: int(vt), vtSize: vtSize}, true
}

// field returns the position of field slot, or 0 if it is absent.
func (t fbTable) field(slot int) int {
	e := 4 + 2*slot
	if e+2 > t.vtSize {
		return 0
	}
	off, _ := t.f.u16(t.vt + e)
	if off == 0 {
		return 0
	}
	return t.pos + off
}

// ref follows the offset stored in field slot; ok is false if it points
// out of the buffer, present false if the field is absent.
func (t fbTable) ref(slot int) (target int64, present, ok bool) {
	p := t.field(slot)
	if p == 0 {
		return 0, false, true
	}
	off, ok := t.f.u32(p)
	if !ok {
		return 0, true, false
	}
	target = int64(p) + int64(off)
	return target, true, target <= int64(len(t.f.b))
}

// vector checks the vector of elemSize-byte elements in field slot and
// returns its first element's position and its length.
func (t fbTable) vector(slot, elemSize int) (start, n int, ok bool) {
	target, present, ok := t.ref(slot)
	if !present || !ok {
		return 0, 0, ok
	}
	l, ok := t.f.u32(int(target))
	if !ok || target+4+int64(l)*int64(elemSize) > int64(len(t.f.b)) {
		return 0, 0, false
	}
	return int(target) + 4, int(l), true
}

// sub checks the table in field slot.
func (t fbTable) sub(slot int) (fbTable, bool, bool) {
	target, present, ok := t.ref(slot)
	if !present || !ok {
		return fbTable{}, present, ok
	}
	s, ok := t.f.table(target)
	return s, true, ok
}

// tables checks the vector of tables in field slot and calls each on
// every table, stopping at the first false.
func (t fbTable) tables(slot int, each func(fbTable) bool) bool {
	start, n, ok := t.vector(slot, 4)
	if !ok {
		return false
	}
	for i := range n {
		p := start + 4*i
		off, _ := t.f.u32(p)
		s, ok := t.f.table(int64(p) + int64(off))
		if !ok || !each(s) {
			return false
		}
	}
	return true
}

func (t fbTable) u8(slot int) int {
	p := t.field(slot)
	if p == 0 || p >= len(t.f.b) {
		return 0
	}
	return int(t.f.b[p])
}

func (t fbTable) i64(slot int) int64 {
	p := t.field(slot)
	if p == 0 || p > len(t.f.b)-8 {
		return 0
	}
	return int64(binary.LittleEndian.Uint64(t.f.b[p:]))
}

// keyValues checks a vector of KeyValue tables (key 0, value 1: strings).
func keyValues(t fbTable, slot int) bool {
	return t.tables(slot, func(kv fbTable) bool {
		_, _, ok1 := kv.vector(0, 1)
		_, _, ok2 := kv.vector(1, 1)
		return ok1 && ok2
	})
}

// schemaOK checks a Schema table: fields 1, custom_metadata 2, features 3.
func schemaOK(s fbTable) bool {
	_, _, ok := s.vector(3, 8)
	return ok && keyValues(s, 2) && s.tables(1, func(f fbTable) bool { return fieldOK(f, 0) })
}

// unionType is the Type union's tag of Union, whose table has a vector.
const unionType = 14

// fieldOK checks a Field table: name 0, type_type 2, type 3, dictionary 4,
// children 5, custom_metadata 6.
func fieldOK(f fbTable, depth int) bool {
	if depth > maxFieldDepth {
		return false
	}
	if _, _, ok := f.vector(0, 1); !ok {
		return false
	}
	typ, present, ok := f.sub(3)
	if !ok {
		return false
	}
	if present && f.u8(2) == unionType {
		if _, _, ok := typ.vector(1, 4); !ok { // Union.typeIds
			return false
		}
	}
	if dict, present, ok := f.sub(4); !ok {
		return false
	} else if present {
		if _, _, ok := dict.sub(1); !ok { // DictionaryEncoding.indexType
			return false
		}
	}
	return keyValues(f, 6) && f.tables(5, func(c fbTable) bool { return fieldOK(c, depth+1) })
}

// Message header types.
const (
	headerSchema          = 1
	headerDictionaryBatch = 2
	headerRecordBatch     = 3
)

// recordBatchOK checks a RecordBatch table: nodes 1 and buffers 2 (16-byte
// structs), compression 3, variadicBufferCounts 4.
func recordBatchOK(rb fbTable) bool {
	_, _, ok1 := rb.vector(1, 16)
	_, _, ok2 := rb.vector(2, 16)
	_, _, ok3 := rb.sub(3)
	_, _, ok4 := rb.vector(4, 8)
	return ok1 && ok2 && ok3 && ok4
}

// messageOK checks the Message flatbuffer b (header_type 1, header 2,
// bodyLength 3, custom_metadata 4) and returns its body length.
func messageOK(b []byte) (bodyLen int64, ok bool) {
	f := &fbuf{b: b, budget: len(b)/4 + 16}
	m, ok := f.root()
	if !ok || !keyValues(m, 4) {
		return 0, false
	}
	h, present, ok := m.sub(2)
	if !ok {
		return 0, false
	}
	if present {
		switch m.u8(1) {
		case headerSchema:
			ok = schemaOK(h)
		case headerRecordBatch:
			ok = recordBatchOK(h)
		case headerDictionaryBatch:
			var rb fbTable
			if rb, present, ok = h.sub(1); ok && present {
				ok = recordBatchOK(rb)
			}
		}
	}
	return m.i64(3), ok
}

// blockMessageOK checks the message a file block (offset int64, metadata
// length int32, body length int64) points to.
func blockMessageOK(data []byte, block []byte) bool {
	off := int64(binary.LittleEndian.Uint64(block))
	metaLen := int64(int32(binary.LittleEndian.Uint32(block[8:])))
	if off < 0 || metaLen < 8 || off > int64(len(data))-metaLen {
		return false
	}
	msg := data[off : off+metaLen]
	skip := 4 // the legacy form: length, then the flatbuffer
	if binary.LittleEndian.Uint32(msg) == 0xFFFFFFFF {
		skip = 8 // continuation marker, length, flatbuffer
	}
	_, ok := messageOK(msg[skip:])
	return ok
}

// verifyIPCFile checks the footer of an Arrow IPC file (schema 1,
// dictionaries 2, recordBatches 3: vectors of 24-byte blocks) and every
// message its blocks point to.
func verifyIPCFile(data []byte) error {
	const tail = 10 // footer length (int32) and "ARROW1"
	if len(data) < len(arrowMagic)+2+tail {
		return errors.New("too short for an Arrow IPC file")
	}
	flen := int64(int32(binary.LittleEndian.Uint32(data[len(data)-tail:])))
	end := int64(len(data) - tail)
	if flen <= 0 || flen > end {
		return fmt.Errorf("footer length %d out of bounds", flen)
	}
	f := &fbuf{b: data[end-flen : end], budget: int(flen)/4 + 16}
	footer, ok := f.root()
	if !ok {
		return errFlatbuffer
	}
	if s, present, ok := footer.sub(1); !ok || (present && !schemaOK(s)) {
		return fmt.Errorf("schema: %w", errFlatbuffer)
	}
	for _, slot := range []int{2, 3} {
		start, n, ok := footer.vector(slot, 24)
		if !ok {
			return fmt.Errorf("footer blocks: %w", errFlatbuffer)
		}
		for i := range n {
			if !blockMessageOK(data, f.b[start+24*i:start+24*(i+1)]) {
				return fmt.Errorf("message of block %d: %w", i, errFlatbuffer)
			}
		}
	}
	return nil
}

// verifyIPCStream checks every message of an Arrow IPC stream, up to the
// end-of-stream marker or a message whose metadata does not fit (which
// arrow-go then reports).
func verifyIPCStream(data []byte) error {
	pos := int64(0)
	for i := 0; pos+4 <= int64(len(data)); i++ {
		n := int64(binary.LittleEndian.Uint32(data[pos:]))
		pos += 4
		if n == 0xFFFFFFFF {
			if pos+4 > int64(len(data)) {
				return nil
			}
			n = int64(int32(binary.LittleEndian.Uint32(data[pos:])))
			pos += 4
		}
		if n <= 0 || n > int64(len(data))-pos {
			return nil // the end marker, or a short read arrow-go reports
		}
		body, ok := messageOK(data[pos : pos+n])
		if !ok {
			return fmt.Errorf("message %d: %w", i, errFlatbuffer)
		}
		pos += n
		if body < 0 || body > int64(len(data))-pos {
			return fmt.Errorf("message %d: a body of %d bytes runs past the end of the data", i, body)
		}
		pos += body
	}
	return nil
}
