package main

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
)

// labScripts are the lab's scripts (steps, lib, consumers, exercises), so
// an installed claimsctl runs the lab from any folder.
//
//go:embed scripts
var labScripts embed.FS

// unpadded is a step named without its leading zero (scripts/step7.lua,
// the name the lab's text uses, for the file scripts/step07.lua).
var unpadded = regexp.MustCompile(`(^|/)step([1-9])\.lua$`)

// labPath is the file or folder to use for path. One on disk wins (an
// instructor's edit counts), also under its zero-padded step name; else
// the copy built into claimsctl, unpacked under cache, when path names
// one of the lab's scripts. builtin tells which; a path found nowhere is
// returned as given, for the caller's "cannot read".
func labPath(cache, path string) (resolved string, builtin bool, err error) {
	candidates := []string{path}
	if alt := unpadded.ReplaceAllString(path, "${1}step0${2}.lua"); alt != path {
		candidates = append(candidates, alt)
	}
	for _, p := range candidates {
		if _, err := os.Stat(p); err == nil {
			return p, false, nil
		}
	}
	for _, p := range candidates {
		rel := filepath.ToSlash(filepath.Clean(p))
		if _, err := fs.Stat(labScripts, rel); err != nil {
			continue
		}
		dir, err := unpackScripts(cache)
		if err != nil {
			return "", false, fmt.Errorf("the lab's scripts built into claimsctl: %w", err)
		}
		return filepath.Join(dir, filepath.FromSlash(rel)), true, nil
	}
	return path, false, nil
}

// unpackScripts writes the built-in scripts once per content under
// cache/claimsctl/scripts-HASH (the Lua runtime, require and child
// processes read files) and returns that folder. A folder being written
// is renamed into place only once whole, so a concurrent claimsctl never
// reads half of it.
func unpackScripts(cache string) (string, error) {
	if cache == "" {
		cache = os.TempDir()
	}
	sum := sha256.New()
	err := fs.WalkDir(labScripts, "scripts", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := labScripts.ReadFile(p)
		fmt.Fprintf(sum, "%s\x00%d\x00", p, len(b))
		sum.Write(b)
		return err
	})
	if err != nil {
		return "", err
	}
	parent := filepath.Join(cache, "claimsctl")
	dir := filepath.Join(parent, "scripts-"+hex.EncodeToString(sum.Sum(nil))[:12])
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(parent, ".unpacking-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	err = fs.WalkDir(labScripts, "scripts", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(tmp, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := labScripts.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		return "", err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(dir); statErr == nil {
			return dir, nil // another claimsctl got there first
		}
		return "", err
	}
	return dir, nil
}
