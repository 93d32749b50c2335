package mcpserver

import (
	"crypto/rand"
	"errors"
	"sync"

	"github.com/mark3labs/mcp-go/server"
)

// errUnknownSession is what Validate and Terminate answer for an id the
// table does not hold: mcp-go turns it into 404 for a POST, and the
// handler answers 404 itself for a DELETE.
var errUnknownSession = errors.New("mcpserver: unknown session")

// sessionTable is the streamable HTTP transport's session id manager: it
// knows every live session, so an unknown id is refused, and it caps how
// many there are. mcp-go's idle sweeper ends a session through Terminate,
// which is also how a DELETE ends one.
//
// Initialize requests are served one at a time (see admit), so the cap is
// exact however many arrive together; they are cheap, and their bodies are
// read before the turn is taken.
type sessionTable struct {
	max int

	initMu sync.Mutex // held while an initialize request is served
	mu     sync.Mutex
	live   map[string]struct{}
}

func newSessionTable(max int) *sessionTable {
	return &sessionTable{max: max, live: make(map[string]struct{})}
}

var _ server.SessionIdManager = (*sessionTable)(nil)

// admit serves an initialize request through serve unless the table is
// full, and reports whether it did.
func (t *sessionTable) admit(serve func()) bool {
	t.initMu.Lock()
	defer t.initMu.Unlock()
	if t.len() >= t.max {
		return false
	}
	serve()
	return true
}

// Generate makes a new session id. mcp-go calls it only for an
// initialize request, which admit let through.
func (t *sessionTable) Generate() string {
	id := "mcp-session-" + rand.Text()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.live[id] = struct{}{}
	return id
}

// Validate accepts only a live session.
func (t *sessionTable) Validate(id string) (isTerminated bool, err error) {
	if !t.known(id) {
		return false, errUnknownSession
	}
	return false, nil
}

// Terminate ends a session: by DELETE, or by the idle sweeper.
func (t *sessionTable) Terminate(id string) (isNotAllowed bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.live[id]; !ok {
		return false, errUnknownSession
	}
	delete(t.live, id)
	return false, nil
}

func (t *sessionTable) known(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.live[id]
	return ok
}

// len is the number of live sessions.
func (t *sessionTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.live)
}
