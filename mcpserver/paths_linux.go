//go:build linux

package mcpserver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// openAt2Retries is how many times an openat2 that the kernel refused
// because of a concurrent rename (EAGAIN) is tried again before the
// slower, equally safe, way is taken.
const openAt2Retries = 4

// open opens the clean absolute path once, and checks the descriptor:
// where it really is (inside a root), what it is (a regular file). The
// file is first opened with O_PATH, which neither reads it nor runs a
// device's or a fifo's open, and only a vetted regular file is then
// reopened for reading through its descriptor, never by name.
//
// The lookup is openat2 with RESOLVE_BENEATH from the root the path lies
// in, so a symbolic link or ".." that leaves the root fails before
// anything outside is touched. Where the kernel has no openat2, or a link
// leaves the root on the way to another root, the kernel follows the
// links and the descriptor's real path, from /proc/self/fd, decides.
func (p *PathPolicy) open(path string) (*os.File, string, error) {
	fd, err := p.openBeneath(path)
	if err != nil && followInstead(err) {
		fd, err = unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, "", &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	self := "/proc/self/fd/" + strconv.Itoa(fd)
	real, err := os.Readlink(self)
	if err != nil {
		return nil, "", fmt.Errorf("cannot tell where the opened file lies (is /proc mounted?): %w", err)
	}
	if !p.inside(filepath.Clean(real)) {
		return nil, "", errEscapes
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, "", &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, "", &notRegularError{mode: fileMode(st.Mode)}
	}
	// O_NONBLOCK: the descriptor is a regular file, but should anything
	// still make it something else, the open must not wait for a writer.
	rfd, err := unix.Open(self, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, "", &os.PathError{Op: "open", Path: path, Err: err}
	}
	var again unix.Stat_t
	if err := unix.Fstat(rfd, &again); err != nil || again.Dev != st.Dev || again.Ino != st.Ino {
		unix.Close(rfd)
		return nil, "", fmt.Errorf("the file changed while it was opened: %w", fs.ErrNotExist)
	}
	return os.NewFile(uintptr(rfd), real), real, nil
}

// openBeneath looks path up with openat2 and RESOLVE_BENEATH from the
// first root it lies in, refusing magic links (/proc/self/fd/...).
func (p *PathPolicy) openBeneath(path string) (int, error) {
	for _, r := range p.roots {
		rel, ok := beneath(r, path)
		if !ok {
			continue
		}
		dir, err := unix.Open(r, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, err
		}
		defer unix.Close(dir)
		how := &unix.OpenHow{
			Flags:   unix.O_PATH | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
		}
		for range openAt2Retries {
			fd, err := unix.Openat2(dir, rel, how)
			if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
				return fd, err
			}
		}
		return -1, unix.EAGAIN
	}
	return -1, unix.EXDEV
}

// followInstead reports whether openBeneath's error asks for the lookup
// that follows every link: EXDEV (a link leaves the root: it may lead to
// another root), no openat2 (ENOSYS, or EPERM from a seccomp filter), a
// lookup raced by renames (EAGAIN). Any other error is the answer.
func followInstead(err error) bool {
	for _, e := range []error{unix.EXDEV, unix.ENOSYS, unix.EPERM, unix.EAGAIN, unix.EINVAL, unix.E2BIG} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// fileMode converts the type bits of a stat mode.
func fileMode(m uint32) fs.FileMode {
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	case unix.S_IFLNK:
		return fs.ModeSymlink
	}
	return fs.ModeIrregular
}

// fileIdentity names one version of one file from its stat: device and
// inode say which file, size and times which version. The change time
// cannot be set from user space, so a file rewritten with its size and
// modification time restored is still a new version.
func fileIdentity(fi fs.FileInfo) fileID {
	id := fileID{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.dev, id.ino, id.ctime = st.Dev, st.Ino, st.Ctim.Nano()
	}
	return id
}
