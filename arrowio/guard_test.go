package arrowio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/arrowquant/arrowquant/batch"
)

// These tests corrupt the lengths that arrow-go's readers would trust for
// an allocation, and check the checks in front of them turn each into a
// FormatError rather than an out-of-memory crash.

func resultFileBytes(t *testing.T, create func(string, *CreateOptions) (Writer, error), ext string) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "r"+ext)
	writeResults(t, create, path, nil, mixedResults(t)[:2])
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantFormatError(t *testing.T, data []byte, says string) {
	t.Helper()
	tbl, _, err := openBytes(data)
	if tbl != nil {
		tbl.Release()
	}
	var fe *FormatError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), says) {
		t.Fatalf("got %v, want a FormatError saying %q", err, says)
	}
}

func TestAnIPCFileClaimingBillionsOfSchemaFieldsIsAFormatError(t *testing.T) {
	data := resultFileBytes(t, CreateIPC, ".arrow")
	end := len(data) - 10
	flen := int(binary.LittleEndian.Uint32(data[end:]))
	f := &fbuf{b: data[end-flen : end], budget: 1 << 20}
	footer, _ := f.root()
	schema, _, _ := footer.sub(1)
	start, n, ok := schema.vector(1, 4)
	if !ok || n != 9 {
		t.Fatalf("the footer schema has %d fields, want 9", n)
	}
	binary.LittleEndian.PutUint32(f.b[start-4:], 0x7fffffff)
	wantFormatError(t, data, "out of bounds")
}

func TestAnIPCStreamMessageClaimingAHugeBodyIsAFormatError(t *testing.T) {
	tbl := inputTable(t, inputSpec{}, randomRows(1, false, []int64{8}))
	data := writeIPC(t, tbl, true)
	// The schema message: continuation, length, flatbuffer; then the record
	// batch message, whose bodyLength we inflate.
	n := int(binary.LittleEndian.Uint32(data[4:]))
	second := 8 + n
	m := int(binary.LittleEndian.Uint32(data[second+4:]))
	f := &fbuf{b: data[second+8 : second+8+m], budget: 1 << 20}
	msg, _ := f.root()
	p := msg.field(3)
	if p == 0 {
		t.Fatal("no body length in the record batch message")
	}
	binary.LittleEndian.PutUint64(f.b[p:], 1<<44)
	wantFormatError(t, data, "past the end of the data")
}

func TestAParquetSchemaClaimingBillionsOfChildrenIsAFormatError(t *testing.T) {
	data := resultFileBytes(t, CreateParquet, ".parquet")
	n := len(data)
	flen := int(binary.LittleEndian.Uint32(data[n-8:]))
	footer := data[n-8-flen : n-8]
	// The root element: name "schema" (field 4), then num_children (field
	// 5, an i32 of 9: the compact header 0x15 and the zigzag varint 18).
	i := bytes.Index(footer, []byte("schema\x15\x12"))
	if i < 0 {
		t.Fatal("cannot find the root schema element")
	}
	i += len("schema\x15")
	huge := []byte{0xFE, 0xFF, 0xFF, 0xFF, 0x0F} // zigzag(2^31-1)
	corrupt := append(append(append([]byte{}, footer[:i]...), huge...), footer[i+1:]...)
	out := append(append([]byte{}, data[:n-8-flen]...), corrupt...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(corrupt)))
	out = append(out, parquetMagic...)
	wantFormatError(t, out, "claims 2147483647 children")
}

func TestAParquetColumnChunkOutsideTheFileIsAFormatError(t *testing.T) {
	// Cut the data after the first four columns and re-append the footer:
	// the codes' column chunk (far larger than the footer) now claims bytes
	// past the end of the file.
	path := filepath.Join(t.TempDir(), "big.parquet")
	writeResults(t, CreateParquet, path, nil, engineResults(t, engineLayers(randomRows(3, false, []int64{1000, 1000})), batch.Options{}))
	data, _ := os.ReadFile(path)
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	cc, _ := pf.MetaData().RowGroup(0).ColumnChunk(iGroupSize)
	cut := cc.DataPageOffset() + cc.TotalCompressedSize()
	pf.Close()
	n := len(data)
	flen := int(binary.LittleEndian.Uint32(data[n-8:]))
	out := append(append([]byte{}, data[:cut]...), data[n-8-flen:]...)
	wantFormatError(t, out, "lies outside the")
}
