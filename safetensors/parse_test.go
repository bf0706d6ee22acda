package safetensors

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// badFiles are crafted invalid files: each must fail Parse with an error of
// the given kind whose message names the tensor (if any) and says msg.
var badFiles = []struct {
	name        string
	file        []byte
	unsupported bool // an *UnsupportedError rather than a *FormatError
	tensor      string
	msg         string
}{
	{"a file shorter than 8 bytes is refused", []byte{1, 2, 3}, false, "", "shorter than the 8-byte header length"},
	{"an empty file is refused", nil, false, "", "file is 0 bytes"},
	{"a header length of 0 is refused", rawFile("", nil), false, "", "header length is 0"},
	{"a header length over 100 MiB is refused", binary.LittleEndian.AppendUint64(nil, 100<<20+1), false, "", "over the 104857600-byte limit"},
	{"a header length past the end of the file is refused", append(binary.LittleEndian.AppendUint64(nil, 10), "{}"...), false, "", "runs past the end of the 10-byte file"},
	{"a header length of 2^64-1 is refused without overflow", binary.LittleEndian.AppendUint64(nil, 1<<64-1), false, "", "over the"},
	{"a header that is not JSON is refused", rawFile(`{"a":`, nil), false, "", "not valid JSON"},
	{"a header that is a JSON array is refused", rawFile(`[1, 2]`, nil), false, "", "does not start with '{'"},
	{"a header of spaces is refused", rawFile(`    `, nil), false, "", "does not start with '{'"},
	{"a header with invalid UTF-8 is refused", rawFile("{\"a\xff\":1}", nil), false, "", "not valid UTF-8"},
	{"a second JSON value after the header object is refused", rawFile(`{} {}`, nil), false, "", "after top-level value"},
	{"a tensor entry that is not an object is refused", rawFile(`{"w":[1]}`, nil), false, "w", "entry is not a JSON object"},
	{"a tensor entry without dtype is refused", rawFile(`{"w":{"shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), false, "w", "dtype is missing"},
	{"a tensor entry without shape is refused", rawFile(`{"w":{"dtype":"F32","data_offsets":[0,4]}}`, make([]byte, 4)), false, "w", "shape is missing"},
	{"a tensor entry without data_offsets is refused", rawFile(`{"w":{"dtype":"F32","shape":[1]}}`, make([]byte, 4)), false, "w", "data_offsets is missing"},
	{"a tensor entry with an unknown field is refused", rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"stride":[1]}}`, make([]byte, 4)), false, "w", `unknown field "stride"`},
	{"a tensor entry with a field twice is refused", rawFile(`{"w":{"dtype":"F32","shape":[1],"shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), false, "w", "shape appears twice"},
	{"a dtype that is not a string is refused", rawFile(`{"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), false, "w", "dtype is not a string"},
	{"a shape that is null is refused", rawFile(`{"w":{"dtype":"F32","shape":null,"data_offsets":[0,4]}}`, make([]byte, 4)), false, "w", "shape is not an array"},
	{"a negative dimension is refused", rawFile(`{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, make([]byte, 4)), false, "w", "shape holds -1"},
	{"a fractional dimension is refused", rawFile(`{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, make([]byte, 4)), false, "w", "shape holds 1.5"},
	{"a dimension in exponent form is refused", rawFile(`{"w":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}`, make([]byte, 4)), false, "w", "shape holds 1e0"},
	{"a dimension given as a string is refused", rawFile(`{"w":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}`, make([]byte, 4)), false, "w", "not a number"},
	{"a dimension over 2^63 is refused", rawFile(`{"w":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,4]}}`, make([]byte, 4)), false, "w", "not an integer in [0, 2^63)"},
	{"a shape whose product overflows int64 is refused", rawFile(`{"w":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, nil), false, "w", "more than 2^63 bytes"},
	{"a shape whose byte size overflows int64 is refused", rawFile(`{"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}}`, nil), false, "w", "more than 2^63 bytes"},
	{"an unknown dtype is unsupported", rawFile(`{"w":{"dtype":"Q4_K","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), true, "w", `unsupported dtype "Q4_K"`},
	{"a lower-case dtype is unsupported", rawFile(`{"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), true, "w", `unsupported dtype "f32"`},
	{"data_offsets of three numbers are refused", rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, make([]byte, 4)), false, "w", "data_offsets has 3 numbers, not 2"},
	{"data_offsets that are not an array are refused", rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":{}}}`, make([]byte, 4)), false, "w", "data_offsets is not an array"},
	{"data_offsets that begin after they end are refused", rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}`, make([]byte, 4)), false, "w", "begin after they end"},
	{"data_offsets past the data section are refused", rawFile(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 4)), false, "w", "run past the end of the 4-byte data section"},
	{"a byte length that does not match dtype and shape is refused", rawFile(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 4)), false, "w", "hold 4 bytes, but F32[2] needs 8"},
	{"overlapping tensors are refused", rawFile(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}`, make([]byte, 4)), false, "b", `overlap tensor "a" at [0, 4]`},
	{"a zero-size tensor inside another is refused as an overlap", rawFile(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[0],"data_offsets":[2,2]}}`, make([]byte, 4)), false, "b", "overlap"},
	{"a hole between tensors is refused", rawFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[1],"data_offsets":[3,4]}}`, make([]byte, 4)), false, "b", "leave bytes [2, 3) of the data section uncovered"},
	{"a hole at the start is refused", rawFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}`, make([]byte, 4)), false, "a", "leave bytes [0, 2)"},
	{"trailing bytes after the last tensor are refused", rawFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, make([]byte, 3)), false, "a", "1 bytes after the last tensor"},
	{"data without any tensor is refused", rawFile(`{}`, make([]byte, 3)), false, "", "3 bytes after the last tensor"},
	{"a tensor name twice in one header is refused", rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, make([]byte, 2)), false, "a", "appears twice in the header"},
	{"metadata that is not an object is refused", rawFile(`{"__metadata__":["a"]}`, nil), false, "", "__metadata__: is not an object of strings"},
	{"metadata with a number value is refused", rawFile(`{"__metadata__":{"n":1}}`, nil), false, "", `value of "n" is not a string`},
	{"metadata with a key twice is refused", rawFile(`{"__metadata__":{"k":"1","k":"2"}}`, nil), false, "", `key "k" appears twice`},
	{"metadata twice is refused", rawFile(`{"__metadata__":{},"__metadata__":{}}`, nil), false, "", "__metadata__ appears twice"},
}

func TestParseRefusesBadFiles(t *testing.T) {
	for _, tc := range badFiles {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("bad.safetensors", tc.file)
			if err == nil {
				t.Fatalf("Parse succeeded with %d tensors, want an error", len(f.Tensors))
			}
			var fe *FormatError
			var ue *UnsupportedError
			var file, tensor string
			switch {
			case tc.unsupported && errors.As(err, &ue):
				file, tensor = ue.File, ue.Tensor
			case !tc.unsupported && errors.As(err, &fe):
				file, tensor = fe.File, fe.Tensor
			default:
				t.Fatalf("error %T (%v), want unsupported=%v", err, err, tc.unsupported)
			}
			if file != "bad.safetensors" || tensor != tc.tensor {
				t.Errorf("error names file %q, tensor %q; want %q, %q", file, tensor, "bad.safetensors", tc.tensor)
			}
			msg := err.Error()
			want := "safetensors: bad.safetensors: "
			if tc.tensor != "" {
				want += "tensor " + strconv.Quote(tc.tensor) + ": "
			}
			if !strings.HasPrefix(msg, want) || !strings.Contains(msg, tc.msg) {
				t.Errorf("error %q, want it to start with %q and contain %q", msg, want, tc.msg)
			}
		})
	}
}

func TestOpenRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range badFiles {
		t.Run(tc.name, func(t *testing.T) {
			path := writeRaw(t, dir, "bad.safetensors", tc.file)
			f, err := Open(path)
			if err == nil {
				f.Close()
				t.Fatal("Open succeeded, want an error")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q, want it to name %s and contain %q", err, path, tc.msg)
			}
		})
	}
}

func TestParseAcceptsLenientFiles(t *testing.T) {
	for _, tc := range []struct {
		name  string
		file  []byte
		want  []Tensor
		meta  map[string]string
		check func(t *testing.T, f *File)
	}{
		{
			name: "an empty header with no data is an empty file",
			file: rawFile(`{}`, nil),
		},
		{
			name: "a header padded with trailing spaces is accepted",
			file: rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}       `, []byte{9}),
			want: []Tensor{{Name: "a", DType: U8, Shape: []int64{1}, Data: []byte{9}}},
		},
		{
			name: "tensors whose offsets are in another order than their names are accepted",
			file: rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[2,3]},"b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, []byte{1, 2, 3}),
			want: []Tensor{
				{Name: "a", DType: U8, Shape: []int64{1}, Data: []byte{3}},
				{Name: "b", DType: U8, Shape: []int64{2}, Data: []byte{1, 2}},
			},
		},
		{
			name: "zero-size tensors may share an offset and sit at the end",
			file: rawFile(`{"z1":{"dtype":"F32","shape":[0],"data_offsets":[1,1]},"z0":{"dtype":"F32","shape":[3,0],"data_offsets":[0,0]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"z2":{"dtype":"F64","shape":[0],"data_offsets":[1,1]}}`, []byte{7}),
			want: []Tensor{
				{Name: "a", DType: U8, Shape: []int64{1}, Data: []byte{7}},
				{Name: "z0", DType: F32, Shape: []int64{3, 0}, Data: []byte{}},
				{Name: "z1", DType: F32, Shape: []int64{0}, Data: []byte{}},
				{Name: "z2", DType: F64, Shape: []int64{0}, Data: []byte{}},
			},
		},
		{
			name: "a zero-element tensor with huge other dimensions is accepted",
			file: rawFile(`{"z":{"dtype":"F64","shape":[0,9223372036854775807,9223372036854775807],"data_offsets":[0,0]}}`, nil),
			want: []Tensor{{Name: "z", DType: F64, Shape: []int64{0, 1<<63 - 1, 1<<63 - 1}, Data: []byte{}}},
		},
		{
			name: "white space between all tokens is accepted",
			file: rawFile("{ \"a\" : {\n\t\"dtype\" : \"U8\" ,\r\n \"shape\" : [ 1 , 2 ] , \"data_offsets\" : [ 0 , 2 ] } , \"__metadata__\" : { \"k\" : \"v\" } , \"e\" : { \"dtype\" : \"F32\" , \"shape\" : [ ] , \"data_offsets\" : [ 2 , 6 ] } }\n", []byte{1, 2, 3, 4, 5, 6}),
			want: []Tensor{
				{Name: "a", DType: U8, Shape: []int64{1, 2}, Data: []byte{1, 2}},
				{Name: "e", DType: F32, Shape: []int64{}, Data: []byte{3, 4, 5, 6}},
			},
			meta: map[string]string{"k": "v"},
		},
		{
			name: "null metadata counts as none",
			file: rawFile(`{"__metadata__":null}`, nil),
		},
		{
			name: "metadata after the tensors and escaped names are decoded",
			file: rawFile(`{"a\u00e9\n":{"dtype":"BOOL","shape":[],"data_offsets":[0,1]},"__metadata__":{"k":"v\"<"}}`, []byte{1}),
			want: []Tensor{{Name: "aé\n", DType: Bool, Shape: []int64{}, Data: []byte{1}}},
			meta: map[string]string{"k": "v\"<"},
		},
		{
			name: "empty metadata stays an empty map",
			file: rawFile(`{"__metadata__":{}}`, nil),
			meta: map[string]string{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("ok.safetensors", tc.file)
			if err != nil {
				t.Fatal(err)
			}
			sameTensors(t, f.Tensors, tc.want)
			sameMetadata(t, f.Metadata, tc.meta)
			for i, tt := range f.Tensors {
				if i > 0 && f.Tensors[i-1].Name >= tt.Name {
					t.Errorf("tensors not sorted: %q before %q", f.Tensors[i-1].Name, tt.Name)
				}
				if tt.File != "ok.safetensors" || cap(tt.Data) != len(tt.Data) {
					t.Errorf("tensor %q: File %q, cap %d len %d", tt.Name, tt.File, cap(tt.Data), len(tt.Data))
				}
			}
		})
	}
}

// TestHeaderOffsetsBeyond4GiB checks the header parser and builder with
// offsets past 2^32 against a data section that is only claimed, never
// allocated.
func TestHeaderOffsetsBeyond4GiB(t *testing.T) {
	const big = 5 << 30 // 5 GiB
	header := `{"big":{"dtype":"U8","shape":[5368709120],"data_offsets":[0,5368709120]},` +
		`"small":{"dtype":"F32","shape":[2],"data_offsets":[5368709120,5368709128]}}`
	entries, _, err := parseHeader("big.safetensors", []byte(header), big+8)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[1].Begin != big || entries[1].End != big+8 {
		t.Fatalf("entries %+v", entries)
	}
	if _, _, err := parseHeader("big.safetensors", []byte(header), big+7); err == nil {
		t.Error("a data section one byte short was accepted")
	}

	// The writer's reservation for two tensors of up to 3 GiB each, whose
	// dtypes are unknown, holds the real header whatever they turn out.
	slots := []slot{{name: "a", maxBytes: 3 << 30}, {name: "b", maxBytes: 3 << 30}}
	headerLen, _, err := reserve(map[string]string{"k": "v"}, slots)
	if err != nil {
		t.Fatal(err)
	}
	real := []entry{
		{Name: "a", DType: F32, Shape: []int64{1 << 10, 1 << 10, 3 << 8}, Begin: 3 << 30, End: 6 << 30},
		{Name: "b", DType: F8E4M3, Shape: []int64{3 << 30}, Begin: 0, End: 3 << 30},
	}
	head, err := headerBytes(map[string]string{"k": "v"}, real, headerLen)
	if err != nil {
		t.Fatal(err)
	}
	got, meta, err := parseHeader("big.safetensors", head[8:], 6<<30)
	if err != nil {
		t.Fatal(err)
	}
	if meta["k"] != "v" || len(got) != 2 || got[0].Begin != 3<<30 || got[1].End != 3<<30 {
		t.Errorf("round trip gave %+v, %v", got, meta)
	}
	if int64(binary.LittleEndian.Uint64(head)) != headerLen || headerLen%8 != 0 {
		t.Errorf("length prefix %d, reserved %d", binary.LittleEndian.Uint64(head), headerLen)
	}
}

// TestOpenSparseFileBeyond4GiB opens a real file of 5 GiB that is almost
// all hole, so no data is written: offsets past 2^32 work end to end.
func TestOpenSparseFileBeyond4GiB(t *testing.T) {
	if strconv.IntSize < 64 {
		t.Skip("a 5 GiB mapping needs a 64-bit system")
	}
	const big = 5 << 30
	header := `{"big":{"dtype":"U8","shape":[5368709120],"data_offsets":[0,5368709120]},` +
		`"tail":{"dtype":"F32","shape":[2],"data_offsets":[5368709120,5368709128]}}`
	path := writeRaw(t, t.TempDir(), "big.safetensors", rawFile(header, nil))
	if err := os.Truncate(path, int64(8+len(header))+big+8); err != nil {
		t.Skipf("no sparse file here: %v", err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tail, ok := f.Tensor("tail")
	if !ok || len(tail.Data) != 8 || tail.Data[7] != 0 {
		t.Fatalf("tail tensor %v, %v", ok, tail)
	}
	if b, _ := f.Tensor("big"); int64(len(b.Data)) != big {
		t.Errorf("big tensor holds %d bytes", len(b.Data))
	}
}

func TestOpenAcceptsAnEmptyDataSection(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		file []byte
		n    int
	}{
		{"a file without tensors opens", rawFile(`{}`, nil), 0},
		{"a file of zero-size tensors opens", rawFile(`{"z":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}`, nil), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Open(writeRaw(t, dir, "e.safetensors", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Tensors) != tc.n {
				t.Errorf("%d tensors, want %d", len(f.Tensors), tc.n)
			}
			if err := f.Close(); err != nil {
				t.Error(err)
			}
			if err := f.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

func TestOpenRefusesWhatIsNotAFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing.safetensors")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
	var fe *FormatError
	if _, err := Open(dir); !errors.As(err, &fe) {
		t.Errorf("directory: %v, want a FormatError", err)
	}
}

func TestDTypeSize(t *testing.T) {
	for d, want := range map[DType]int{
		F32: 4, F16: 2, BF16: 2, F64: 8, I8: 1, I16: 2, I32: 4, I64: 8,
		U8: 1, U16: 2, U32: 4, U64: 8, Bool: 1, F8E4M3: 1, F8E5M2: 1,
		"Q4": 0, "": 0, "f32": 0,
	} {
		if got := d.Size(); got != want {
			t.Errorf("%q.Size() = %d, want %d", d, got, want)
		}
	}
}

func TestNumElements(t *testing.T) {
	for _, tc := range []struct {
		shape []int64
		want  int64
	}{
		{nil, 1},
		{[]int64{}, 1},
		{[]int64{2, 3, 4}, 24},
		{[]int64{0, 1 << 62, 1 << 62}, 0},
		{[]int64{1 << 32, 1 << 32}, -1},
		{[]int64{-1}, -1},
	} {
		tt := Tensor{Shape: tc.shape}
		if got := tt.NumElements(); got != tc.want {
			t.Errorf("NumElements(%v) = %d, want %d", tc.shape, got, tc.want)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join(realDir, "iris.f32.safetensors"))
	if err != nil {
		b.Skip(err)
	}
	b.SetBytes(int64(binary.LittleEndian.Uint64(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("iris", raw); err != nil {
			b.Fatal(err)
		}
	}
}
