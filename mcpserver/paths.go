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

// Resolve applies the policy: workingDir (empty: the first root; relative:
// from the first root) must resolve inside a root and be a directory;
// pcapFile (empty: DefaultPcapFile) is taken relative to it unless absolute;
// the result, after symbolic links, must lie inside a root and be a regular
// file. Resolve returns that absolute, symlink-free path, or a *PathError.
// It reads only metadata, never the file.
func (p *PathPolicy) Resolve(workingDir, pcapFile string) (string, error) {
	if p == nil || len(p.roots) == 0 {
		return "", &PathError{Arg: "pcap_file", Path: pcapFile, Rule: ErrOutsideRoots, Detail: "no roots are allowed"}
	}
	wd, err := p.resolveDir(workingDir)
	if err != nil {
		return "", err
	}
	if pcapFile == "" {
		pcapFile = DefaultPcapFile
	}
	if strings.IndexByte(pcapFile, 0) >= 0 {
		return "", &PathError{Arg: "pcap_file", Path: pcapFile, Rule: ErrPathNotFound, Detail: "it contains a NUL byte"}
	}
	path := pcapFile
	if !filepath.IsAbs(path) {
		path = filepath.Join(wd, path)
	}
	path = filepath.Clean(path)
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", p.lookupError("pcap_file", pcapFile, path, err)
	}
	if !p.inside(resolved) {
		return "", &PathError{Arg: "pcap_file", Path: pcapFile, Rule: ErrOutsideRoots}
	}
	st, err := os.Lstat(resolved)
	if err != nil {
		return "", p.lookupError("pcap_file", pcapFile, resolved, err)
	}
	if !st.Mode().IsRegular() {
		return "", &PathError{Arg: "pcap_file", Path: pcapFile, Rule: ErrNotRegularFile, Detail: kind(st.Mode())}
	}
	return resolved, nil
}

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

// lookupError turns a failed lookup into a PathError. A path that does not
// exist and lies outside the roots even before symbolic links is reported
// as outside, so the tools never tell what exists elsewhere.
func (p *PathPolicy) lookupError(arg, given, path string, err error) error {
	if !p.inside(path) {
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

// inside reports whether the clean absolute path lies in a root.
func (p *PathPolicy) inside(path string) bool {
	for _, r := range p.roots {
		rel, err := filepath.Rel(r, path)
		if err != nil {
			continue
		}
		if rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)) {
			return true
		}
	}
	return false
}

// kind names what a file is, in the words capture uses too.
func kind(m fs.FileMode) string { return capture.DescribeMode(m) }
