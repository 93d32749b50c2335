package agent

import (
	"errors"
	"path/filepath"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/mcpserver"
)

func joinClean(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

// checkTarget refuses, before any analyst runs, a capture the server
// would refuse or that is not a capture. With the server in process its
// PathPolicy decides first, as it will for every tool call: a capture
// outside the roots is ErrOutsideRoot without a byte of it read (a header
// check would tell whether a file outside is a capture), and the header
// is read from the descriptor the policy opened. A server in a subprocess
// applies its own policy, whose tool errors say the same (outsideRoot).
func (a *ReconAgentPcap) checkTarget() error {
	if a.server == nil {
		return checkCapture(a.pcapPath)
	}
	f, _, err := a.server.Policy().Open(a.workingDir, a.pcapPath)
	switch {
	case errors.Is(err, mcpserver.ErrOutsideRoots):
		return &kindError{kind: ErrOutsideRoot, err: err}
	case err != nil:
		// Missing, not a regular file, unreadable, inside the roots: the
		// capture package says which, in the errors callers match.
		return checkCapture(a.pcapPath)
	}
	defer f.Close()
	if _, err := capture.CheckFile(f, a.pcapPath); err != nil {
		return captureError(err)
	}
	return nil
}
