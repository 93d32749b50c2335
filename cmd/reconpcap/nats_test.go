package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/natsjobs"
)

func TestNATSCommandsUsage(t *testing.T) {
	pcap := "../../testdata/benign_browse.pcap"
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"submit", "--nats", "nats://127.0.0.1:1"}, "got none"},
		{[]string{"submit", "--job", "a.b", pcap}, "job ID"},
		{[]string{"submit", "--subject", "sensors.a", pcap}, "subject"},
		{[]string{"submit", "--subject", "jobs.>", pcap}, "not a wildcard"},
		{[]string{"submit", "-", pcap}, "standard input"},
		{[]string{"submit", "--tls-cert", "c.pem", pcap}, "needs its key"},
		{[]string{"submit", "--password", "p", pcap}, "needs a user"},
		{[]string{"worker", pcap}, "no arguments"},
		{[]string{"worker", "--parallel", "0"}, "--parallel"},
		{[]string{"worker", "--max-deliver", "0"}, "--max-deliver"},
		{[]string{"worker", "--subject", "jobs..x"}, "empty token"},
		{[]string{"worker", "--port-scan-threshold", "-1"}, "PortScan.Threshold"},
		{[]string{"worker", "--replicas", "7"}, "--replicas"},
		{[]string{"merge"}, "needs --job"},
		{[]string{"merge", "--job", "x", pcap}, "no file arguments"},
		{[]string{"merge", "--job", "x", "--format", "xml"}, "--format"},
		{[]string{"merge", "--job", "x*"}, "job ID"},
		{[]string{"merge", "--job", "x", "--timeout", "-1s"}, "positive"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), tt.args, nil, &out, &errb)
			var u *usageError
			if !errors.As(err, &u) {
				t.Fatalf("error = %v, want a usage error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to say %q", err, tt.want)
			}
		})
	}
}

// natsServer starts a JetStream server on a loopback port, with a user
// and password, for one test.
func natsServer(t *testing.T) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		Username: "sensor", Password: "s3cret", NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns
}

func splitWithEditcap(t *testing.T, name string, per string) []string {
	t.Helper()
	if _, err := exec.LookPath("editcap"); err != nil {
		t.Skip("editcap not installed")
	}
	dir := t.TempDir()
	if b, err := exec.Command("editcap", "-c", per, filepath.Join("../../testdata", name), filepath.Join(dir, "part.pcap")).CombinedOutput(); err != nil {
		t.Fatalf("editcap: %v: %s", err, b)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "part_*.pcap"))
	if len(files) < 2 {
		t.Fatalf("editcap made %d files", len(files))
	}
	slices.Sort(files)
	return files
}

// submit through the command, with the password from the environment,
// queues the files of a directory under one printed job ID.
func TestSubmitCommand(t *testing.T) {
	files := splitWithEditcap(t, "benign_crawler.pcap", "300")
	ns := natsServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var out, errb bytes.Buffer
	err := run(ctx, []string{"submit", "--nats", ns.ClientURL(), "--user", "sensor", "--password", "wrong", files[0]}, nil, &out, &errb)
	if err == nil || errors.As(err, new(*usageError)) || !strings.Contains(err.Error(), "uthorization") {
		t.Errorf("submit with a wrong password: %v, want an authorization failure", err)
	}

	t.Setenv("NATS_PASSWORD", "s3cret")
	out.Reset()
	if err := run(ctx, []string{"submit", "--nats", ns.ClientURL(), "--user", "sensor", "--subject", "jobs.lab", filepath.Dir(files[0])}, nil, &out, &errb); err != nil {
		t.Fatalf("submit: %v\n%s", err, errb.String())
	}
	job := strings.TrimSpace(out.String())
	if err := natsjobs.CheckJobID(job); err != nil {
		t.Fatalf("submit printed %q: %v", out.String(), err)
	}

	// Read the job back with the library: a worker of jobs.lab hashing
	// each file, and Collect.
	nc, err := nats.Connect(ns.ClientURL(), nats.UserInfo("sensor", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		hash := func(ctx context.Context, _, path string) ([]byte, error) {
			b, err := os.ReadFile(path)
			sum := sha256.Sum256(b)
			return []byte(hex.EncodeToString(sum[:])), err
		}
		if err := (natsjobs.Worker{Subject: "jobs.lab", Shard: hash, AckWait: 2 * time.Second}).Run(wctx, js); err != nil {
			t.Errorf("worker: %v", err)
		}
	}()
	defer func() { stop(); wg.Wait() }()
	parts, err := natsjobs.Collect(ctx, js, job, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, p := range parts {
		got = append(got, string(p))
	}
	for _, f := range files {
		b, err := exec.Command("sha256sum", f).Output()
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, strings.Fields(string(b))[0])
	}
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the job's files mismatch (-want +got):\n%s", diff)
	}
}

// partialsWritten reports whether detectors' Partial has its bodies yet:
// until the lead lands them, they panic.
func partialsWritten() (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	src := []capture.Source{{Name: "benign_browse.pcap", Path: "../../testdata/benign_browse.pcap"}}
	_, _ = detectors.Accumulate(context.Background(), detectors.Input{Sources: src}, detectors.Config{})
	return true
}

// worker, submit and merge --nats give the findings and summary analyze
// gives over the same files (issue 15's acceptance, through a server).
func TestNATSEndToEnd(t *testing.T) {
	if !partialsWritten() {
		t.Skip("detectors.Partial is not written yet")
	}
	ns := natsServer(t)
	t.Setenv("NATS_USER", "sensor")
	t.Setenv("NATS_PASSWORD", "s3cret")
	for _, tt := range []struct{ capture, per string }{
		{"scan_syn.pcap", "200"},
		{"dns_tunnel.pcap", "60"},
		{"exfil_high.pcap", "2000"},
	} {
		t.Run(tt.capture, func(t *testing.T) {
			files := splitWithEditcap(t, tt.capture, tt.per)
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			wctx, stop := context.WithCancel(ctx)
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				var out, errb bytes.Buffer
				if err := run(wctx, []string{"worker", "--nats", ns.ClientURL(), "--parallel", "2", "--ack-wait", "5s"}, nil, &out, &errb); err != nil {
					t.Errorf("worker: %v\n%s", err, errb.String())
				}
			}()
			defer func() { stop(); wg.Wait() }()

			var out, errb bytes.Buffer
			if err := run(ctx, append([]string{"submit", "--nats", ns.ClientURL()}, files...), nil, &out, &errb); err != nil {
				t.Fatalf("submit: %v\n%s", err, errb.String())
			}
			job := strings.TrimSpace(out.String())
			var merged bytes.Buffer
			if err := run(ctx, []string{"merge", "--nats", ns.ClientURL(), "--job", job, "--format", "json", "--timeout", "60s", "--forget"}, nil, &merged, &errb); err != nil {
				t.Fatalf("merge: %v\n%s", err, errb.String())
			}
			var whole bytes.Buffer
			if err := run(ctx, append([]string{"analyze", "--format", "json", "--quiet"}, files...), nil, &whole, &errb); err != nil {
				t.Fatalf("analyze: %v\n%s", err, errb.String())
			}
			want := verdict(t, whole.Bytes())
			if len(want["findings"].([]map[string]any)) == 0 {
				t.Fatalf("analyze found nothing in %s: the comparison would prove little", tt.capture)
			}
			if diff := cmp.Diff(want, verdict(t, merged.Bytes())); diff != "" {
				t.Errorf("merge --nats differs from analyze (-analyze +merge):\n%s", diff)
			}
			// --forget removed the job.
			err := run(ctx, []string{"merge", "--nats", ns.ClientURL(), "--job", job, "--timeout", "300ms"}, nil, &out, &errb)
			if !errors.Is(err, natsjobs.ErrNoJob) {
				t.Errorf("merge after --forget: %v, want ErrNoJob", err)
			}
		})
	}
}

// verdict is what a merge must reproduce: the summary and the findings,
// without frame numbers (a merge has no files to number them in).
func verdict(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var v struct {
		Summary  map[string]any   `json:"summary"`
		Findings []map[string]any `json:"findings"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	for _, f := range v.Findings {
		delete(f, "frames")
	}
	return map[string]any{"summary": v.Summary, "findings": v.Findings}
}

// analyze --engine nats (analyzeNATS: a server in the process, one worker
// per core) gives what one pass over the same files gives.
func TestAnalyzeNATS(t *testing.T) {
	if !partialsWritten() {
		t.Skip("detectors.Partial is not written yet")
	}
	files := splitWithEditcap(t, "scan_syn.pcap", "150")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	var cfg detectors.Config
	got, err := analyzeNATS(ctx, files, cfg, "split", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) > 0 {
		t.Errorf("analyzeNATS left %v behind", left)
	}
	ins, err := capture.OpenInputs(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ins.Close()
	want, err := detectors.AnalyzeInput(ctx, detectors.Input{Sources: ins.Sources, Name: "split"}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Findings) == 0 {
		t.Fatal("no finding in the capture: the comparison would prove little")
	}
	js := func(a *detectors.Analysis) []byte {
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if diff := cmp.Diff(verdict(t, js(want)), verdict(t, js(got))); diff != "" {
		t.Errorf("analyzeNATS differs from one pass (-one pass +nats):\n%s", diff)
	}
}
