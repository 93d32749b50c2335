package intel

import (
	"context"
	"net/netip"
	"time"
)

// Kind is the kind of indicator looked up.
type Kind string

const (
	KindIP     Kind = "ip"
	KindDomain Kind = "domain"
)

// Level is the overall verdict on an indicator, merged over providers.
type Level string

const (
	// LevelMalicious: at least one provider says malicious.
	LevelMalicious Level = "malicious"
	// LevelSuspicious: no provider says malicious, at least one says
	// suspicious.
	LevelSuspicious Level = "suspicious"
	// LevelClean: at least one provider knows the indicator and none flags
	// it.
	LevelClean Level = "clean"
	// LevelUnknown: no provider knows the indicator (all skipped, failed,
	// or had no record). A miss in a blocklist is unknown, not clean.
	LevelUnknown Level = "unknown"
)

// Score thresholds shared by the online providers, so that a score means the
// same whichever service produced it.
const (
	// MaliciousScore is the score at and above which a verdict is malicious.
	MaliciousScore = 75
	// SuspiciousScore is the score at and above which a verdict is
	// suspicious.
	SuspiciousScore = 25
)

// Provider is one source of threat intelligence. Implementations must be
// safe for concurrent use. A provider that does not handle a kind of
// indicator returns an error wrapping ErrUnsupported. An indicator the
// provider has no record of is a Verdict with Found false, not an error.
type Provider interface {
	// Name is short, unique within a Checker, and used in results and
	// cache keys ("local", "abuseipdb", "virustotal").
	Name() string
	LookupIP(ctx context.Context, addr netip.Addr) (*Verdict, error)
	// LookupDomain receives a normalised name: lower case, ASCII
	// (punycode), no trailing dot.
	LookupDomain(ctx context.Context, domain string) (*Verdict, error)
}

// OfflineProvider is implemented by providers that answer without sending
// anything off the machine (a List). The Checker hands private addresses and
// internal names only to providers that implement it and return true; any
// other provider is treated as an outside service.
type OfflineProvider interface {
	Provider
	Offline() bool
}

// Verdict is one provider's answer about one indicator.
type Verdict struct {
	// Found is true when the provider has a record of the indicator (a list
	// entry matched, the service knows it). A clean verdict needs it.
	Found bool `json:"found"`
	// Malicious is true when Score >= MaliciousScore (or a blocklist
	// matched).
	Malicious bool `json:"malicious"`
	// Suspicious is true when the indicator is flagged but not malicious.
	Suspicious bool `json:"suspicious"`
	// Score is 0-100: AbuseIPDB's abuseConfidenceScore; for VirusTotal
	// 25 per engine flagging malicious plus 10 per suspicious, at most 100;
	// 100 for a blocklist match.
	Score int `json:"score"`
	// Categories are labels: list names and categories from list files,
	// VirusTotal tags and vendor categories. At most maxCategories.
	Categories []string `json:"categories,omitempty"`
	// Reports counts the evidence: AbuseIPDB totalReports, VirusTotal
	// engines flagging malicious or suspicious, matching list entries.
	Reports int `json:"reports"`
	// LastSeen is the provider's latest record: AbuseIPDB lastReportedAt,
	// VirusTotal last_analysis_date. Zero (and left out) when unknown.
	LastSeen time.Time `json:"last_seen,omitzero"`
	// Link is the provider's page for the indicator, for a person to read.
	Link string `json:"link,omitempty"`
	// Details are further facts in snake_case keys (country, isp, as_owner,
	// matched entry and its source line, ...). At most maxDetails.
	Details map[string]string `json:"details,omitempty"`
}

// Status says how a provider's part of a check went.
type Status string

const (
	StatusOK      Status = "ok"
	StatusSkipped Status = "skipped"
	StatusError   Status = "error"
)

// ProviderResult is one provider's part of a Result.
type ProviderResult struct {
	Provider string `json:"provider"`
	Status   Status `json:"status"`
	// Verdict is set when Status is "ok".
	Verdict *Verdict `json:"verdict,omitempty"`
	// Skipped says why the provider was not asked: "no API key: set
	// ABUSEIPDB_API_KEY or Config.AbuseIPDB.APIKey", "private address never
	// sent to an outside service", "abuseipdb does not look up domains", ...
	Skipped string `json:"skipped,omitempty"`
	// Error is the failure, when Status is "error"; ErrorCode classifies it:
	// unauthorized, rate_limited, timeout, canceled, api_error or error.
	Error     string `json:"error,omitempty"`
	ErrorCode string `json:"error_code,omitempty"`
	// Cached is true when the verdict came from the Checker's cache.
	Cached bool `json:"cached,omitempty"`
	// Err is the error itself, for errors.Is/As in Go; not marshalled.
	Err error `json:"-"`
}

// Result is the merged answer about one indicator.
type Result struct {
	// Indicator is the normalised indicator: an IPv4-mapped address
	// unmapped, a domain in lower case and punycode without trailing dot.
	Indicator string `json:"indicator"`
	Kind      Kind   `json:"kind"`
	// Public is false for addresses and names that are never sent to an
	// outside service; only offline providers saw them.
	Public bool `json:"public"`
	// Verdict is the overall level; Score the highest score of any provider.
	Verdict Level `json:"verdict"`
	Score   int   `json:"score"`
	// Providers lists every configured provider, in configuration order,
	// including the skipped ones.
	Providers []ProviderResult `json:"providers"`
}
