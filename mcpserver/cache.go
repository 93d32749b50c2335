package mcpserver

import (
	"container/list"
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/detectors"
)

// CacheStats counts what the analysis cache did since the server started.
type CacheStats struct {
	// Parses is how many times a capture was read (detectors.Analyze ran).
	Parses int64 `json:"parses"`
	// Hits is how many tool calls were answered from a cached analysis.
	Hits int64 `json:"hits"`
	// Shared is how many tool calls waited for a parse another call started.
	Shared int64 `json:"shared"`
	// Entries and Bytes are what the cache holds now (Bytes is an estimate).
	Entries int   `json:"entries"`
	Bytes   int64 `json:"bytes"`
}

// fileID names one version of one file, from the stat of its open
// descriptor (fileIdentity): a file that changes is a new version and is
// read again.
type fileID struct {
	dev, ino uint64 // which file (zero where the platform does not say)
	size     int64
	mtime    int64 // UnixNano
	ctime    int64 // UnixNano of the inode change time
}

// cacheKey names one version of one file by the name the tools report and
// the identity of the descriptor that was read.
type cacheKey struct {
	path string
	file fileID
}

// cached is one analysis and the error that came with it (a *CaptureError
// for a file damaged part-way, whose partial analysis is worth keeping).
type cached struct {
	key  cacheKey
	a    *detectors.Analysis
	err  error
	size int64
}

// flight is a parse in progress and the calls waiting for it.
type flight struct {
	done    chan struct{}
	a       *detectors.Analysis
	err     error
	waiters int
	cancel  context.CancelFunc
}

// analyzeFunc analyses the open file f, named name (detectors.AnalyzeFile).
type analyzeFunc func(ctx context.Context, f *os.File, name string, cfg detectors.Config) (*detectors.Analysis, error)

// analysisCache holds recent analyses, least recently used first out,
// bounded in entries and in estimated bytes.
//
// Concurrent calls for the same key share one parse. The parse runs under
// a context detached from any single caller (it keeps the first caller's
// values, not its cancellation) and is cancelled when the last waiting
// caller gives up, so one impatient client cannot fail the others, and a
// parse nobody waits for anymore stops. A cancelled parse is never cached.
//
// A parse has a deadline (timeout, from its start): when it passes, the
// parse stops reading and its callers get the analysis of what was read,
// marked stopped. Such an analysis is never cached, so a later call reads
// the file again rather than take a part for the whole.
type analysisCache struct {
	cfg        detectors.Config
	analyze    analyzeFunc
	timeout    time.Duration // zero: no deadline
	maxEntries int
	maxBytes   int64
	log        *slog.Logger

	mu      sync.Mutex
	lru     *list.List // of *cached, most recent at the front
	entries map[cacheKey]*list.Element
	byPath  map[string]cacheKey
	flights map[cacheKey]*flight
	bytes   int64
	stats   CacheStats
}

func newAnalysisCache(cfg detectors.Config, analyze analyzeFunc, timeout time.Duration, maxEntries int, maxBytes int64, log *slog.Logger) *analysisCache {
	return &analysisCache{
		cfg: cfg, analyze: analyze, timeout: timeout, maxEntries: maxEntries, maxBytes: maxBytes, log: log,
		lru:     list.New(),
		entries: make(map[cacheKey]*list.Element),
		byPath:  make(map[string]cacheKey),
		flights: make(map[cacheKey]*flight),
	}
}

// get returns the analysis of file, the open capture the path policy
// vetted, named path, reading it only when no analysis of this version of
// the file is cached or being made. get owns file and closes it: at once
// when the analysis is cached or being made, else when its parse ends,
// which may be after this caller has given up.
func (c *analysisCache) get(ctx context.Context, file *os.File, path string) (*detectors.Analysis, error) {
	st, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, err
	}
	key := cacheKey{path: path, file: fileIdentity(st)}

	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		c.lru.MoveToFront(el)
		c.stats.Hits++
		e := el.Value.(*cached)
		c.mu.Unlock()
		file.Close()
		return e.a, e.err
	}
	f, ok := c.flights[key]
	if ok {
		f.waiters++
		c.stats.Shared++
		file.Close()
	} else {
		pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		if c.timeout > 0 {
			pctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
		}
		f = &flight{done: make(chan struct{}), waiters: 1, cancel: cancel}
		c.flights[key] = f
		c.stats.Parses++
		go c.parse(pctx, key, file, f)
	}
	c.mu.Unlock()

	select {
	case <-f.done:
		c.mu.Lock()
		f.waiters--
		c.mu.Unlock()
		return f.a, f.err
	case <-ctx.Done():
		c.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			select {
			case <-f.done:
			default:
				// Nobody waits anymore: stop the read, and let the next
				// caller start afresh rather than join a dying parse.
				f.cancel()
				if c.flights[key] == f {
					delete(c.flights, key)
				}
			}
		}
		c.mu.Unlock()
		return nil, ctx.Err()
	}
}

func (c *analysisCache) parse(ctx context.Context, key cacheKey, file *os.File, f *flight) {
	defer f.cancel()
	defer file.Close()
	var a *detectors.Analysis
	var err error
	func() {
		// A panic in the decoder must not take the whole server down, nor
		// leave the waiters blocked forever.
		defer func() {
			if r := recover(); r != nil {
				c.log.Error("panic while analysing a capture", "path", key.path, "panic", r)
				a, err = nil, &internalError{msg: "the capture analysis failed unexpectedly"}
			}
		}()
		a, err = c.analyze(ctx, file, key.path, c.cfg)
	}()
	f.a, f.err = a, err

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.flights[key] == f {
		delete(c.flights, key)
	}
	var ce *capture.CaptureError
	keep := a != nil && !stopped(a) && ctx.Err() == nil && (err == nil || errors.As(err, &ce))
	if keep {
		c.insert(&cached{key: key, a: a, err: err, size: estimateSize(a)})
	}
	close(f.done)
}

// insert adds e (c.mu held), replacing any older version of the same file
// and evicting the least recently used entries beyond the bounds. An
// analysis larger than the whole byte budget is not kept.
func (c *analysisCache) insert(e *cached) {
	if c.maxEntries <= 0 || e.size > c.maxBytes {
		c.log.Debug("analysis not cached", "path", e.key.path, "estimated_bytes", e.size)
		return
	}
	if old, ok := c.byPath[e.key.path]; ok && old != e.key {
		c.remove(c.entries[old])
	}
	if el, ok := c.entries[e.key]; ok {
		c.remove(el)
	}
	c.entries[e.key] = c.lru.PushFront(e)
	c.byPath[e.key.path] = e.key
	c.bytes += e.size
	for c.lru.Len() > c.maxEntries || c.bytes > c.maxBytes {
		c.remove(c.lru.Back())
	}
}

func (c *analysisCache) remove(el *list.Element) {
	if el == nil {
		return
	}
	e := c.lru.Remove(el).(*cached)
	delete(c.entries, e.key)
	if c.byPath[e.key.path] == e.key {
		delete(c.byPath, e.key.path)
	}
	c.bytes -= e.size
}

// stopped reports whether a's read was cut by its deadline.
func stopped(a *detectors.Analysis) bool {
	return a.Capture() != nil && a.Capture().Stopped
}

func (c *analysisCache) snapshot() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Entries = c.lru.Len()
	s.Bytes = c.bytes
	return s
}

// estimateSize guesses the memory an analysis holds from what it counts:
// flows, conversations, findings, DNS names, timeline seconds and HTTP
// requests dominate. The guess only has to keep the cache within the right
// order of magnitude.
func estimateSize(a *detectors.Analysis) int64 {
	const (
		base         = 16 << 10
		perFlow      = 320
		perConv      = 240
		perFinding   = 1024
		perDNSName   = 96
		perSecond    = 120
		perHTTPEntry = 400
		perTLSEntry  = 1200
	)
	n := int64(base)
	if c := a.Capture(); c != nil {
		n += int64(len(c.Flows())) * perFlow
	}
	n += int64(len(a.Conversations())) * perConv
	n += int64(len(a.Findings)) * perFinding
	n += int64(a.Summary.DNSNamesDistinct) * perDNSName
	secs := int64(a.Summary.DurationSeconds) + 1
	n += min(secs, int64(a.Summary.TotalPackets)) * perSecond
	n += int64(httpEntries(a)) * perHTTPEntry
	n += int64(tlsEntries(a)) * perTLSEntry
	return n
}
