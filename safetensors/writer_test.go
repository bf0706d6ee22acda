package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/arrowquant/arrowquant/internal/testfs"
)

// planFor returns a plan that lets every tensor take its own size, or
// slack more bytes.
func planFor(tensors []Tensor, slack int64) []PlannedTensor {
	var plan []PlannedTensor
	for _, t := range tensors {
		plan = append(plan, PlannedTensor{Name: t.Name, MaxBytes: int64(len(t.Data)) + slack})
	}
	return plan
}

func TestWriterRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name  string
		meta  map[string]string
		slack int64
		order func([]Tensor)
	}{
		{"tensors written in plan order reopen the same", sampleMetadata(), 0, func([]Tensor) {}},
		{"tensors written in reverse order reopen the same", nil, 0, slices.Reverse[[]Tensor]},
		{"tensors smaller than planned reopen the same", map[string]string{}, 1000, func(ts []Tensor) {
			slices.SortFunc(ts, func(a, b Tensor) int { return len(a.Data) - len(b.Data) })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.safetensors")
			tensors := sampleTensors()
			w, err := Create(path, tc.meta, planFor(tensors, tc.slack), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			tc.order(tensors)
			for _, tt := range tensors {
				if err := w.WriteTensor(tt.Name, tt.DType, tt.Shape, tt.Data); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("destination exists before Commit: %v", err)
			}
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
			if err := w.Abort(); err != nil {
				t.Errorf("Abort after Commit: %v", err)
			}
			if names := testfs.Names(t, dir); !slices.Equal(names, []string{"out.safetensors"}) {
				t.Errorf("folder holds %q, want only the output", names)
			}
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sameTensors(t, f.Tensors, tensors)
			sameMetadata(t, f.Metadata, tc.meta)
			if f.HeaderSize%8 != 0 {
				t.Errorf("header of %d bytes leaves the data section unaligned", f.HeaderSize)
			}
			st, _ := os.Stat(path)
			if st.Mode().Perm() != 0o644 {
				t.Errorf("mode %v, want 0644", st.Mode().Perm())
			}
		})
	}
}

// TestWriterChoosesDTypesLate writes a tensor whose dtype is only decided
// when it is written, as a quantizer does for its scales.
func TestWriterChoosesDTypesLate(t *testing.T) {
	for _, dtype := range []DType{F16, F32} {
		t.Run("scales written as "+string(dtype)+" fit the plan", func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "q.safetensors")
			w, err := Create(path, nil, []PlannedTensor{{Name: "w.scales", MaxBytes: 4 * 64}, {Name: "w.q", MaxBytes: 64 * 32}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			scales := make([]byte, 64*dtype.Size())
			if err := w.WriteTensor("w.scales", dtype, []int64{64}, scales); err != nil {
				t.Fatal(err)
			}
			if err := w.WriteTensor("w.q", U8, []int64{64, 32}, make([]byte, 64*32)); err != nil {
				t.Fatal(err)
			}
			f := commitAndOpen(t, w, path)
			if s, ok := f.Tensor("w.scales"); !ok || s.DType != dtype || len(s.Data) != len(scales) {
				t.Errorf("scales: %v %+v", ok, s)
			}
		})
	}
}

func TestWriterHeaderIsCompactSortedAndPadded(t *testing.T) {
	var buf bytes.Buffer
	err := Encode(&buf, map[string]string{"z": "1", "a": "<&>"}, []Tensor{
		{Name: "b", DType: U8, Shape: []int64{2}, Data: []byte{1, 2}},
		{Name: "a", DType: F32, Shape: []int64{}, Data: []byte{0, 0, 128, 63}},
	})
	if err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	n := binary.LittleEndian.Uint64(b)
	header := string(b[8 : 8+n])
	want := `{"__metadata__":{"a":"<&>","z":"1"},"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}`
	if strings.TrimRight(header, " ") != want {
		t.Errorf("header\n%s\nwant\n%s", header, want)
	}
	if (8+n)%8 != 0 || len(header)-len(want) >= 8 {
		t.Errorf("header of %d bytes padded to %d, want the next multiple of 8", len(want), n)
	}
	if got := b[8+n:]; !bytes.Equal(got, []byte{0, 0, 128, 63, 1, 2}) {
		t.Errorf("data section %v", got)
	}
}

func TestWriteFileIsDeterministicAndMatchesEncode(t *testing.T) {
	dir := t.TempDir()
	var files [][]byte
	for i, tensors := range [][]Tensor{sampleTensors(), sampleTensors()} {
		if i == 1 {
			slices.Reverse(tensors) // input order must not matter
		}
		path := filepath.Join(dir, "f.safetensors")
		if err := WriteFile(path, sampleMetadata(), tensors); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, b)
	}
	var buf bytes.Buffer
	if err := Encode(&buf, sampleMetadata(), sampleTensors()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Error("WriteFile wrote different bytes for the same tensors")
	}
	if !bytes.Equal(files[0], buf.Bytes()) {
		t.Error("WriteFile and Encode wrote different bytes")
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "\x00\x01\x1f\x7f", "\n\r\t\b\f", "é 中文 🙂", "\u2028\u2029", "<&>"} {
		b := appendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil || got != s {
			t.Errorf("appendString(%q) = %s, decodes to %q, %v", s, b, got, err)
		}
	}
}

func TestWriteTensorRefusesBadArguments(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(w *Writer) error
		msg   string
	}{
		{"a tensor that was not planned is refused", func(w *Writer) error {
			return w.WriteTensor("nope", U8, []int64{1}, []byte{1})
		}, "not in the plan"},
		{"a tensor written twice is refused", func(w *Writer) error {
			w.WriteTensor("a", U8, []int64{1}, []byte{1})
			return w.WriteTensor("a", U8, []int64{1}, []byte{1})
		}, "written twice"},
		{"an unknown dtype is refused", func(w *Writer) error {
			return w.WriteTensor("a", "Q4", []int64{1}, []byte{1})
		}, `unsupported dtype "Q4"`},
		{"data of the wrong length is refused", func(w *Writer) error {
			return w.WriteTensor("a", F32, []int64{2}, []byte{1})
		}, "1 bytes of data, but F32[2] needs 8"},
		{"a negative dimension is refused", func(w *Writer) error {
			return w.WriteTensor("a", U8, []int64{-1}, nil)
		}, "negative dimension"},
		{"more bytes than planned are refused", func(w *Writer) error {
			return w.WriteTensor("a", U8, []int64{65}, make([]byte, 65))
		}, "65 bytes, more than the 64 planned"},
		{"a shape too long for the reserved header is refused", func(w *Writer) error {
			return w.WriteTensor("a", U8, slices.Repeat([]int64{1}, 40), []byte{1})
		}, "does not fit in the header room"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.safetensors")
			w, err := Create(path, nil, []PlannedTensor{{Name: "a", MaxBytes: 64}, {Name: "b", MaxBytes: 0}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			err = tc.write(w)
			if err == nil || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %v, want one naming %s and saying %q", err, path, tc.msg)
			}
			// The Writer is still usable after an argument error.
			if err := w.WriteTensor("b", F32, []int64{0, 3}, nil); err != nil {
				t.Fatal(err)
			}
			w.WriteTensor("a", U8, []int64{1}, []byte{42}) // may be refused as a repeat
			f := commitAndOpen(t, w, path)
			if a, _ := f.Tensor("a"); len(f.Tensors) != 2 || a.Data[0] != 42 && a.Data[0] != 1 {
				t.Errorf("tensors %+v", f.Tensors)
			}
		})
	}
}

func TestWriterLeavesNoFileBehind(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, w *Writer) error
		msg  string
	}{
		{"Abort removes the temporary file", func(t *testing.T, w *Writer) error {
			w.WriteTensor("a", U8, []int64{4}, []byte{1, 2, 3, 4})
			return w.Abort()
		}, ""},
		{"Commit with a tensor missing fails", func(t *testing.T, w *Writer) error {
			w.WriteTensor("a", U8, []int64{4}, []byte{1, 2, 3, 4})
			return w.Commit()
		}, `Commit without writing big`},
		{"Commit after a write error fails", func(t *testing.T, w *Writer) error {
			w.WriteTensor("a", U8, []int64{4}, []byte{1, 2, 3, 4})
			w.f.Close() // the disk goes away
			err := w.WriteTensor("big", U8, []int64{2 << 20}, make([]byte, 2<<20))
			if err == nil {
				t.Error("WriteTensor to a closed file succeeded")
			}
			if err2 := w.WriteTensor("big", U8, []int64{1}, []byte{1}); err2 != err {
				t.Errorf("second write returned %v, want the first error again", err2)
			}
			return w.Commit()
		}, "file already closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.safetensors")
			before := []byte("the previous version")
			writeRaw(t, dir, "out.safetensors", before)
			w, err := Create(path, nil, []PlannedTensor{{Name: "a", MaxBytes: 4}, {Name: "big", MaxBytes: 2 << 20}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = tc.run(t, w)
			if (err != nil) != (tc.msg != "") || err != nil && !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %v, want %q", err, tc.msg)
			}
			if names := testfs.Names(t, dir); !slices.Equal(names, []string{"out.safetensors"}) {
				t.Errorf("folder holds %q, want only the previous output", names)
			}
			if b, _ := os.ReadFile(path); !bytes.Equal(b, before) {
				t.Errorf("destination changed to %q", b)
			}
			if err := w.WriteTensor("a", U8, []int64{1}, []byte{1}); err == nil {
				t.Error("WriteTensor after the end succeeded")
			}
			if err := w.Commit(); err == nil {
				t.Error("a second Commit succeeded")
			}
			if err := w.Abort(); err != nil {
				t.Errorf("a second Abort: %v", err)
			}
		})
	}
}

func TestCreateRefuses(t *testing.T) {
	dir := t.TempDir()
	input := writeRaw(t, dir, "in.safetensors", rawFile(`{}`, nil))
	link := filepath.Join(dir, "link.safetensors")
	if err := os.Link(input, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		path string
		plan []PlannedTensor
		meta map[string]string
		opts *CreateOptions
		msg  string
	}{
		{"overwriting an input is refused", input, nil, nil, &CreateOptions{Refuse: []string{"missing", input}}, "refusing to overwrite the input"},
		{"overwriting an input through a hard link is refused", link, nil, nil, &CreateOptions{Refuse: []string{input}}, "refusing to overwrite the input"},
		{"writing over a folder is refused", dir, nil, nil, nil, "is a directory"},
		{"a negative MaxBytes is refused", filepath.Join(dir, "o"), []PlannedTensor{{Name: "a", MaxBytes: -1}}, nil, nil, "negative"},
		{"a name planned twice is refused", filepath.Join(dir, "o"), []PlannedTensor{{Name: "a", MaxBytes: 1}, {Name: "a", MaxBytes: 1}}, nil, nil, "appears twice"},
		{"the metadata key as a name is refused", filepath.Join(dir, "o"), []PlannedTensor{{Name: "__metadata__", MaxBytes: 1}}, nil, nil, "reserved"},
		{"a name that is not UTF-8 is refused", filepath.Join(dir, "o"), []PlannedTensor{{Name: "a\xff", MaxBytes: 1}}, nil, nil, "not valid UTF-8"},
		{"metadata that is not UTF-8 is refused", filepath.Join(dir, "o"), nil, map[string]string{"k": "\xff"}, nil, "not valid UTF-8"},
		{"plans adding up to more than 2^63 bytes are refused", filepath.Join(dir, "o"), []PlannedTensor{{Name: "a", MaxBytes: 1 << 62}, {Name: "b", MaxBytes: 1 << 62}, {Name: "c", MaxBytes: 1 << 62}}, nil, nil, "more than 2^63"},
		{"a folder that does not exist is refused", filepath.Join(dir, "no", "o"), nil, nil, nil, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := Create(tc.path, tc.meta, tc.plan, tc.opts)
			if err == nil {
				w.Abort()
				t.Fatal("Create succeeded")
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q, want %q", err, tc.msg)
			}
		})
	}
	if names := testfs.Names(t, dir); !slices.Equal(names, []string{"in.safetensors", "link.safetensors"}) {
		t.Errorf("folder holds %q", names)
	}
	// Not naming the input lets the same path be replaced.
	if err := WriteFile(input, nil, sampleTensors()); err != nil {
		t.Fatal(err)
	}
}

func TestEncodeRefusesBadTensors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tensors []Tensor
		msg     string
	}{
		{"a name twice is refused", []Tensor{{Name: "a", DType: U8, Data: []byte{1}}, {Name: "a", DType: U8, Data: []byte{1}}}, "appears twice"},
		{"an unknown dtype is refused", []Tensor{{Name: "a", DType: "X", Data: []byte{1}}}, "unsupported dtype"},
		{"data not matching the shape is refused", []Tensor{{Name: "a", DType: F16, Shape: []int64{3}, Data: []byte{1}}}, "needs 6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Encode(&buf, nil, tc.tensors)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %v, want %q", err, tc.msg)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes before failing", buf.Len())
			}
		})
	}
}

// failWriter fails every write after the first n bytes.
type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestEncodeReturnsWriteErrors(t *testing.T) {
	var buf bytes.Buffer
	if err := Encode(&buf, nil, sampleTensors()); err != nil {
		t.Fatal(err)
	}
	headerEnd := 8 + int(binary.LittleEndian.Uint64(buf.Bytes()))
	for _, n := range []int{0, headerEnd + 1, buf.Len() - 1} {
		err := Encode(&failWriter{n}, nil, sampleTensors())
		if err == nil || err.Error() != "disk full" {
			t.Errorf("writer failing after %d bytes: error %v, want disk full", n, err)
		}
	}
}

func TestWriterLendsUnusedHeaderRoom(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.safetensors")
	w, err := Create(path, nil, []PlannedTensor{{Name: "a", MaxBytes: 64}, {Name: "b", MaxBytes: 64}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	deep := append(slices.Repeat([]int64{1}, 11), 64) // rank 12: more than Create reserves
	if err := w.WriteTensor("a", U8, []int64{64}, make([]byte, 64)); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteTensor("b", U8, deep, make([]byte, 64)); err != nil {
		t.Fatalf("the room a left unused was not lent to b: %v", err)
	}
	f := commitAndOpen(t, w, path)
	if b, _ := f.Tensor("b"); !slices.Equal(b.Shape, deep) {
		t.Errorf("shape %v, want %v", b.Shape, deep)
	}
}

// TestWriterReservationHoldsForRandomPlans writes random tensors of rank up
// to 8, each with its dtype chosen at write time, in random order: the
// header reserved by Create must always be enough.
func TestWriterReservationHoldsForRandomPlans(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dtypes := []DType{F32, F16, BF16, F64, I8, U8, Bool, F8E4M3, I64}
	dir := t.TempDir()
	for round := range 30 {
		var plan []PlannedTensor
		var tensors []Tensor
		for i := range 1 + rng.IntN(40) {
			dt := dtypes[rng.IntN(len(dtypes))]
			shape := make([]int64, rng.IntN(9))
			n := int64(1)
			for j := range shape {
				shape[j] = 1 + rng.Int64N(max(1, 10_000/n))
				n *= shape[j]
			}
			name := fmt.Sprintf("t%d", i)
			size := n * int64(dt.Size())
			plan = append(plan, PlannedTensor{Name: name, MaxBytes: size + rng.Int64N(3)*size})
			tensors = append(tensors, Tensor{Name: name, DType: dt, Shape: shape, Data: make([]byte, size)})
		}
		path := filepath.Join(dir, fmt.Sprintf("%d.safetensors", round))
		w, err := Create(path, map[string]string{"round": fmt.Sprint(round)}, plan, nil)
		if err != nil {
			t.Fatal(err)
		}
		rng.Shuffle(len(tensors), func(i, j int) { tensors[i], tensors[j] = tensors[j], tensors[i] })
		for _, tt := range tensors {
			if err := w.WriteTensor(tt.Name, tt.DType, tt.Shape, tt.Data); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if err := w.Commit(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		f, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		sameTensors(t, f.Tensors, tensors)
		f.Close()
	}
}

func TestOptionalTensorsMayBeLeftOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "o.safetensors")
	w, err := Create(path, map[string]string{"k": "a long placeholder value"}, []PlannedTensor{
		{Name: "w", MaxBytes: 16, Optional: true},
		{Name: "w.qweight", MaxBytes: 8, Optional: true},
		{Name: "b", MaxBytes: 4},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if err := w.WriteTensor("w.qweight", U8, []int64{8}, make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteTensor("b", F32, []int64{1}, make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	if got := w.Written(); !slices.Equal(got, []string{"b", "w.qweight"}) {
		t.Fatalf("Written() = %v", got)
	}
	if err := w.SetMetadata(map[string]string{"k": "short"}); err != nil {
		t.Fatal(err)
	}
	f := commitAndOpen(t, w, path)
	if len(f.Tensors) != 2 || f.Metadata["k"] != "short" {
		t.Fatalf("tensors %d metadata %v", len(f.Tensors), f.Metadata)
	}
	if _, ok := f.Tensor("w"); ok {
		t.Fatal("the unwritten optional tensor is in the file")
	}
}

func TestSetMetadataRefusesWhatTheHeaderCannotHold(t *testing.T) {
	path := filepath.Join(t.TempDir(), "o.safetensors")
	w, err := Create(path, map[string]string{"k": "v"}, []PlannedTensor{{Name: "b", MaxBytes: 4}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if err := w.SetMetadata(map[string]string{"k": strings.Repeat("x", 1000)}); err == nil {
		t.Fatal("metadata far longer than reserved was accepted")
	}
	if err := w.WriteTensor("b", F32, []int64{1}, make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatalf("the refused metadata broke the writer: %v", err)
	}
}
