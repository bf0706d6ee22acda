package safetensors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/arrowquant/arrowquant/internal/atomicfile"
)

// IndexFile is the name of the index of a sharded model folder, as the
// Hugging Face libraries write it.
const IndexFile = "model.safetensors.index.json"

// An Index is the content of a model.safetensors.index.json.
type Index struct {
	// Metadata is the index's free-form "metadata" object (typically
	// {"total_size": N}); numbers in it are json.Number. Nil if absent.
	Metadata map[string]any
	// WeightMap maps each tensor name to the file name of its shard, in the
	// same folder as the index.
	WeightMap map[string]string
}

// ReadIndex reads and checks an index file: a JSON object with a
// "weight_map" object of strings, each a plain file name, with no name
// twice; and optionally a "metadata" object. Other members are ignored.
func ReadIndex(path string) (*Index, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) error {
		return &FormatError{File: path, Msg: fmt.Sprintf(format, args...)}
	}
	if !utf8.Valid(b) {
		return nil, bad("not valid UTF-8")
	}
	if !json.Valid(b) {
		var v json.RawMessage
		return nil, bad("not valid JSON: %v", json.Unmarshal(b, &v))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if t, _ := dec.Token(); t != json.Delim('{') {
		return nil, bad("not a JSON object")
	}
	idx := &Index{}
	seen := map[string]bool{}
	for dec.More() {
		t, _ := dec.Token()
		key := t.(string)
		if seen[key] {
			return nil, bad("%q appears twice", key)
		}
		seen[key] = true
		switch key {
		case "metadata":
			if err := dec.Decode(&idx.Metadata); err != nil {
				return nil, bad("metadata is not an object")
			}
		case "weight_map":
			if t, _ := dec.Token(); t != json.Delim('{') {
				return nil, bad("weight_map is not an object")
			}
			idx.WeightMap = map[string]string{}
			for dec.More() {
				t, _ := dec.Token()
				name := t.(string)
				t, _ = dec.Token()
				shard, ok := t.(string)
				if !ok {
					return nil, &FormatError{File: path, Tensor: name, Msg: "weight_map value is not a string"}
				}
				if _, dup := idx.WeightMap[name]; dup {
					return nil, &FormatError{File: path, Tensor: name, Msg: "appears twice in weight_map"}
				}
				if !plainName(shard) {
					return nil, &FormatError{File: path, Tensor: name, Msg: fmt.Sprintf("shard %q is not a file name in the index's folder", shard)}
				}
				idx.WeightMap[name] = shard
			}
			dec.Token() // '}'
		default:
			var skip json.RawMessage
			dec.Decode(&skip)
		}
	}
	if idx.WeightMap == nil {
		return nil, bad("weight_map is missing")
	}
	return idx, nil
}

// plainName reports whether name is a file name without any directory part,
// so that an index cannot point outside its folder.
func plainName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, `/\`) && filepath.Base(name) == name
}

// WriteIndex writes dir/model.safetensors.index.json atomically, with the
// given metadata (nil writes an empty object) and weight map, indented and
// with keys sorted as the Hugging Face libraries write it.
func WriteIndex(dir string, metadata map[string]any, weightMap map[string]string) error {
	path := filepath.Join(dir, IndexFile)
	for name, shard := range weightMap {
		if !utf8.ValidString(name) || !utf8.ValidString(shard) {
			return errorf(path, name, "weight_map entry is not valid UTF-8")
		}
		if !plainName(shard) {
			return errorf(path, name, "shard %q is not a plain file name", shard)
		}
	}
	if metadata == nil {
		metadata = map[string]any{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(struct {
		Metadata  map[string]any    `json:"metadata"`
		WeightMap map[string]string `json:"weight_map"`
	}{metadata, weightMap})
	if err != nil {
		return fmt.Errorf("safetensors: %s: %w", path, err)
	}
	return writeAtomic(path, &buf)
}

// writeAtomic writes r to path through a temporary file and a rename.
func writeAtomic(path string, r io.Reader) error {
	if err := atomicfile.WriteFile(path, r, nil); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}
