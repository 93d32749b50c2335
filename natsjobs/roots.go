package natsjobs

import (
	"fmt"
	"path/filepath"
	"strings"
)

// resolveRoots makes each root absolute with its symbolic links resolved,
// so that inRoots compares like with like.
func resolveRoots(roots []string) ([]string, error) {
	out := make([]string, 0, len(roots))
	for _, r := range roots {
		abs, err := absPath(r)
		if err != nil {
			return nil, err
		}
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return nil, fmt.Errorf("natsjobs: worker root: %w", err)
		}
		out = append(out, real)
	}
	return out, nil
}

// inRoots refuses a path outside w.Roots (none means every path is
// allowed). The path is judged after resolving its links, so a link in a
// root that points out of it is outside.
func (w Worker) inRoots(path string) error {
	if len(w.Roots) == 0 {
		return nil
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return err
	}
	for _, r := range w.Roots {
		rel, err := filepath.Rel(r, real)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel) {
			return nil
		}
	}
	return errOutside
}
