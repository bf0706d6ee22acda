package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arrowquant/arrowquant/internal/testfs"
)

func TestNothingAppearsBeforeCommit(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "out.bin")
	f, err := Create(dest, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("hello")
	if _, err := os.Stat(dest); err == nil {
		t.Fatal("the destination exists before Commit")
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dest); string(b) != "hello" {
		t.Fatalf("content %q", b)
	}
	if got := testfs.Names(t, dir); len(got) != 1 {
		t.Fatalf("left behind: %v", got)
	}
	if err := f.Abort(); err != nil {
		t.Fatal("Abort after Commit failed")
	}
}

func TestAbortLeavesTheOldFileAlone(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "out.bin")
	os.WriteFile(dest, []byte("old"), 0o644)
	f, err := Create(dest, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("new")
	f.Abort()
	if b, _ := os.ReadFile(dest); string(b) != "old" {
		t.Fatalf("content %q", b)
	}
	if got := testfs.Names(t, dir); len(got) != 1 {
		t.Fatalf("left behind: %v", got)
	}
}

func TestInputsAndFoldersAreRefused(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.bin")
	os.WriteFile(in, []byte("x"), 0o644)
	link := filepath.Join(dir, "link.bin")
	os.Symlink(in, link)
	tests := []struct {
		name, dest string
		refuse     []string
		want       string
	}{
		{"the input itself", in, []string{in}, "refusing to overwrite the input"},
		{"the input through a symbolic link", link, []string{in}, "refusing to overwrite the input"},
		{"a folder", dir, nil, "is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Create(tt.dest, tt.refuse); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v", err)
			}
		})
	}
	if err := WriteFile(filepath.Join(dir, "ok.bin"), strings.NewReader("y"), []string{in, filepath.Join(dir, "missing")}); err != nil {
		t.Fatal(err)
	}
}
