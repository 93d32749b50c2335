package intel

import (
	"maps"
	"slices"
	"sync"
	"time"
)

// cache keeps online providers' verdicts for a while, keyed by provider,
// kind and indicator, so that a capture full of the same addresses costs
// one request each. Errors are not cached: a refused key or a spent quota
// should be retried once fixed.
type cache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu sync.Mutex
	m  map[string]cacheEntry
}

type cacheEntry struct {
	v       *Verdict
	expires time.Time
}

func newCache(ttl time.Duration, max int, now func() time.Time) *cache {
	return &cache{ttl: ttl, max: max, now: now, m: make(map[string]cacheEntry)}
}

// get returns a copy of the cached verdict, if fresh.
func (c *cache) get(key string) (*Verdict, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok {
		return nil, false
	}
	if !c.now().Before(e.expires) {
		delete(c.m, key)
		return nil, false
	}
	return e.v.clone(), true
}

func (c *cache) put(key string, v *Verdict) {
	if c == nil {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; !ok && len(c.m) >= c.max {
		for k, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, k)
			}
		}
		// Still full: drop the entry closest to expiry, the oldest.
		if len(c.m) >= c.max {
			var oldest string
			var at time.Time
			for k, e := range c.m {
				if oldest == "" || e.expires.Before(at) {
					oldest, at = k, e.expires
				}
			}
			delete(c.m, oldest)
		}
	}
	c.m[key] = cacheEntry{v: v.clone(), expires: now.Add(c.ttl)}
}

func (v *Verdict) clone() *Verdict {
	if v == nil {
		return nil
	}
	c := *v
	c.Categories = slices.Clone(v.Categories)
	c.Details = maps.Clone(v.Details)
	return &c
}
