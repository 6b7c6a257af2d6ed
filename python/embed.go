// Package python ships rollbench's Python package, the code that must run
// inside the embedded interpreter, inside the Go binary, so the binary works
// from any directory.
package python

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

//go:embed rollbench/*.py rollbench/corpus.txt
var sources embed.FS

// Digest identifies the shipped sources; anything generated from them (the
// tiny model) is cached under it.
func Digest() string {
	h := sha256.New()
	_ = fs.WalkDir(sources, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := sources.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(data))
		h.Write(data)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Install writes the sources below cacheDir, once per version, and returns
// the directory to put on sys.path.
func Install(cacheDir string) (string, error) {
	root := filepath.Join(cacheDir, "python-"+Digest())
	if _, err := os.Stat(filepath.Join(root, ".complete")); err == nil {
		return root, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("install python sources: %w", err)
	}
	tmp, err := os.MkdirTemp(cacheDir, ".python-*")
	if err != nil {
		return "", fmt.Errorf("install python sources: %w", err)
	}
	defer os.RemoveAll(tmp)
	err = fs.WalkDir(sources, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(tmp, path), 0o755)
		}
		data, err := sources.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(tmp, path), data, 0o644)
	})
	if err == nil {
		err = os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, root)
		// Another process may have installed the same version meanwhile.
		if _, statErr := os.Stat(filepath.Join(root, ".complete")); statErr == nil {
			err = nil
		}
	}
	if err != nil {
		return "", fmt.Errorf("install python sources: %w", err)
	}
	return root, nil
}
