// Package testfs holds what the tests of several packages check on disk:
// that a failed or finished write leaves exactly the files it should.
package testfs

import (
	"os"
	"testing"
)

// Names returns the names in dir, sorted, failing t if dir cannot be read.
func Names(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
