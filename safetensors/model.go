package safetensors

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// A Model is a set of safetensors files opened as one: a single file, or
// the shards of a model folder.
type Model struct {
	Path     string
	Tensors  []Tensor          // the tensors of all shards, sorted by name
	Metadata map[string]string // the shards' metadata merged; the first shard wins a conflict; nil if none has any
	Shards   []*File           // in file-name order
	Index    *Index            // the folder's index; nil if there is none
}

// OpenModel opens path, which is either a .safetensors file or a folder.
//
// A folder with a model.safetensors.index.json is opened by its weight map:
// every shard it names must exist, every tensor it names must be in the
// shard it says, and every tensor of those shards must be in the map. Other
// .safetensors files in the folder are ignored. A folder without an index
// is opened as every *.safetensors file in it (names starting with "." are
// skipped), and it must hold at least one. Either way no tensor name may
// appear in two shards.
func OpenModel(path string) (*Model, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		f, err := Open(path)
		if err != nil {
			return nil, err
		}
		return &Model{Path: path, Tensors: f.Tensors, Metadata: f.Metadata, Shards: []*File{f}}, nil
	}

	m := &Model{Path: path}
	var shards []string
	idx, err := ReadIndex(filepath.Join(path, IndexFile))
	switch {
	case err == nil:
		m.Index = idx
		if shards, err = indexShards(path, idx); err != nil {
			return nil, err
		}
	case errors.Is(err, fs.ErrNotExist):
		if shards, err = folderShards(path); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}

	for _, name := range shards {
		f, err := Open(filepath.Join(path, name))
		if err != nil {
			m.Close()
			return nil, err
		}
		m.Shards = append(m.Shards, f)
	}
	if err := m.merge(); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// indexShards returns the shard files an index names, sorted, after
// checking that each exists.
func indexShards(dir string, idx *Index) ([]string, error) {
	indexPath := filepath.Join(dir, IndexFile)
	first := map[string]string{} // shard -> first tensor naming it
	for _, name := range slices.Sorted(maps.Keys(idx.WeightMap)) {
		shard := idx.WeightMap[name]
		if _, ok := first[shard]; !ok {
			first[shard] = name
		}
	}
	if len(first) == 0 {
		return nil, &FormatError{File: indexPath, Msg: "weight_map is empty"}
	}
	shards := slices.Sorted(maps.Keys(first))
	for _, shard := range shards {
		if _, err := os.Stat(filepath.Join(dir, shard)); errors.Is(err, fs.ErrNotExist) {
			return nil, &FormatError{File: indexPath, Tensor: first[shard], Msg: fmt.Sprintf("weight_map names shard %q, which does not exist", shard)}
		}
	}
	return shards, nil
}

// folderShards returns the *.safetensors files of dir, sorted.
func folderShards(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var shards []string
	for _, de := range des {
		// Type is not checked: shards are often symbolic links (as in the
		// Hugging Face cache), and Open refuses what is not a file.
		if name := de.Name(); strings.HasSuffix(name, ".safetensors") && !strings.HasPrefix(name, ".") {
			shards = append(shards, name)
		}
	}
	if len(shards) == 0 {
		return nil, &FormatError{File: dir, Msg: "folder holds no .safetensors file"}
	}
	return shards, nil
}

// merge fills m.Tensors and m.Metadata from m.Shards, and checks them
// against m.Index.
func (m *Model) merge() error {
	for _, f := range m.Shards {
		m.Tensors = append(m.Tensors, f.Tensors...)
		for k, v := range f.Metadata {
			if m.Metadata == nil {
				m.Metadata = map[string]string{}
			}
			if _, ok := m.Metadata[k]; !ok {
				m.Metadata[k] = v
			}
		}
	}
	slices.SortStableFunc(m.Tensors, func(a, b Tensor) int { return cmp.Compare(a.Name, b.Name) })
	for i := 1; i < len(m.Tensors); i++ {
		if a, b := &m.Tensors[i-1], &m.Tensors[i]; a.Name == b.Name {
			return &FormatError{File: m.Path, Tensor: a.Name, Msg: fmt.Sprintf("in two shards, %s and %s", a.File, b.File)}
		}
	}
	if m.Index == nil {
		return nil
	}
	indexPath := filepath.Join(m.Path, IndexFile)
	for _, t := range m.Tensors {
		shard, ok := m.Index.WeightMap[t.Name]
		if !ok {
			return &FormatError{File: t.File, Tensor: t.Name, Msg: "not in the weight_map of " + indexPath}
		}
		if shard != filepath.Base(t.File) {
			return &FormatError{File: t.File, Tensor: t.Name, Msg: fmt.Sprintf("the weight_map of %s puts it in %s", indexPath, shard)}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(m.Index.WeightMap)) {
		if _, ok := m.Tensor(name); !ok {
			return &FormatError{File: indexPath, Tensor: name, Msg: fmt.Sprintf("weight_map puts it in shard %s, which does not hold it", m.Index.WeightMap[name])}
		}
	}
	return nil
}

// Tensor returns the tensor of m with the given name.
func (m *Model) Tensor(name string) (*Tensor, bool) {
	return findTensor(m.Tensors, name)
}

// Release is File.Release for a tensor of any shard of m.
func (m *Model) Release(t *Tensor) {
	for _, f := range m.Shards {
		if f.Path == t.File {
			f.Release(t)
			return
		}
	}
}

// Close closes every shard; the tensors' Data must not be read after it.
func (m *Model) Close() error {
	var errs []error
	for _, f := range m.Shards {
		errs = append(errs, f.Close())
	}
	for i := range m.Tensors {
		m.Tensors[i].Data = nil
	}
	return errors.Join(errs...)
}
