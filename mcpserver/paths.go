package mcpserver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/textsafe"
)

// DefaultPcapFile is the capture a tool reads when pcap_file is not given,
// as in the Python ReconAgentPcap.
const DefaultPcapFile = "traffic.pcap"

// The rules a path can break. Every *PathError wraps one of them, so callers
// check with errors.Is(err, mcpserver.ErrOutsideRoots).
var (
	// ErrOutsideRoots: the path, after symbolic links, is not inside any
	// allowed root.
	ErrOutsideRoots = errors.New("resolves outside the allowed roots")
	// ErrNotRegularFile: the path is a directory, a device, a fifo or a socket.
	ErrNotRegularFile = errors.New("is not a regular file")
	// ErrPathNotFound: nothing exists at the path.
	ErrPathNotFound = errors.New("does not exist")
	// ErrPathPermission: the path cannot be inspected by this process.
	ErrPathPermission = errors.New("cannot be accessed (permission denied)")
	// ErrNotDirectory: working_dir is not a directory.
	ErrNotDirectory = errors.New("is not a directory")
)

// PathError says which argument broke which rule of the PathPolicy. Its
// message is written for the model: "pcap_file ../../etc/passwd resolves
// outside the allowed roots".
type PathError struct {
	Arg  string // the argument: "pcap_file" or "working_dir"
	Path string // the path as given
	Rule error  // one of the Err* rules above
	// Detail adds what the path turned out to be ("a directory"), if known.
	Detail string
}

func (e *PathError) Error() string {
	msg := fmt.Sprintf("%s %q %v", e.Arg, textsafe.Escape(e.Path, DefaultStringMax), e.Rule)
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

// Unwrap lets errors.Is match the rule.
func (e *PathError) Unwrap() error { return e.Rule }

// PathPolicy decides which files the tools may read: a capture path must
// resolve, after every symbolic link, inside one of the allowed roots (also
// symlink-resolved), and be a regular file. The zero value allows nothing;
// build one with NewPathPolicy. A PathPolicy is immutable and safe for
// concurrent use.
type PathPolicy struct {
	roots []string // absolute, symlinks resolved, cleaned
}

// NewPathPolicy returns a policy allowing the given directories. Each root
// must exist and be a directory; relative roots are taken from the current
// working directory. With no roots at all, the current working directory is
// the one root. The first root is where a relative working_dir, or an empty
// one, starts.
func NewPathPolicy(roots ...string) (*PathPolicy, error) {
	if len(roots) == 0 {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("mcpserver: no roots given and the working directory is unknown: %w", err)
		}
		roots = []string{wd}
	}
	p := &PathPolicy{}
	for _, r := range roots {
		if r == "" {
			return nil, errors.New("mcpserver: an allowed root is the empty string")
		}
		abs, err := filepath.Abs(r)
		if err != nil {
			return nil, fmt.Errorf("mcpserver: root %s: %w", r, err)
		}
		resolved, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return nil, fmt.Errorf("mcpserver: root %s: %w", r, err)
		}
		st, err := os.Stat(resolved)
		if err != nil {
			return nil, fmt.Errorf("mcpserver: root %s: %w", r, err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("mcpserver: root %s is not a directory", r)
		}
		p.roots = append(p.roots, filepath.Clean(resolved))
	}
	return p, nil
}

// Roots returns the allowed roots, absolute and symlink-resolved.
func (p *PathPolicy) Roots() []string { return append([]string(nil), p.roots...) }

// Resolve applies the policy and returns the capture's absolute,
// symlink-free path, or a *PathError: it is Open with the file closed
// again. A caller that goes on to read the file should use Open and read
// the descriptor, for the name may point elsewhere by then.
func (p *PathPolicy) Resolve(workingDir, pcapFile string) (string, error) {
	f, path, err := p.Open(workingDir, pcapFile)
	if err != nil {
		return "", err
	}
	f.Close()
	return path, nil
}

// Open applies the policy and opens the capture once: workingDir (empty:
// the first root; relative: from the first root) must resolve inside a
// root and be a directory; pcapFile (empty: DefaultPcapFile) is taken
// relative to it unless absolute. The open descriptor itself is checked:
// it must be a regular file, and its real path must lie inside a root. Open
// returns the file, opened for reading and never blocking (a fifo is
// refused before it is opened for reading), with its absolute,
// symlink-free path; the caller closes the file. Every problem is a
// *PathError; a path that leaves the roots is ErrOutsideRoots whether or
// not anything exists where it leads.
func (p *PathPolicy) Open(workingDir, pcapFile string) (*os.File, string, error) {
	if p == nil || len(p.roots) == 0 {
		return nil, "", &PathError{Arg: "pcap_file", Path: pcapFile, Rule: ErrOutsideRoots, Detail: "no roots are allowed"}
	}
	wd, err := p.resolveDir(workingDir)
	if err != nil {
		return nil, "", err
	}
	if pcapFile == "" {
		pcapFile = DefaultPcapFile
	}
	if strings.IndexByte(pcapFile, 0) >= 0 {
		return nil, "", &PathError{Arg: "pcap_file", Path: pcapFile, Rule: ErrPathNotFound, Detail: "it contains a NUL byte"}
	}
	path := pcapFile
	if !filepath.IsAbs(path) {
		path = filepath.Join(wd, path)
	}
	path = filepath.Clean(path)
	f, real, err := p.open(path)
	var nr *notRegularError
	switch {
	case errors.Is(err, errEscapes):
		return nil, "", &PathError{Arg: "pcap_file", Path: pcapFile, Rule: ErrOutsideRoots}
	case errors.As(err, &nr):
		return nil, "", &PathError{Arg: "pcap_file", Path: pcapFile, Rule: ErrNotRegularFile, Detail: kind(nr.mode)}
	case err != nil:
		return nil, "", p.lookupError("pcap_file", pcapFile, path, err)
	}
	return f, real, nil
}

// errEscapes is open's answer for a file whose real path is outside every
// root.
var errEscapes = errors.New("outside the roots")

// notRegularError is open's answer for a descriptor that is not a regular
// file.
type notRegularError struct{ mode fs.FileMode }

func (e *notRegularError) Error() string { return kind(e.mode) }

// resolveDir applies the policy to working_dir.
func (p *PathPolicy) resolveDir(dir string) (string, error) {
	if dir == "" {
		return p.roots[0], nil
	}
	path := dir
	if !filepath.IsAbs(path) {
		path = filepath.Join(p.roots[0], path)
	}
	path = filepath.Clean(path)
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", p.lookupError("working_dir", dir, path, err)
	}
	if !p.inside(resolved) {
		return "", &PathError{Arg: "working_dir", Path: dir, Rule: ErrOutsideRoots}
	}
	st, err := os.Stat(resolved)
	if err != nil {
		return "", p.lookupError("working_dir", dir, resolved, err)
	}
	if !st.IsDir() {
		return "", &PathError{Arg: "working_dir", Path: dir, Rule: ErrNotDirectory, Detail: kind(st.Mode())}
	}
	return resolved, nil
}

// lookupError turns a failed lookup into a PathError. A path that leads
// outside the roots before it fails is reported as outside, so the tools
// never tell what exists elsewhere: "link-to-etc/passwd" and
// "link-to-etc/nonexistent" get the same answer.
func (p *PathPolicy) lookupError(arg, given, path string, err error) error {
	if !p.inside(reach(path)) {
		return &PathError{Arg: arg, Path: given, Rule: ErrOutsideRoots}
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &PathError{Arg: arg, Path: given, Rule: ErrPathNotFound}
	case errors.Is(err, fs.ErrPermission):
		return &PathError{Arg: arg, Path: given, Rule: ErrPathPermission}
	}
	// ENOTDIR (a file used as a directory), a symlink loop, ...
	var pe *fs.PathError
	detail := err.Error()
	if errors.As(err, &pe) {
		detail = pe.Err.Error()
	}
	return &PathError{Arg: arg, Path: given, Rule: ErrPathNotFound, Detail: detail}
}

// maxLinks bounds the symbolic links reach follows, as the kernel does.
const maxLinks = 40

// reach follows the clean absolute path as a lookup would, symbolic links
// included, as far as it exists, and returns the real path of the point
// where the lookup stopped (the first missing component, a loop). It only
// chooses which error to give; the open descriptor decides access.
func reach(path string) string {
	sep := string(filepath.Separator)
	vol := filepath.VolumeName(path)
	cur := vol + sep
	rest := strings.Split(strings.TrimPrefix(path[len(vol):], sep), sep)
	for links := 0; len(rest) > 0; {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, c)
		st, err := os.Lstat(next)
		if err != nil {
			return next
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		target, err := os.Readlink(next)
		if links++; err != nil || links > maxLinks {
			return next
		}
		if filepath.IsAbs(target) {
			vol = filepath.VolumeName(target)
			cur = vol + sep
			target = target[len(vol):]
		}
		rest = append(strings.Split(target, sep), rest...)
	}
	return cur
}

// beneath returns path relative to root when it lies inside it, by its
// name alone.
func beneath(root, path string) (string, bool) {
	rel, err := filepath.Rel(root, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", false
	}
	return rel, true
}

// inside reports whether the clean absolute path lies in a root.
func (p *PathPolicy) inside(path string) bool {
	for _, r := range p.roots {
		if _, ok := beneath(r, path); ok {
			return true
		}
	}
	return false
}

// kind names what a file is, in the words capture uses too.
func kind(m fs.FileMode) string { return capture.DescribeMode(m) }
