package intel

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/agents-of-shield/reconpcap/internal/netscope"
)

// DefaultAbuseIPDBURL is the AbuseIPDB API v2 base URL.
const DefaultAbuseIPDBURL = "https://api.abuseipdb.com/api/v2"

// AbuseIPDBConfig configures the AbuseIPDB provider (IP addresses only).
// Its APIKey is sent in the Key header and read from ABUSEIPDB_API_KEY by
// New; its BaseURL defaults to DefaultAbuseIPDBURL, its Rate to 1 per
// second with a burst of 5 (the free tier's real limit is 1000 checks a
// day, which 429s enforce).
type AbuseIPDBConfig struct {
	ProviderConfig
	// MaxAgeInDays is how far back reports count, 1-365. Zero: 90.
	MaxAgeInDays int
}

// AbuseIPDB looks IP addresses up in AbuseIPDB's check endpoint.
type AbuseIPDB struct {
	base   string
	maxAge int
	r      *remote
}

var defaultAbuseIPDBRate = Rate{Requests: 1, Per: time.Second, Burst: 5}

// NewAbuseIPDB returns the provider, or ErrNoAPIKey without a key.
func NewAbuseIPDB(cfg AbuseIPDBConfig) (*AbuseIPDB, error) {
	base, err := baseURL(cfg.BaseURL, DefaultAbuseIPDBURL)
	if err != nil {
		return nil, fmt.Errorf("abuseipdb: %w", err)
	}
	maxAge := cfg.MaxAgeInDays
	if maxAge == 0 {
		maxAge = 90
	}
	if maxAge < 1 || maxAge > 365 {
		return nil, fmt.Errorf("abuseipdb: MaxAgeInDays %d not in 1-365", maxAge)
	}
	r, err := newRemote("abuseipdb", cfg.ProviderConfig, defaultAbuseIPDBRate)
	if err != nil {
		return nil, err
	}
	return &AbuseIPDB{base: base, maxAge: maxAge, r: r}, nil
}

// Name returns "abuseipdb".
func (a *AbuseIPDB) Name() string { return "abuseipdb" }

// abuseIPDBCheck is the documented answer of GET /check.
type abuseIPDBCheck struct {
	Data struct {
		IPAddress            string   `json:"ipAddress"`
		IsPublic             bool     `json:"isPublic"`
		IPVersion            int      `json:"ipVersion"`
		IsWhitelisted        *bool    `json:"isWhitelisted"`
		AbuseConfidenceScore int      `json:"abuseConfidenceScore"`
		CountryCode          string   `json:"countryCode"`
		UsageType            string   `json:"usageType"`
		ISP                  string   `json:"isp"`
		Domain               string   `json:"domain"`
		Hostnames            []string `json:"hostnames"`
		TotalReports         int      `json:"totalReports"`
		NumDistinctUsers     int      `json:"numDistinctUsers"`
		LastReportedAt       *string  `json:"lastReportedAt"`
	} `json:"data"`
}

// LookupIP checks addr. It refuses non-public addresses with ErrNotPublic
// without sending anything.
func (a *AbuseIPDB) LookupIP(ctx context.Context, addr netip.Addr) (*Verdict, error) {
	addr = addr.Unmap().WithZone("")
	if class := netscope.Class(addr); class != "" {
		return nil, fmt.Errorf("abuseipdb: %s address: %w", class, ErrNotPublic)
	}
	q := url.Values{}
	q.Set("ipAddress", addr.String())
	q.Set("maxAgeInDays", strconv.Itoa(a.maxAge))
	h := http.Header{}
	h.Set("Key", a.r.key)
	h.Set("Accept", "application/json")
	resp, err := a.r.get(ctx, a.base+"/check?"+q.Encode(), h, abuseIPDBError)
	if err != nil {
		return nil, err
	}
	if resp.status == http.StatusNotFound {
		return nil, &APIError{Provider: a.Name(), StatusCode: resp.status, Message: "check endpoint not found; is BaseURL right?"}
	}
	var c abuseIPDBCheck
	if err := json.Unmarshal(resp.body, &c); err != nil {
		return nil, fmt.Errorf("abuseipdb: reading answer: %w", err)
	}
	d := c.Data
	v := &Verdict{
		// AbuseIPDB answers for every public address; a score of 0 with no
		// reports is its way of saying clean.
		Found:   true,
		Score:   d.AbuseConfidenceScore,
		Reports: d.TotalReports,
		Link:    "https://www.abuseipdb.com/check/" + url.PathEscape(addr.String()),
		Details: map[string]string{},
	}
	v.Malicious = v.Score >= MaliciousScore
	v.Suspicious = !v.Malicious && v.Score >= SuspiciousScore
	if d.LastReportedAt != nil && *d.LastReportedAt != "" {
		if t, err := time.Parse(time.RFC3339, *d.LastReportedAt); err == nil {
			v.LastSeen = t.UTC()
		}
	}
	if d.UsageType != "" {
		v.Categories = append(v.Categories, d.UsageType)
	}
	set := func(k, val string) {
		if val != "" {
			v.Details[k] = val
		}
	}
	set("country_code", d.CountryCode)
	set("usage_type", d.UsageType)
	set("isp", d.ISP)
	set("domain", d.Domain)
	set("hostnames", strings.Join(d.Hostnames, ","))
	set("num_distinct_users", strconv.Itoa(d.NumDistinctUsers))
	if d.IsWhitelisted != nil {
		set("is_whitelisted", strconv.FormatBool(*d.IsWhitelisted))
	}
	return v, nil
}

// LookupDomain is not offered by AbuseIPDB's check endpoint.
func (a *AbuseIPDB) LookupDomain(ctx context.Context, domain string) (*Verdict, error) {
	return nil, fmt.Errorf("abuseipdb does not look up domains: %w", ErrUnsupported)
}

// abuseIPDBError reads {"errors":[{"detail": "...", "status": 401}]}.
func abuseIPDBError(body []byte) (code, message string) {
	var e struct {
		Errors []struct {
			Detail string `json:"detail"`
			Status int    `json:"status"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &e) != nil || len(e.Errors) == 0 {
		return "", ""
	}
	return "", e.Errors[0].Detail
}

// baseURL validates a configured API root and drops its trailing slash.
func baseURL(s, def string) (string, error) {
	if s == "" {
		s = def
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("base URL %q is not an http(s) URL", s)
	}
	return strings.TrimSuffix(s, "/"), nil
}
