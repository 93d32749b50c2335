package mcpserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// stdioMaxInFlight bounds the requests one stdio client has running at
// once; the next line is not read until one finishes, so a client that
// floods the pipe waits instead of growing the server.
const stdioMaxInFlight = 8

// stdioShutdownGrace is how long ServeStdio waits, once ctx is cancelled,
// for handlers to notice. It is short: a SIGTERM must end the process
// within a second, and every handler honours its context anyway.
const stdioShutdownGrace = 300 * time.Millisecond

// stdioSessions numbers stdio sessions, so several can be served by one
// process (mcp-go's own stdio server shares one global session).
var stdioSessions atomic.Int64

// ServeStdio serves one client over newline-delimited JSON-RPC on in and
// out. Nothing but protocol messages is written to out: logs go to the
// configured Logger.
//
// When in ends, the requests already read are finished and their replies
// written before ServeStdio returns nil: a client may close its end right
// after a tools/call. When ctx is cancelled, ServeStdio returns within a
// fraction of a second even if nobody reads out: running calls are
// cancelled and replies that cannot be written are dropped. A line longer
// than Transport.MaxMessageBytes is answered with an error and skipped.
func (s *Server) ServeStdio(ctx context.Context, in io.Reader, out io.Writer) error {
	if err := ctx.Err(); err != nil {
		return nil
	}
	sess := &stdioSession{
		id:            fmt.Sprintf("stdio-%d", stdioSessions.Add(1)),
		notifications: make(chan mcp.JSONRPCNotification, 16),
	}
	if err := s.mcp.RegisterSession(ctx, sess); err != nil {
		return fmt.Errorf("mcpserver: %w", err)
	}
	defer s.mcp.UnregisterSession(context.WithoutCancel(ctx), sess.id)

	w := newStdioWriter(out, ctx.Done())
	reqCtx, cancelRequests := context.WithCancel(s.mcp.WithContext(ctx, sess))
	defer cancelRequests()

	// Notifications the server sends on its own (none today, but mcp-go
	// may) go out through the same writer.
	notifyDone := make(chan struct{})
	go func() {
		defer close(notifyDone)
		for {
			select {
			case n := <-sess.notifications:
				if b, err := json.Marshal(n); err == nil {
					w.send(b)
				}
			case <-reqCtx.Done():
				return
			}
		}
	}()

	lines := make(chan stdioLine)
	go readStdioLines(in, s.cfg.Transport.MaxMessageBytes, lines, ctx.Done())

	var handlers sync.WaitGroup
	slots := make(chan struct{}, stdioMaxInFlight)
	var readErr error
read:
	for {
		var line stdioLine
		select {
		case line = <-lines:
		case <-ctx.Done():
			break read
		}
		switch {
		case line.err != nil:
			if !errors.Is(line.err, io.EOF) {
				readErr = fmt.Errorf("mcpserver: reading stdin: %w", line.err)
			}
			break read
		case line.tooLong > 0:
			w.send(tooLongReply(line.tooLong, s.cfg.Transport.MaxMessageBytes))
			continue
		}
		msg := bytes.TrimSpace(line.data)
		if len(msg) == 0 {
			continue
		}
		if !concurrent(msg) {
			// Notifications keep their order; initialize is answered
			// before anything that follows it is looked at.
			s.answer(reqCtx, msg, w)
			continue
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			break read
		}
		handlers.Add(1)
		go func() {
			defer handlers.Done()
			defer func() { <-slots }()
			s.answer(reqCtx, msg, w)
		}()
	}

	if ctx.Err() != nil {
		// Shutting down: cancel the calls, give them a moment, and go
		// whether or not anyone reads their replies.
		cancelRequests()
		waitTimeout(&handlers, stdioShutdownGrace)
		return nil
	}
	// The input ended: finish what was asked, write every reply, then
	// return. ctx still cuts this short.
	drained := make(chan struct{})
	go func() { handlers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-ctx.Done():
		cancelRequests()
		waitTimeout(&handlers, stdioShutdownGrace)
		return nil
	}
	cancelRequests()
	<-notifyDone
	w.close()
	return readErr
}

// answer handles one message and writes its reply, if it has one.
func (s *Server) answer(ctx context.Context, msg []byte, w *stdioWriter) {
	resp := s.handleMessage(ctx, msg)
	if resp == nil {
		return
	}
	b, err := json.Marshal(resp)
	if err != nil {
		s.log.Error("stdio: encoding a reply", "err", err)
		return
	}
	if err := w.send(b); err != nil {
		s.log.Debug("stdio: reply dropped", "err", err)
	}
}

// handleMessage is MCPServer.HandleMessage with a panic turned into an
// internal error, so one bad call cannot end the server.
func (s *Server) handleMessage(ctx context.Context, msg []byte) (resp mcp.JSONRPCMessage) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("stdio: handler panicked", "panic", r)
			resp = mcp.NewJSONRPCError(requestID(msg), mcp.INTERNAL_ERROR, "internal error", nil)
		}
	}()
	return s.mcp.HandleMessage(ctx, msg)
}

// concurrent reports whether msg is a request other than initialize, one
// that may run alongside others.
func concurrent(msg []byte) bool {
	var head struct {
		Method string `json:"method"`
		ID     any    `json:"id"`
	}
	if json.Unmarshal(msg, &head) != nil {
		return false
	}
	return head.ID != nil && head.Method != "" && head.Method != string(mcp.MethodInitialize)
}

// requestID is the JSON-RPC id of msg, or the null id.
func requestID(msg []byte) mcp.RequestId {
	var head struct {
		ID mcp.RequestId `json:"id"`
	}
	_ = json.Unmarshal(msg, &head)
	return head.ID
}

// tooLongReply is the error answering a line over the size bound: its id
// is unknown, since the line was not kept.
func tooLongReply(n int, limit int64) []byte {
	b, _ := json.Marshal(mcp.NewJSONRPCError(mcp.NewRequestId(nil), mcp.INVALID_REQUEST,
		fmt.Sprintf("message of %d bytes exceeds the limit of %d bytes", n, limit), nil))
	return b
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// stdioLine is one line of input, a read error, or the length seen of a
// line that was too long (its bytes are discarded).
type stdioLine struct {
	data    []byte
	tooLong int
	err     error
}

// readStdioLines reads newline-delimited lines of at most limit bytes
// from in and hands them over until in ends or stop is closed. It runs on
// its own goroutine because a read from a pipe cannot be cancelled: on
// shutdown it is left blocked and ends with the process (or the pipe).
func readStdioLines(in io.Reader, limit int64, out chan<- stdioLine, stop <-chan struct{}) {
	r := bufio.NewReaderSize(in, 64<<10)
	deliver := func(l stdioLine) bool {
		select {
		case out <- l:
			return true
		case <-stop:
			return false
		}
	}
	for {
		var buf []byte
		over := 0
		for {
			chunk, err := r.ReadSlice('\n')
			switch {
			case over > 0 || int64(len(buf)+len(chunk)) > limit:
				over += len(buf) + len(chunk)
				buf = nil
			default:
				buf = append(buf, chunk...)
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if over > 0 {
				if !deliver(stdioLine{tooLong: over}) {
					return
				}
			} else if len(buf) > 0 {
				if !deliver(stdioLine{data: buf}) {
					return
				}
			}
			if err != nil {
				deliver(stdioLine{err: err})
				return
			}
			break
		}
	}
}

// stdioWriter serialises replies onto out from one goroutine, so a
// client that stops reading blocks that goroutine only: send gives up
// when stop is closed, and the server can return. msgs is closed only once
// no sender is left (the input ended and every call was answered); on stop
// it is left open and the goroutine ends by itself, unless it is stuck in
// a write nobody reads, which only ending the process (or out) releases.
type stdioWriter struct {
	msgs chan []byte
	stop <-chan struct{}
	done chan struct{}
}

// errStdoutClosed is what send returns once the server is shutting down
// or out has failed.
var errStdoutClosed = errors.New("mcpserver: stdout closed")

func newStdioWriter(out io.Writer, stop <-chan struct{}) *stdioWriter {
	w := &stdioWriter{msgs: make(chan []byte), stop: stop, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		failed := false
		for {
			var b []byte
			select {
			case m, ok := <-w.msgs:
				if !ok {
					return
				}
				b = m
			case <-stop:
				return
			}
			if failed {
				continue
			}
			if _, err := out.Write(append(b, '\n')); err != nil {
				failed = true
			}
		}
	}()
	return w
}

// send queues one message (without its newline) for writing.
func (w *stdioWriter) send(b []byte) error {
	select {
	case <-w.stop:
		return errStdoutClosed
	default:
	}
	select {
	case w.msgs <- b:
		return nil
	case <-w.stop:
		return errStdoutClosed
	}
}

// close waits until every message sent has been written, or stop.
func (w *stdioWriter) close() {
	close(w.msgs)
	select {
	case <-w.done:
	case <-w.stop:
	}
}

// stdioSession is the one client of a stdio connection.
type stdioSession struct {
	id            string
	notifications chan mcp.JSONRPCNotification
	initialized   atomic.Bool
}

func (s *stdioSession) SessionID() string { return s.id }
func (s *stdioSession) NotificationChannel() chan<- mcp.JSONRPCNotification {
	return s.notifications
}
func (s *stdioSession) Initialize()       { s.initialized.Store(true) }
func (s *stdioSession) Initialized() bool { return s.initialized.Load() }

var _ server.ClientSession = (*stdioSession)(nil)
