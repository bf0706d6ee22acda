package arrowio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/arrowquant/arrowquant/batch"
)

// The tests use arrow-go's pqarrow, the reference Arrow ↔ Parquet mapping
// (the one pyarrow's files follow), to write input files and to check the
// package's own Parquet reader against; the package itself does not link it.

// writePqarrow writes tbl as Parquet with pqarrow, in row groups of
// rowGroup rows.
func writePqarrow(t testing.TB, tbl arrow.Table, rowGroup int64, dict bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithDictionaryDefault(dict))
	if err := pqarrow.WriteTable(tbl, &buf, rowGroup, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema())); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeIPC(t testing.TB, tbl arrow.Table, stream bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w interface {
		Write(arrow.RecordBatch) error
		Close() error
	}
	if stream {
		w = ipc.NewWriter(&buf, ipc.WithSchema(tbl.Schema()))
	} else {
		fw, err := ipc.NewFileWriter(&buf, ipc.WithSchema(tbl.Schema()))
		if err != nil {
			t.Fatal(err)
		}
		w = fw
	}
	tr := array.NewTableReader(tbl, -1)
	defer tr.Release()
	for tr.Next() {
		if err := w.Write(tr.RecordBatch()); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeFile writes b to a new file name in a temporary directory.
func writeFile(t testing.TB, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// rowsJSON renders every row of tbl as JSON, the form in which tables of
// different but equivalent types (list and large_list, ...) compare equal.
func rowsJSON(t testing.TB, tbl arrow.Table) string {
	t.Helper()
	tr := array.NewTableReader(tbl, -1)
	defer tr.Release()
	var rows []json.RawMessage
	for tr.Next() {
		b, err := tr.RecordBatch().MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var part []json.RawMessage
		if err := json.Unmarshal(b, &part); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, part...)
	}
	b, _ := json.Marshal(rows)
	return string(b)
}

func TestOpenTableReadsInputFilesForQuantize(t *testing.T) {
	rows := randomRows(30, true, testShapes...)
	rows[2].shape = nil
	for _, spec := range []inputSpec{{kind: plainList}, {kind: largeList, f16: true}, {kind: plainList, f16: true}} {
		tbl := inputTable(t, spec, rows[:3], rows[3:])
		want := engineResults(t, engineLayers(rows), batch.Options{})
		for _, file := range []struct{ name, ext string }{
			{"Parquet written by pqarrow", ".parquet"},
			{"an Arrow IPC file", ".arrow"},
			{"an Arrow IPC stream", ".arrows"},
		} {
			t.Run(file.name+" with "+tbl.Schema().Field(1).Type.String(), func(t *testing.T) {
				var b []byte
				switch file.ext {
				case ".parquet":
					b = writePqarrow(t, tbl, 2, false)
				case ".arrow":
					b = writeIPC(t, tbl, false)
				default:
					b = writeIPC(t, tbl, true)
				}
				in, closeIn, err := OpenTable(writeFile(t, "model"+file.ext, b))
				if err != nil {
					t.Fatal(err)
				}
				defer closeIn()
				out, err := Quantize(context.Background(), in, batch.Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer out.Release()
				sameTensors(t, tableResults(t, out), want)
			})
		}
	}
}

// TestTheParquetReaderAgreesWithPqarrow reads files pqarrow wrote, in the
// shapes pyarrow writes too, with both readers.
func TestTheParquetReaderAgreesWithPqarrow(t *testing.T) {
	mem := memory.DefaultAllocator
	build := func(fields []arrow.Field, fill func([]array.Builder)) arrow.Table {
		bs := make([]array.Builder, len(fields))
		cols := make([]arrow.Array, len(fields))
		for i, f := range fields {
			bs[i] = array.NewBuilder(mem, f.Type)
		}
		fill(bs)
		for i, b := range bs {
			cols[i] = b.NewArray()
			b.Release()
		}
		rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(cols[0].Len()))
		for _, c := range cols {
			c.Release()
		}
		tbl := array.NewTableFromRecords(rec.Schema(), []arrow.RecordBatch{rec})
		rec.Release()
		t.Cleanup(tbl.Release)
		return tbl
	}
	nullableList := arrow.ListOf(arrow.PrimitiveTypes.Float32)
	tables := map[string]arrow.Table{
		"nullable lists with null rows, empty lists and null elements": build(
			[]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}, {Name: "l", Type: nullableList, Nullable: true}},
			func(bs []array.Builder) {
				s, l := bs[0].(*array.StringBuilder), bs[1].(*array.ListBuilder)
				v := l.ValueBuilder().(*array.Float32Builder)
				for i := range 3000 {
					switch i % 5 {
					case 0:
						s.AppendNull()
						l.AppendNull()
					case 1:
						s.Append("")
						l.AppendEmptyValue()
					case 2:
						s.Append("x")
						l.Append(true)
						v.AppendValues([]float32{1, 2}, []bool{true, false})
					default:
						s.Append(strings.Repeat("y", i%7))
						l.Append(true)
						for k := range i % 50 {
							v.Append(float32(i*k) / 7)
						}
					}
				}
			}),
		"required columns of every integer width, doubles and binary": build(
			[]arrow.Field{
				{Name: "u8", Type: arrow.PrimitiveTypes.Uint8}, {Name: "i8", Type: arrow.PrimitiveTypes.Int8},
				{Name: "u16", Type: arrow.PrimitiveTypes.Uint16}, {Name: "i16", Type: arrow.PrimitiveTypes.Int16},
				{Name: "u32", Type: arrow.PrimitiveTypes.Uint32}, {Name: "i32", Type: arrow.PrimitiveTypes.Int32},
				{Name: "u64", Type: arrow.PrimitiveTypes.Uint64}, {Name: "i64", Type: arrow.PrimitiveTypes.Int64},
				{Name: "f64", Type: arrow.PrimitiveTypes.Float64}, {Name: "bin", Type: arrow.BinaryTypes.LargeBinary},
			},
			func(bs []array.Builder) {
				for i := range 1000 {
					bs[0].(*array.Uint8Builder).Append(uint8(i))
					bs[1].(*array.Int8Builder).Append(int8(-i))
					bs[2].(*array.Uint16Builder).Append(uint16(i * 70))
					bs[3].(*array.Int16Builder).Append(int16(-i * 30))
					bs[4].(*array.Uint32Builder).Append(uint32(i) * 4_000_000)
					bs[5].(*array.Int32Builder).Append(int32(-i))
					bs[6].(*array.Uint64Builder).Append(uint64(i) << 60)
					bs[7].(*array.Int64Builder).Append(int64(-i) << 50)
					bs[8].(*array.Float64Builder).Append(float64(i) / 3)
					bs[9].(*array.BinaryBuilder).Append(bytes.Repeat([]byte{byte(i)}, i%9))
				}
			}),
		"float16 weights, fixed_size_list and int64 shapes": build(
			[]arrow.Field{
				{Name: "h", Type: arrow.ListOf(arrow.FixedWidthTypes.Float16), Nullable: true},
				{Name: "fixed", Type: arrow.FixedSizeListOf(3, arrow.PrimitiveTypes.Float32)},
				{Name: "shape", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true},
			},
			func(bs []array.Builder) {
				h, fx, sh := bs[0].(*array.ListBuilder), bs[1].(*array.FixedSizeListBuilder), bs[2].(*array.ListBuilder)
				for i := range 500 {
					h.Append(true)
					hv := h.ValueBuilder().(*array.Float16Builder)
					for k := range i % 4 {
						hv.AppendValues(arrowHalves(float32(k)-1.5, 0.25, 65504), nil)
					}
					fx.Append(true)
					fx.ValueBuilder().(*array.Float32Builder).AppendValues([]float32{float32(i), 1, -1}, nil)
					if i%3 == 0 {
						sh.AppendNull()
					} else {
						sh.Append(true)
						sh.ValueBuilder().(*array.Int64Builder).AppendValues([]int64{int64(i), 2}, nil)
					}
				}
			}),
	}
	for name, tbl := range tables {
		for _, dict := range []bool{false, true} {
			t.Run(name, func(t *testing.T) {
				b := writePqarrow(t, tbl, 700, dict)
				ref, err := pqarrow.ReadTable(context.Background(), bytes.NewReader(b), nil, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
				if err != nil {
					t.Fatal(err)
				}
				defer ref.Release()
				got, _, err := openBytes(b)
				if err != nil {
					t.Fatal(err)
				}
				defer got.Release()
				if got.NumCols() != ref.NumCols() || got.NumRows() != ref.NumRows() {
					t.Fatalf("%d columns of %d rows, pqarrow reads %d of %d", got.NumCols(), got.NumRows(), ref.NumCols(), ref.NumRows())
				}
				if g, w := rowsJSON(t, got), rowsJSON(t, ref); g != w {
					t.Fatalf("rows differ from pqarrow's:\n%.600s\nwant\n%.600s", g, w)
				}
			})
		}
	}
}

// arrowHalves converts values to arrow-go's float16 for a builder; the
// values are normal binary16 numbers, which its conversion gets right.
func arrowHalves(vs ...float32) []float16.Num {
	out := make([]float16.Num, len(vs))
	for i, v := range vs {
		out[i] = float16.New(v)
	}
	return out
}

func TestResultParquetFilesReadInPqarrowWithTheExactArrowTypes(t *testing.T) {
	want := mixedResults(t)
	path := filepath.Join(t.TempDir(), "out.parquet")
	writeResults(t, CreateParquet, path, &CreateOptions{RowGroupLayers: 5}, want)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ref, err := pqarrow.ReadTable(context.Background(), f, nil, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Release()
	for i, field := range ResultSchema().Fields() {
		// Lists name their element "element" in Parquet and "item" in Arrow:
		// compare the types without the names.
		got := ref.Schema().Field(i)
		sameType := got.Type.ID() == field.Type.ID()
		if e := listElem(field.Type); e != nil {
			sameType = sameType && arrow.TypeEqual(listElem(got.Type), e)
		} else {
			sameType = sameType && arrow.TypeEqual(got.Type, field.Type)
		}
		if got.Name != field.Name || !sameType {
			t.Fatalf("pqarrow reads column %d as %s %v, want %s %v", i, got.Name, got.Type, field.Name, field.Type)
		}
	}
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	if v := pf.MetaData().KeyValueMetadata().FindValue(VersionKey); v == nil || *v != FormatVersion {
		t.Fatalf("the Parquet key-value metadata holds format version %v", v)
	}
	sameTensors(t, tableResults(t, ref), want)
}

func TestOpenTableRecognisesTheFormatByItsMagicBytes(t *testing.T) {
	results := mixedResults(t)[:3]
	pq := filepath.Join(t.TempDir(), "results.parquet")
	writeResults(t, CreateParquet, pq, nil, results)
	ipcFile := filepath.Join(t.TempDir(), "results.arrow")
	writeResults(t, CreateIPC, ipcFile, nil, results)
	for _, c := range []struct{ name, src string }{
		{"Parquet named .arrow", pq}, {"Arrow IPC named .parquet", ipcFile}, {"Parquet named .bin", pq},
	} {
		b, _ := os.ReadFile(c.src)
		got, err := ReadResults(writeFile(t, filepath.Base(c.name[strings.LastIndex(c.name, " ")+1:]), b))
		if err != nil || len(got) != len(results) {
			t.Fatalf("%s: %d layers, %v", c.name, len(got), err)
		}
	}
}

func TestOpenTableRefusesFilesThatAreNotWellFormed(t *testing.T) {
	pq := filepath.Join(t.TempDir(), "r.parquet")
	writeResults(t, CreateParquet, pq, nil, mixedResults(t)[:2])
	pqBytes, _ := os.ReadFile(pq)
	ipcFile := filepath.Join(t.TempDir(), "r.arrow")
	writeResults(t, CreateIPC, ipcFile, nil, mixedResults(t)[:2])
	ipcBytes, _ := os.ReadFile(ipcFile)
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"an empty file", nil},
		{"a CSV file", []byte("layer_name,weights\na,1\n")},
		{"a Parquet file cut in half", pqBytes[:len(pqBytes)/2]},
		{"a Parquet file without its footer magic", pqBytes[:len(pqBytes)-1]},
		{"an Arrow IPC file cut in half", ipcBytes[:len(ipcBytes)/2]},
		{"an Arrow IPC file with a garbled footer", append(append([]byte{}, ipcBytes[:len(ipcBytes)-40]...), bytes.Repeat([]byte{0xAB}, 40)...)},
	} {
		t.Run(c.name+" is a FormatError", func(t *testing.T) {
			path := writeFile(t, "bad.parquet", c.data)
			_, _, err := OpenTable(path)
			var fe *FormatError
			if !errors.As(err, &fe) || fe.Path != path || !strings.Contains(err.Error(), path) {
				t.Fatalf("got %v, want a FormatError naming %s", err, path)
			}
		})
	}
	if _, _, err := OpenTable(filepath.Join(t.TempDir(), "missing.parquet")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a missing file gives %v, want ErrNotExist", err)
	}
}
