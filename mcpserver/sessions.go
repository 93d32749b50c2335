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
// A slot is reserved by the handler before an initialize request reaches
// mcp-go and released after it returns; while both the reservation and
// the session it made are counted the table errs on the side of refusing,
// so the cap holds under concurrent initialize calls.
type sessionTable struct {
	max int

	mu       sync.Mutex
	live     map[string]struct{}
	reserved int
}

func newSessionTable(max int) *sessionTable {
	return &sessionTable{max: max, live: make(map[string]struct{})}
}

var _ server.SessionIdManager = (*sessionTable)(nil)

// reserve takes a slot for an initialize request, or reports that the
// table is full.
func (t *sessionTable) reserve() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.live)+t.reserved >= t.max {
		return false
	}
	t.reserved++
	return true
}

// release gives back a reservation, used or not.
func (t *sessionTable) release() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.reserved > 0 {
		t.reserved--
	}
}

// Generate makes a new session id. Its slot was reserved by the handler
// (mcp-go calls Generate only for an initialize request).
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
