package intel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/agents-of-shield/reconpcap/internal/netscope"
	"golang.org/x/sync/singleflight"
)

// Config configures a Checker. The zero Config checks nothing locally and
// consults AbuseIPDB and VirusTotal only if their keys are in the
// environment; every other provider is skipped, and says so in the Result.
type Config struct {
	// IndicatorFiles are local list files (see List.Read for the formats),
	// loaded into one List named "local", consulted first. Zero: no local
	// list.
	IndicatorFiles []string
	// Providers are further providers, consulted after the built-in ones,
	// in order. Names must be unique. A provider that does not implement
	// OfflineProvider never sees a non-public indicator.
	Providers []Provider
	// AbuseIPDB and VirusTotal configure the online providers. An empty
	// APIKey is read from ABUSEIPDB_API_KEY / VIRUSTOTAL_API_KEY (through
	// Getenv); still empty, the provider is listed as skipped. The
	// environment is read only here, only as that default.
	AbuseIPDB  AbuseIPDBConfig
	VirusTotal VirusTotalConfig
	// Offline lists the online providers as skipped without reading keys:
	// nothing leaves the machine.
	Offline bool
	// CacheTTL is how long an online provider's verdict is reused. Zero:
	// one hour; negative: no cache. Local lists are not cached.
	CacheTTL time.Duration
	// MaxCacheEntries bounds the cache. Zero: 10000.
	MaxCacheEntries int
	// HTTPClient is used by online providers whose own config has none.
	// Zero: http.DefaultClient.
	HTTPClient *http.Client
	// Timeout bounds each HTTP request (one attempt) of online providers
	// whose own config has none. Zero: 10 s. The caller's ctx bounds the
	// whole check, waits for the rate limiter included.
	Timeout time.Duration
	// Logger receives debug and info records; never keys. Zero: discard.
	Logger *slog.Logger
	// Getenv reads the environment for the key defaults. Zero: os.Getenv.
	Getenv func(string) string
}

// Checker fans a lookup out to every configured provider concurrently and
// merges their verdicts. It is safe for concurrent use.
type Checker struct {
	slots  []slot
	cache  *cache
	group  singleflight.Group
	logger *slog.Logger
}

// slot is one configured provider, or one that is listed but skipped.
type slot struct {
	name    string
	p       Provider
	offline bool
	skip    string
}

// onlineSlot is the slot of one online provider: skipped when offline or
// without a key (the environment variable fills an empty key, unless
// offline), else built by build with the key.
func onlineSlot(cfg Config, getenv func(string) string, name, envVar, field, key string, build func(key string) (Provider, error)) (slot, error) {
	s := slot{name: name}
	if key == "" && !cfg.Offline {
		key = strings.TrimSpace(getenv(envVar))
	}
	switch {
	case cfg.Offline:
		s.skip = "offline: online providers not consulted"
	case key == "":
		s.skip = fmt.Sprintf("no API key: set %s or Config.%s.APIKey", envVar, field)
	default:
		p, err := build(key)
		if err != nil {
			return s, err
		}
		s.p = p
	}
	return s, nil
}

// New builds a Checker: it loads the indicator files and sets up the
// online providers that have keys.
func New(cfg Config) (*Checker, error) {
	c := &Checker{logger: cfg.Logger}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if len(cfg.IndicatorFiles) > 0 {
		list := NewList("local")
		for _, path := range cfg.IndicatorFiles {
			if err := list.LoadFile(path); err != nil {
				return nil, err
			}
		}
		c.logger.Debug("intel: indicators loaded", "entries", list.Len(), "skipped", list.Skipped())
		c.slots = append(c.slots, slot{name: list.Name(), p: list, offline: true})
	}

	if !cfg.AbuseIPDB.Disabled {
		a := cfg.AbuseIPDB
		sl, err := onlineSlot(cfg, getenv, "abuseipdb", "ABUSEIPDB_API_KEY", "AbuseIPDB", a.APIKey, func(key string) (Provider, error) {
			a.ProviderConfig = a.withDefaults(key, cfg.HTTPClient, cfg.Timeout, c.logger)
			return NewAbuseIPDB(a)
		})
		if err != nil {
			return nil, err
		}
		c.slots = append(c.slots, sl)
	}
	if !cfg.VirusTotal.Disabled {
		v := cfg.VirusTotal
		sl, err := onlineSlot(cfg, getenv, "virustotal", "VIRUSTOTAL_API_KEY", "VirusTotal", v.APIKey, func(key string) (Provider, error) {
			v.ProviderConfig = v.withDefaults(key, cfg.HTTPClient, cfg.Timeout, c.logger)
			return NewVirusTotal(v)
		})
		if err != nil {
			return nil, err
		}
		c.slots = append(c.slots, sl)
	}

	for i, p := range cfg.Providers {
		if p == nil {
			return nil, fmt.Errorf("intel: Config.Providers[%d] is nil", i)
		}
		op, ok := p.(OfflineProvider)
		c.slots = append(c.slots, slot{name: p.Name(), p: p, offline: ok && op.Offline()})
	}
	seen := make(map[string]bool)
	for _, s := range c.slots {
		if s.name == "" || seen[s.name] {
			return nil, fmt.Errorf("intel: provider name %q empty or used twice", s.name)
		}
		seen[s.name] = true
	}

	if cfg.CacheTTL >= 0 {
		ttl, maxEntries := orDefault(cfg.CacheTTL, time.Hour), orDefault(cfg.MaxCacheEntries, 10000)
		if maxEntries < 0 {
			return nil, fmt.Errorf("intel: MaxCacheEntries %d is negative", maxEntries)
		}
		c.cache = newCache(ttl, maxEntries, time.Now)
	}
	return c, nil
}

// Source is one provider a Checker lists in every Result.
type Source struct {
	// Provider is the provider's name, as in ProviderResult.
	Provider string
	// Skipped says why the provider never answers (offline, no API key);
	// empty for one that does.
	Skipped string
}

// Sources lists the Checker's providers in the order a Result lists them,
// saying which are skipped for their configuration. It looks nothing up,
// so it needs no context and costs nothing.
func (c *Checker) Sources() []Source {
	out := make([]Source, len(c.slots))
	for i, s := range c.slots {
		out[i] = Source{Provider: s.name, Skipped: s.skip}
	}
	return out
}

// orDefault returns v unless it is the zero value, then def.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Check looks up an indicator that may be an IP address or a domain: text
// made of digits and dots, or holding a colon, is taken for an address.
func (c *Checker) Check(ctx context.Context, indicator string) (*Result, error) {
	s := strings.TrimSpace(indicator)
	if strings.Contains(s, "://") {
		return nil, newInputError("", indicator, "a URL, not an IP address or domain; give its host")
	}
	if strings.ContainsRune(s, ':') || strings.Trim(s, "0123456789.") == "" {
		return c.CheckIP(ctx, indicator)
	}
	return c.CheckDomain(ctx, indicator)
}

// CheckIP parses ip and checks it; see CheckAddr. A string that is not an
// address gives an *InputError.
func (c *Checker) CheckIP(ctx context.Context, ip string) (*Result, error) {
	addr, err := parseIP(ip)
	if err != nil {
		return nil, err
	}
	return c.CheckAddr(ctx, addr)
}

// CheckAddr asks every provider about addr at once and merges the answers.
// Private, loopback, link-local, multicast, unspecified, CGNAT, reserved,
// documentation and unique-local addresses go to offline providers only.
//
// Provider failures are reported in the Result, not as an error. The error
// is an *InputError for an invalid address, or the ctx's error when ctx
// ended before every provider answered; the partial Result comes with it.
func (c *Checker) CheckAddr(ctx context.Context, addr netip.Addr) (*Result, error) {
	if !addr.IsValid() {
		return nil, newInputError(KindIP, "", "zero address")
	}
	addr = addr.Unmap().WithZone("")
	notPublic := ""
	if class := netscope.Class(addr); class != "" {
		notPublic = class + " address never sent to an outside service"
	}
	return c.check(ctx, KindIP, addr.String(), notPublic, func(ctx context.Context, p Provider) (*Verdict, error) {
		return p.LookupIP(ctx, addr)
	})
}

// CheckDomain validates and normalises domain (lower case, no trailing
// dot; non-ASCII names must be given in punycode) and asks every provider
// about it. Names that are not plausible public DNS names (a single label,
// .local, .internal, .lan, .home.arpa, .test, .example, .invalid,
// .localhost, an unknown top-level domain, ...) go to offline providers
// only. Errors are as for CheckAddr.
func (c *Checker) CheckDomain(ctx context.Context, domain string) (*Result, error) {
	name, err := normalizeDomain(domain)
	if err != nil {
		return nil, err
	}
	notPublic := ""
	if why := classifyDomain(name); why != "" {
		notPublic = why + " never sent to an outside service"
	}
	return c.check(ctx, KindDomain, name, notPublic, func(ctx context.Context, p Provider) (*Verdict, error) {
		return p.LookupDomain(ctx, name)
	})
}

type lookupFunc func(context.Context, Provider) (*Verdict, error)

func (c *Checker) check(ctx context.Context, kind Kind, indicator, notPublic string, lookup lookupFunc) (*Result, error) {
	res := &Result{
		Indicator: indicator,
		Kind:      kind,
		Public:    notPublic == "",
		Providers: make([]ProviderResult, len(c.slots)),
	}
	var wg sync.WaitGroup
	for i, s := range c.slots {
		wg.Go(func() {
			res.Providers[i] = c.ask(ctx, s, kind, indicator, notPublic, lookup)
		})
	}
	wg.Wait()
	res.Verdict, res.Score = merge(res.Providers)
	c.logger.Debug("intel: checked", "kind", kind, "indicator", indicator, "verdict", res.Verdict, "score", res.Score)
	if err := ctx.Err(); err != nil {
		for _, p := range res.Providers {
			if p.Status == StatusError {
				return res, fmt.Errorf("intel: checking %s: %w", indicator, context.Cause(ctx))
			}
		}
	}
	return res, nil
}

func (c *Checker) ask(ctx context.Context, s slot, kind Kind, indicator, notPublic string, lookup lookupFunc) ProviderResult {
	r := ProviderResult{Provider: s.name}
	if s.skip != "" {
		r.Status, r.Skipped = StatusSkipped, s.skip
		return r
	}
	if notPublic != "" && !s.offline {
		r.Status, r.Skipped = StatusSkipped, notPublic
		return r
	}
	var (
		v   *Verdict
		err error
	)
	if s.offline {
		v, err = lookup(ctx, s.p)
		if err == nil && v != nil {
			v = v.clone()
			v.bound()
		}
	} else {
		key := s.name + "\x00" + string(kind) + "\x00" + indicator
		if cv, ok := c.cache.get(key); ok {
			r.Status, r.Verdict, r.Cached = StatusOK, cv, true
			return r
		}
		v, err = c.shared(ctx, key, func(ctx context.Context) (*Verdict, error) { return lookup(ctx, s.p) })
	}
	switch {
	case err == nil && v == nil:
		err = fmt.Errorf("intel: %s returned neither a verdict nor an error", s.name)
	case errors.Is(err, ErrUnsupported):
		what := "domains"
		if kind == KindIP {
			what = "IP addresses"
		}
		r.Status, r.Skipped = StatusSkipped, s.name+" does not look up "+what
		return r
	case errors.Is(err, ErrNotPublic):
		r.Status, r.Skipped = StatusSkipped, clean(err.Error(), maxErrorLen)
		return r
	}
	if err != nil {
		r.Status, r.Err = StatusError, err
		r.Error, r.ErrorCode = clean(err.Error(), maxErrorLen), errorCode(err)
		c.logger.Info("intel: provider failed", "provider", s.name, "error", r.Error)
		return r
	}
	r.Status, r.Verdict = StatusOK, v
	return r
}

// leaderGone marks the failure of a shared lookup whose own caller's ctx
// ended: the other callers waiting on it ask again rather than inherit a
// cancellation that is not theirs.
type leaderGone struct{ err error }

func (e *leaderGone) Error() string { return e.err.Error() }
func (e *leaderGone) Unwrap() error { return e.err }

// shared runs fn once for concurrent identical lookups and caches success.
func (c *Checker) shared(ctx context.Context, key string, fn func(context.Context) (*Verdict, error)) (*Verdict, error) {
	for {
		ch := c.group.DoChan(key, func() (any, error) {
			// Another flight may have finished between our cache miss
			// and now.
			if v, ok := c.cache.get(key); ok {
				return v, nil
			}
			v, err := fn(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return nil, &leaderGone{err}
				}
				return nil, err
			}
			if v == nil {
				return nil, nil
			}
			v = v.clone()
			v.bound()
			c.cache.put(key, v)
			return v, nil
		})
		select {
		case res := <-ch:
			var lg *leaderGone
			if errors.As(res.Err, &lg) {
				if ctx.Err() == nil {
					continue
				}
				return nil, lg.err
			}
			if res.Err != nil {
				return nil, res.Err
			}
			v, _ := res.Val.(*Verdict)
			return v.clone(), nil
		case <-ctx.Done():
			return nil, fmt.Errorf("intel: waiting for a shared lookup: %w", context.Cause(ctx))
		}
	}
}

func errorCode(err error) string {
	var api *APIError
	switch {
	case errors.Is(err, ErrUnauthorized):
		return "unauthorized"
	case errors.Is(err, ErrRateLimited):
		return "rate_limited"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &api):
		return "api_error"
	}
	return "error"
}

// merge derives the overall level and the highest score.
func merge(rs []ProviderResult) (Level, int) {
	level, score := LevelUnknown, 0
	rank := map[Level]int{LevelUnknown: 0, LevelClean: 1, LevelSuspicious: 2, LevelMalicious: 3}
	for _, r := range rs {
		v := r.Verdict
		if r.Status != StatusOK || v == nil {
			continue
		}
		score = max(score, v.Score)
		l := LevelUnknown
		switch {
		case v.Malicious:
			l = LevelMalicious
		case v.Suspicious:
			l = LevelSuspicious
		case v.Found:
			l = LevelClean
		}
		if rank[l] > rank[level] {
			level = l
		}
	}
	return level, score
}
