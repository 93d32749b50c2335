package natsjobs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// freePorts finds n free loopback ports. They are closed again before
// the servers take them; on loopback nothing else races for them.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// startCluster starts a three-node JetStream cluster on loopback and
// returns the servers once JetStream answers with three replicas.
func startCluster(t *testing.T) []*server.Server {
	t.Helper()
	const size = 3
	ports := freePorts(t, size)
	var routes []*url.URL
	for _, p := range ports {
		routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	var servers []*server.Server
	for i := range size {
		ns, err := server.NewServer(&server.Options{
			ServerName: fmt.Sprintf("n%d", i+1),
			Host:       "127.0.0.1",
			Port:       -1,
			JetStream:  true,
			StoreDir:   t.TempDir(),
			Cluster:    server.ClusterOpts{Name: "reconpcap-test", Host: "127.0.0.1", Port: ports[i]},
			Routes:     routes,
			NoLog:      true,
			NoSigs:     true,
		})
		if err != nil {
			t.Fatal(err)
		}
		go ns.Start()
		servers = append(servers, ns)
		t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	}
	for _, ns := range servers {
		if !ns.ReadyForConnections(10 * time.Second) {
			t.Fatalf("%s not ready", ns.Name())
		}
	}
	return servers
}

func connect(t *testing.T, ns *server.Server) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// TestClusterWorkerDies is issue 15's acceptance test for machines: a
// three-node cluster, stream and buckets with three replicas, two
// workers on different nodes; one worker dies in the middle of a job, its
// node with it, and the job completes on the other with every partial present exactly
// once.
func TestClusterWorkerDies(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	files := splitCapture(t, "exfil_high.pcap", 1500) // 9082 packets: 7 files
	want := truth(t, files)
	servers := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	t0 := time.Now()
	_, jsSubmit := connect(t, servers[2])
	store := StoreOptions{} // automatic: min(3, the servers the connection knows)
	// The meta leader takes a moment to be elected: retry until the
	// stream and buckets exist.
	for {
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := openStore(actx, jsSubmit, store)
		acancel()
		if err == nil {
			for _, name := range []string{StreamName, "KV_" + StateBucket, "OBJ_" + PartialsBucket} {
				s, err := jsSubmit.Stream(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				if r := s.CachedInfo().Config.Replicas; r != 3 {
					t.Fatalf("%s: %d replicas, want 3", name, r)
				}
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("JetStream cluster not ready: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	t.Logf("cluster ready after %v", time.Since(t0))
	// Worker A, on node 1, blocks in its first job until it is killed.
	ncA, jsA := connect(t, servers[0])
	_, jsB := connect(t, servers[1])
	scA, scB := newShardCounter(), newShardCounter()
	inJob := make(chan string, 1)
	scA.block = func(ctx context.Context, path string) error {
		select {
		case inJob <- path:
		default:
		}
		<-ctx.Done()
		return ctx.Err()
	}
	const ackWait = 2 * time.Second
	ctxA, killA := context.WithCancel(ctx)
	doneA := make(chan error, 1)
	go func() { doneA <- Worker{Shard: scA.shard, AckWait: ackWait, Store: store}.Run(ctxA, jsA) }()

	res, err := Submit(ctx, jsSubmit, SubmitOptions{Files: files, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	var held string
	select {
	case held = <-inJob:
	case <-ctx.Done():
		t.Fatal("worker A never started a job")
	}
	// Worker B, on node 2, starts while A holds its job.
	ctxB, stopB := context.WithCancel(ctx)
	var wgB sync.WaitGroup
	wgB.Add(1)
	go func() {
		defer wgB.Done()
		if err := (Worker{Shard: scB.shard, AckWait: ackWait, Store: store}).Run(ctxB, jsB); err != nil {
			t.Errorf("worker B: %v", err)
		}
	}()
	defer func() { stopB(); wgB.Wait() }()

	// A dies: its connection goes first, so it can neither hand the job
	// back nor store anything; only AckWait frees the job.
	killedAt := time.Now()
	ncA.Close()
	killA()
	if err := <-doneA; err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		t.Errorf("worker A: %v", err)
	}
	// And A's node with it: three replicas keep the jobs, partials and
	// markers on the two nodes left, which still make a quorum.
	servers[0].Shutdown()

	got, err := Collect(ctx, jsSubmit, res.Job, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantPartials(t, res.Files, want), asStrings(got)); diff != "" {
		t.Errorf("Collect() mismatch (-want +got):\n%s", diff)
	}
	t.Logf("job done %v after worker A died", time.Since(killedAt))
	if took := time.Since(killedAt); took < ackWait/2 {
		t.Errorf("the held job finished %v after A died, before AckWait could free it", took)
	}
	drained(t, jsSubmit)

	startedA, completedA := scA.counts()
	startedB, completedB := scB.counts()
	if len(completedA) != 0 || len(startedA) != 1 || startedA[held] != 1 {
		t.Errorf("worker A started %v and completed %v; want only %s started", startedA, completedA, held)
	}
	for _, f := range files {
		if completedB[f] != 1 || startedB[f] != 1 {
			t.Errorf("%s: worker B started it %d times and completed it %d times, want once", f, startedB[f], completedB[f])
		}
	}
}
