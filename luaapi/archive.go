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

// appendArchive adds entries to a JSON-lines archive, creating its folder.
// An existing archive must end before these entries begin, or the file
// would no longer import in order. A failed write is cut back off, so the
// file holds whole lines only and the trim removes nothing.
func appendArchive(path string, entries []claims.ArchiveEntry) error {
	if len(entries) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create the folder of %s: %w", path, err)
	}
	existing, err := readArchiveFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("%s exists and is not an archive (choose another file): %w", path, err)
	case len(existing) > 0:
		if last := existing[len(existing)-1].ID; claims.CompareIDs(last, entries[0].ID) >= 0 {
			return fmt.Errorf("%s already holds entries up to %s, not older than %s (choose another file)", path, last, entries[0].ID)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat %s: %w", path, err)
	}
	err = claims.WriteArchive(f, entries)
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		_ = f.Truncate(info.Size())
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func readArchiveFile(path string) ([]claims.ArchiveEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return claims.ReadArchive(f)
}
