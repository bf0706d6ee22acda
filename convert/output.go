package convert

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/arrowquant/arrowquant/safetensors"
)

// output writes one safetensors file per source shard, atomically as a
// whole: a single-file model gives a single file at dest; a folder model
// gives a folder with the same shard names and a fresh
// model.safetensors.index.json, built beside dest and moved into place by
// commit.
type output struct {
	dest    string
	model   *safetensors.Model
	tmpDir  string                         // the folder being built, for a sharded output
	writers map[string]*safetensors.Writer // by shard base name
	done    bool
}

// openOutput creates a writer per shard of m with the planned tensors of
// that shard and the metadata meta returns for it.
func openOutput(dest string, m *safetensors.Model, plans map[string][]safetensors.PlannedTensor,
	meta func(*safetensors.File) (map[string]string, error)) (*output, error) {
	o := &output{dest: dest, model: m, writers: map[string]*safetensors.Writer{}}
	var inputs []string
	for _, f := range m.Shards {
		inputs = append(inputs, f.Path)
	}
	if o.sharded() {
		if same(dest, m.Path) {
			return nil, fmt.Errorf("%s: the output would replace the input model", dest)
		}
		if st, err := os.Stat(dest); err == nil && !st.IsDir() {
			return nil, fmt.Errorf("%s: a sharded model is written to a folder, and this is a file", dest)
		}
		tmp, err := os.MkdirTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".tmp-")
		if err != nil {
			return nil, err
		}
		o.tmpDir = tmp
	}
	for _, f := range m.Shards {
		shard := filepath.Base(f.Path)
		path := dest
		if o.tmpDir != "" {
			path = filepath.Join(o.tmpDir, shard)
		}
		md, err := meta(f)
		if err != nil {
			o.abort()
			return nil, err
		}
		w, err := safetensors.Create(path, md, plans[shard], &safetensors.CreateOptions{Refuse: inputs})
		if err != nil {
			o.abort()
			return nil, err
		}
		o.writers[shard] = w
	}
	return o, nil
}

func (o *output) sharded() bool { return o.model.Index != nil || len(o.model.Shards) > 1 }

// commit finishes every shard, with the metadata meta now returns for it,
// writes the index of a sharded output and moves it into place.
func (o *output) commit(meta func(*safetensors.File) (map[string]string, error)) error {
	if o.done {
		return errors.New("convert: output already finished")
	}
	weightMap := map[string]string{}
	for _, f := range o.model.Shards {
		shard := filepath.Base(f.Path)
		md, err := meta(f)
		if err != nil {
			return err
		}
		w := o.writers[shard]
		if err := w.SetMetadata(md); err != nil {
			return err
		}
		for _, name := range w.Written() {
			weightMap[name] = shard
		}
		if err := w.Commit(); err != nil {
			return err
		}
	}
	if o.tmpDir != "" {
		var total int64
		for shard := range o.writers {
			st, err := os.Stat(filepath.Join(o.tmpDir, shard))
			if err != nil {
				return err
			}
			total += st.Size()
		}
		indexMeta := map[string]any{}
		if idx := o.model.Index; idx != nil {
			for k, v := range idx.Metadata {
				indexMeta[k] = v
			}
		}
		indexMeta["total_size"] = total
		if err := safetensors.WriteIndex(o.tmpDir, indexMeta, weightMap); err != nil {
			return err
		}
		if err := replaceDir(o.tmpDir, o.dest); err != nil {
			return err
		}
	}
	o.done = true
	return nil
}

func (o *output) abort() error {
	if o.done {
		return nil
	}
	var errs []error
	for _, w := range o.writers {
		errs = append(errs, w.Abort())
	}
	if o.tmpDir != "" {
		errs = append(errs, os.RemoveAll(o.tmpDir))
	}
	o.done = true
	return errors.Join(errs...)
}

// Size returns the bytes at dest: the file, or the files of the folder.
func Size(dest string) (int64, error) {
	st, err := os.Stat(dest)
	if err != nil {
		return 0, err
	}
	if !st.IsDir() {
		return st.Size(), nil
	}
	entries, err := os.ReadDir(dest)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			total += info.Size()
		}
	}
	return total, nil
}

// replaceDir moves the finished folder tmp to dest, replacing an older
// output folder there.
func replaceDir(tmp, dest string) error {
	if _, err := os.Stat(dest); err == nil {
		old := tmp + ".old"
		if err := os.Rename(dest, old); err != nil {
			return err
		}
		if err := os.Rename(tmp, dest); err != nil {
			return errors.Join(err, os.Rename(old, dest))
		}
		return os.RemoveAll(old)
	}
	return os.Rename(tmp, dest)
}

func same(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}
