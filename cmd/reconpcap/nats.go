package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/internal/textsafe"
	"github.com/agents-of-shield/reconpcap/natsjobs"
)

// The commands that spread an analysis over machines with NATS JetStream
// (issue 15): worker, submit and merge --nats. The machinery is in
// natsjobs; here are flags, the detectors' side of a shard and of a
// merge, and printing.

const natsUsage = `usage:
  reconpcap worker --nats URL [--subject jobs.SENSOR] [--parallel N] [--root DIR]... [thresholds]
  reconpcap submit --nats URL [--job ID] [--subject jobs.SENSOR] FILE|DIR...
  reconpcap merge  --nats URL --job ID [--format json|text|eve|ecs|html] [--timeout D] [--allow-failed] [--forget]

worker analyses the files submitted on its subject (the files must be at
the same paths on its machine), N at a time (default: one per core);
submit queues files and prints the job ID (--job adds to a job, as a
tcpdump -z post-rotate hook does); merge waits for every file of the job,
merges and prints the analysis, as analyze does (--forget then removes
the job's partials from JetStream). The worker takes the
same threshold flags and --config as analyze; a merge of partials made
with different thresholds is refused. A job names a path the worker
opens: give --root (the capture directories) when others than your
submitters can publish on jobs.>.

NATS client options (flags, or the environment variable named):
  --nats URL        servers, comma-separated (NATS_URL; default nats://127.0.0.1:4222)
  --creds FILE      user credentials file (NATS_CREDS)
  --nkey FILE       NKey seed file (NATS_NKEY)
  --tls-ca FILE     CA certificates to verify the servers (NATS_CA)
  --tls-cert FILE   client certificate, with --tls-key FILE (NATS_CERT, NATS_KEY)
  --user U          user name (NATS_USER); the password only from NATS_PASSWORD
                    or --password (visible to other users in the process list)
  --replicas N      copies JetStream keeps when it makes the stream and
                    buckets (default: min(3, the cluster's servers))
`

// natsUsageOf prints the commands' usage, then every flag of fs (the
// shell completions read them).
func natsUsageOf(fs *flag.FlagSet, w io.Writer) func() {
	return func() {
		fmt.Fprint(w, natsUsage)
		fmt.Fprintf(w, "\nflags of %s:\n", fs.Name())
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

// natsFlags are the NATS client options of the worker, submit and merge
// commands.
type natsFlags struct {
	o        natsjobs.ClientOptions
	replicas int
}

func (n *natsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&n.o.URL, "nats", "", "NATS server URLs, comma-separated (NATS_URL)")
	fs.StringVar(&n.o.Creds, "creds", "", "NATS user credentials file")
	fs.StringVar(&n.o.NKeySeed, "nkey", "", "NATS NKey seed file")
	fs.StringVar(&n.o.TLSCA, "tls-ca", "", "CA certificates to verify the NATS servers")
	fs.StringVar(&n.o.TLSCert, "tls-cert", "", "TLS client certificate")
	fs.StringVar(&n.o.TLSKey, "tls-key", "", "TLS client key")
	fs.StringVar(&n.o.User, "user", "", "NATS user")
	fs.StringVar(&n.o.Password, "password", "", "NATS password (prefer NATS_PASSWORD)")
	fs.IntVar(&n.replicas, "replicas", 0, "JetStream replicas of the stream and buckets when made (0: min(3, cluster size))")
}

// fromEnv fills what the flags left empty from the environment. It is
// not the flags' default, which -h would print: a password among them.
func (n *natsFlags) fromEnv() {
	for _, e := range []struct {
		v   *string
		env string
	}{
		{&n.o.URL, "NATS_URL"}, {&n.o.Creds, "NATS_CREDS"}, {&n.o.NKeySeed, "NATS_NKEY"},
		{&n.o.TLSCA, "NATS_CA"}, {&n.o.TLSCert, "NATS_CERT"}, {&n.o.TLSKey, "NATS_KEY"},
		{&n.o.User, "NATS_USER"}, {&n.o.Password, "NATS_PASSWORD"},
	} {
		if *e.v == "" {
			*e.v = os.Getenv(e.env)
		}
	}
}

// connect connects and opens JetStream; the caller closes the connection.
func (n *natsFlags) connect(ctx context.Context) (*nats.Conn, jetstream.JetStream, error) {
	n.fromEnv()
	if n.replicas < 0 || n.replicas > 5 {
		return nil, nil, usagef("--replicas %d: want 0 (automatic) to 5", n.replicas)
	}
	if _, err := n.o.Options(); err != nil {
		return nil, nil, usagef("%v", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	nc, err := natsjobs.Connect(cctx, n.o)
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	return nc, js, nil
}

func (n *natsFlags) store() natsjobs.StoreOptions {
	return natsjobs.StoreOptions{Replicas: n.replicas}
}

// runSubmit is the submit command.
func runSubmit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("submit", stderr)
	fs.Usage = natsUsageOf(fs, stderr)
	var nf natsFlags
	nf.register(fs)
	job := fs.String("job", "", "add the files to this job (default: a new job, whose ID is printed)")
	subject := fs.String("subject", natsjobs.DefaultSubject, "the subject of the workers that can read the files: jobs.SENSOR")
	paths, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return usagef("submit takes capture files or directories, got none")
	}
	if *job != "" {
		if err := natsjobs.CheckJobID(*job); err != nil {
			return usagef("--job: %v", err)
		}
	}
	if err := natsjobs.CheckSubject(*subject, false); err != nil {
		return usagef("--subject: %v", err)
	}
	files, err := submitFiles(paths, stderr)
	if err != nil {
		return err
	}
	nc, js, err := nf.connect(ctx)
	if err != nil {
		return err
	}
	defer nc.Close()
	res, err := natsjobs.Submit(ctx, js, natsjobs.SubmitOptions{Job: *job, Subject: *subject, Files: files, Store: nf.store()})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, res.Job)
	fmt.Fprintf(stderr, "reconpcap: job %s: %d file(s) submitted on %s", res.Job, len(res.Files), *subject)
	if res.Duplicates > 0 {
		fmt.Fprintf(stderr, " (%d already queued)", res.Duplicates)
	}
	fmt.Fprintln(stderr)
	return nil
}

// submitFiles expands directories to the captures in them, as analyze
// does (capture.OpenInputs), and refuses standard input: a worker on
// another machine cannot read it.
func submitFiles(paths []string, stderr io.Writer) ([]string, error) {
	for _, p := range paths {
		if p == capture.StdinName {
			return nil, usagef("submit cannot send standard input to a worker: write it to a file first")
		}
	}
	ins, err := capture.OpenInputs(paths, nil)
	if err != nil {
		return nil, err
	}
	defer ins.Close()
	for _, s := range ins.Skipped {
		fmt.Fprintf(stderr, "reconpcap: skipped %s\n", textsafe.Escape(s, 1000))
	}
	var files []string
	for _, s := range ins.Sources {
		files = append(files, s.Path)
	}
	if len(files) == 0 {
		return nil, errors.New("no capture file to submit")
	}
	return files, nil
}

// runWorker is the worker command: it runs until interrupted.
func runWorker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("worker", stderr)
	fs.Usage = natsUsageOf(fs, stderr)
	var nf natsFlags
	nf.register(fs)
	subject := fs.String("subject", natsjobs.DefaultSubject, "the subject to take jobs from: jobs.SENSOR, or jobs.> for all")
	parallel := fs.Int("parallel", runtime.NumCPU(), "files analysed at once")
	ackWait := 30 * time.Second
	fs.Var(intervalValue{&ackWait}, "ack-wait", "a job whose worker is silent this long goes to another worker")
	maxDeliver := fs.Int("max-deliver", 3, "tries of a file before it is recorded as failed")
	var roots stringList
	fs.Var(&roots, "root", "a directory the worker reads files from (repeatable; default: any path a job names)")
	var thresholds thresholdFlags
	thresholds.register(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("worker takes no arguments, got %d (files are given to submit)", len(pos))
	}
	if *parallel < 1 || *parallel > 1024 {
		return usagef("--parallel %d: want 1 to 1024", *parallel)
	}
	if *maxDeliver < 1 || *maxDeliver > 100 {
		return usagef("--max-deliver %d: want 1 to 100", *maxDeliver)
	}
	if err := natsjobs.CheckSubject(*subject, true); err != nil {
		return usagef("--subject: %v", err)
	}
	cfg, err := thresholds.config()
	if err != nil {
		return usagef("%v", err)
	}
	// A worker outlives server restarts: it reconnects for as long as
	// it runs.
	nf.o.MaxReconnects = -1
	nc, js, err := nf.connect(ctx)
	if err != nil {
		return err
	}
	defer nc.Close()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	w := natsjobs.Worker{
		Subject: *subject, Shard: shardFunc(cfg, log), AckWait: ackWait, MaxDeliver: *maxDeliver,
		Logger: log, Store: nf.store(), Roots: roots,
	}
	log.Info("reconpcap worker: taking jobs", "subject", *subject, "parallel", *parallel)
	return runWorkers(ctx, js, w, *parallel)
}

// runWorkers runs n copies of w until ctx ends, or until one fails; the
// first error stops the others.
func runWorkers(ctx context.Context, js jetstream.JetStream, w natsjobs.Worker, n int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Run(ctx, js); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	return first
}

// shardFunc is a worker's analysis of one file: the detectors'
// accumulated state, encoded. A file damaged part-way gives the partial
// of the packets before the damage, as analyze gives their results.
//
// The parts of one job merge only when made with one hash key
// (detectors.Config.HashKey): without --hash-key, the key is derived from
// the job ID, the same on every worker. A secret --hash-key given to every
// worker keeps senders from choosing names the samples never keep.
func shardFunc(cfg detectors.Config, log *slog.Logger) natsjobs.ShardFunc {
	return func(ctx context.Context, job, path string) ([]byte, error) {
		cfg := cfg
		if cfg.HashKey == "" {
			cfg.HashKey = "job " + job
		}
		ins, err := capture.OpenInputs([]string{path}, nil)
		if err != nil {
			return nil, err
		}
		defer ins.Close()
		p, err := detectors.Accumulate(ctx, detectors.Input{Sources: ins.Sources}, cfg)
		if p == nil {
			if err == nil {
				err = errors.New("no result")
			}
			return nil, err
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			log.Warn("reconpcap worker: kept the packets before the damage", "file", textsafe.Escape(path, 1000), "err", textsafe.Escape(err.Error(), 1000))
		}
		return p.MarshalBinary()
	}
}

// runMerge is `reconpcap merge`: of partial files (F.partial..., see
// runMergeFiles), or with --nats of a job's partials: wait for them,
// merge, judge and print.
func runMerge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("merge", stderr)
	fs.Usage = natsUsageOf(fs, stderr)
	var nf natsFlags
	nf.register(fs)
	job := fs.String("job", "", "the job ID submit printed")
	formats := []string{"json", "text", "eve", "ecs", "html"}
	format := fs.String("format", "text", "output format: json, text, eve, ecs or html, as analyze")
	var timeout time.Duration
	fs.Var(timeoutValue{&timeout}, "timeout", "give up after this long (default: wait until interrupted)")
	allowFailed := fs.Bool("allow-failed", false, "print the analysis of the files that were analysed even when others failed")
	forget := fs.Bool("forget", false, "once printed, remove the job's partials and markers from JetStream")
	color := registerColor(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := checkFormat(*format, formats...); err != nil {
		return err
	}
	if len(pos) > 0 {
		if *job != "" {
			return usagef("merge takes partial files or --job ID, not both")
		}
		return runMergeFiles(ctx, *format, pos, paletteFor(color, stdout), stdout, stderr)
	}
	if *job == "" {
		return usagef("merge needs --job ID (the ID submit printed)")
	}
	if err := natsjobs.CheckJobID(*job); err != nil {
		return usagef("--job: %v", err)
	}
	nc, js, err := nf.connect(ctx)
	if err != nil {
		return err
	}
	defer nc.Close()
	parts, err := natsjobs.CollectWith(ctx, js, *job, timeout, natsjobs.CollectOptions{Store: nf.store()})
	var failed *natsjobs.FailedError
	if err != nil && !(errors.As(err, &failed) && *allowFailed && len(parts) > 0) {
		return err
	}
	a, err := judgePartials(ctx, parts, "job "+*job, stderr)
	if err != nil {
		return err
	}
	if err := printAnalysis(stdout, "analyze", *format, a, paletteFor(color, stdout)); err != nil {
		return err
	}
	if failed != nil {
		fmt.Fprintf(stderr, "reconpcap: warning: %s\n", textsafe.Escape(failed.Error(), 2000))
	}
	if *forget {
		if err := natsjobs.Forget(ctx, js, *job); err != nil {
			// The analysis is printed: say what is left behind, do not
			// fail the merge for it.
			fmt.Fprintf(stderr, "reconpcap: warning: %s\n", textsafe.Escape(err.Error(), 1000))
		}
	}
	return nil
}

// judgePartials decodes the encoded partials, merges and judges them.
func judgePartials(ctx context.Context, parts [][]byte, name string, stderr io.Writer) (*detectors.Analysis, error) {
	ps := make([]*detectors.Partial, len(parts))
	for i, b := range parts {
		ps[i] = new(detectors.Partial)
		if err := ps[i].UnmarshalBinary(b); err != nil {
			return nil, fmt.Errorf("partial %d of %d: %w", i+1, len(parts), err)
		}
	}
	return judgeMerged(ctx, ps, name, stderr)
}

// timeoutValue is a duration flag where 0 means no limit.
type timeoutValue struct{ d *time.Duration }

func (v timeoutValue) String() string {
	if v.d == nil || *v.d == 0 {
		return ""
	}
	return v.d.String()
}

func (v timeoutValue) Set(s string) error {
	d, err := parseInterval(s)
	if err != nil {
		return err
	}
	if d < 0 {
		return fmt.Errorf("%v: want a positive duration, or 0 for none", d)
	}
	*v.d = d
	return nil
}

// analyzeInputsNATS is analyze --engine nats on the analysis commands'
// inputs: capture files and directories (their files, in time order);
// filters and standard input are refused, since every worker reads a
// whole file from where it lies.
func analyzeInputsNATS(ctx context.Context, paths []string, ff filterFlags, stderr io.Writer, cfg detectors.Config) (*detectors.Analysis, error) {
	if ff.set() {
		return nil, usagef("--engine nats analyses whole files: filters are for --engine local")
	}
	if slices.Contains(paths, capture.StdinName) {
		return nil, usagef("--engine nats reads files where they lie: - (standard input) is for --engine local")
	}
	ins, err := capture.OpenInputs(paths, nil)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, s := range ins.Sources {
		files = append(files, s.Name)
	}
	for _, s := range ins.Skipped {
		fmt.Fprintf(stderr, "reconpcap: skipped %s\n", textsafe.Escape(s, 1000))
	}
	ins.Close()
	name := ""
	if len(paths) > 1 || len(files) > 1 {
		name = strings.Join(paths, " ")
	}
	return analyzeNATS(ctx, files, cfg, name, stderr)
}

// analyzeNATS is analyze --engine nats: the files (capture files, as
// capture.OpenInputs lists them) shared among workers, one per core,
// through a NATS server inside the process with no listening socket and
// a temporary store, then merged and judged. name names the capture (""
// means the files joined by spaces).
func analyzeNATS(ctx context.Context, files []string, cfg detectors.Config, name string, stderr io.Writer) (*detectors.Analysis, error) {
	// The store is ours to remove, after the server let go of it: the
	// process may exit right after.
	dir, err := os.MkdirTemp("", "reconpcap-nats-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ns, nc, err := natsjobs.Embedded(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer func() { nc.Close(); ns.Shutdown(); ns.WaitForShutdown() }()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	res, err := natsjobs.Submit(ctx, js, natsjobs.SubmitOptions{Files: files})
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	w := natsjobs.Worker{Shard: shardFunc(cfg, log), Logger: log}
	// Workers that fail would leave the files pending for ever: their
	// error stops the wait.
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	var werr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		if werr = runWorkers(wctx, js, w, runtime.NumCPU()); werr != nil {
			stop()
		}
	}()
	parts, err := natsjobs.Collect(wctx, js, res.Job, 0)
	stop()
	<-done
	if werr != nil {
		return nil, werr
	}
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = strings.Join(files, " ")
	}
	return judgePartials(ctx, parts, name, stderr)
}
