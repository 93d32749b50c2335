package natsjobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Embedded starts a nats-server inside the process with JetStream and no
// listening socket, and connects to it in process. dir holds the
// JetStream store; "" means a new temporary directory, removed in the
// background once the server has shut down (a process that exits at once
// may leave it behind: pass a directory you remove yourself after
// WaitForShutdown). The caller closes the connection and shuts the
// server down (server.Shutdown, then WaitForShutdown to be sure the
// store is released).
func Embedded(ctx context.Context, dir string) (*server.Server, *nats.Conn, error) {
	temp := dir == ""
	if temp {
		d, err := os.MkdirTemp("", "reconpcap-nats-")
		if err != nil {
			return nil, nil, fmt.Errorf("natsjobs: embedded server: %w", err)
		}
		dir = d
	}
	cleanup := func() {
		if temp {
			_ = os.RemoveAll(dir)
		}
	}
	ns, err := server.NewServer(&server.Options{
		ServerName: "reconpcap-embedded",
		DontListen: true,
		JetStream:  true,
		StoreDir:   dir,
		NoSigs:     true,
		NoLog:      true,
	})
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("natsjobs: embedded server: %w", err)
	}
	go ns.Start()
	if err := waitReady(ctx, ns); err != nil {
		ns.Shutdown()
		ns.WaitForShutdown()
		cleanup()
		return nil, nil, err
	}
	if temp {
		go func() { ns.WaitForShutdown(); cleanup() }()
	}
	nc, err := nats.Connect("", nats.InProcessServer(ns), nats.Name("reconpcap"))
	if err != nil {
		ns.Shutdown()
		return nil, nil, fmt.Errorf("natsjobs: connecting to the embedded server: %w", err)
	}
	return ns, nc, nil
}

// startupWait bounds the wait for the embedded server: it opens its
// store and is ready in well under a second.
const startupWait = 30 * time.Second

// waitReady waits for the server to accept clients, for ctx, or for
// startupWait.
func waitReady(ctx context.Context, ns *server.Server) error {
	deadline := time.Now().Add(startupWait)
	for !ns.ReadyForConnections(100 * time.Millisecond) {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("natsjobs: embedded server not ready: %w", err)
		}
		if time.Now().After(deadline) {
			return errors.New("natsjobs: embedded server not ready after " + startupWait.String())
		}
	}
	return nil
}
