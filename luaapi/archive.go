package luaapi

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"claimsctl/streams/claims"
)

// The JSON-lines archives trim{archive=} writes and import() reads.

// archiveFile appends a trim's entries to an archive page by page, as the
// trim reads them again (a upkeep.Archiver). Until Commit nothing it
// wrote counts: Abort cuts the file back, so it holds whole lines only and
// the trim removes nothing.
type archiveFile struct {
	path    string
	f       *os.File
	size    int64 // the size before this trim
	created bool  // by this trim: Abort removes it
}

// openArchive opens path to append to, creating its folder. An existing
// archive's last entry must come before the first new entry of its stream
// (firsts: stream -> first id), or the file would no longer import in
// order; only that last line is read, however long the archive.
func openArchive(path string, firsts map[string]string) (*archiveFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create the folder of %s: %w", path, err)
	}
	_, err := os.Stat(path)
	created := errors.Is(err, fs.ErrNotExist)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	last, ok, err := claims.LastArchiveEntry(f, info.Size())
	if err == nil && ok {
		err = claims.CheckArchiveAppend(last, firsts)
	}
	if err != nil {
		f.Close()
		var lineErr *claims.ArchiveLineError
		if errors.As(err, &lineErr) {
			return nil, fmt.Errorf("%s exists and is not an archive (choose another file): %w", path, err)
		}
		return nil, fmt.Errorf("%s %w", path, err)
	}
	return &archiveFile{path: path, f: f, size: info.Size(), created: created}, nil
}

func (a *archiveFile) Append(page []claims.ArchiveEntry) error {
	if err := claims.WriteArchive(a.f, page); err != nil {
		return fmt.Errorf("write %s: %w", a.path, err)
	}
	return nil
}

// Commit makes the archive durable before the trim removes anything.
func (a *archiveFile) Commit() error {
	if err := a.f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", a.path, err)
	}
	if err := a.f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", a.path, err)
	}
	return nil
}

// Abort undoes this trim's lines, by path: Commit may have closed the file.
func (a *archiveFile) Abort() {
	_ = a.f.Close()
	if a.created {
		_ = os.Remove(a.path)
		return
	}
	_ = os.Truncate(a.path, a.size)
}
