//go:build !linux

package mcpserver

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// open opens the clean absolute path once and checks the descriptor. This
// portable version resolves the links by name first, so it is weaker than
// the Linux one: a directory on the way swapped for a link between the
// resolution and the open can still redirect the open, though the checks
// on the descriptor (a regular file, the very file the resolution found)
// still hold.
func (p *PathPolicy) open(path string) (*os.File, string, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, "", err
	}
	if !p.inside(real) {
		return nil, "", errEscapes
	}
	before, err := os.Lstat(real)
	if err != nil {
		return nil, "", err
	}
	if !before.Mode().IsRegular() {
		return nil, "", &notRegularError{mode: before.Mode()}
	}
	f, err := os.Open(real)
	if err != nil {
		return nil, "", err
	}
	st, err := f.Stat()
	if err != nil || !os.SameFile(before, st) {
		f.Close()
		return nil, "", fmt.Errorf("the file changed while it was opened: %w", fs.ErrNotExist)
	}
	return f, real, nil
}

// fileIdentity names one version of one file from its stat where the
// platform offers no inode in a portable form: the caller adds the name.
func fileIdentity(fi fs.FileInfo) fileID {
	return fileID{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
}
