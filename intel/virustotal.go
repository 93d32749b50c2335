package intel

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/agents-of-shield/reconpcap/internal/netscope"
)

// DefaultVirusTotalURL is the VirusTotal API v3 base URL.
const DefaultVirusTotalURL = "https://www.virustotal.com/api/v3"

// VirusTotalConfig configures the VirusTotal provider (IP addresses and
// domains). Its APIKey is sent in the x-apikey header and read from
// VIRUSTOTAL_API_KEY by New; its BaseURL defaults to DefaultVirusTotalURL,
// its Rate to 4 a minute, spaced 15 s apart (the public API's limit).
type VirusTotalConfig struct {
	ProviderConfig
}

// VirusTotal looks IP addresses and domains up in VirusTotal's API v3.
type VirusTotal struct {
	base string
	r    *remote
}

var defaultVirusTotalRate = Rate{Requests: 4, Per: time.Minute, Burst: 1}

// NewVirusTotal returns the provider, or ErrNoAPIKey without a key.
func NewVirusTotal(cfg VirusTotalConfig) (*VirusTotal, error) {
	base, err := baseURL(cfg.BaseURL, DefaultVirusTotalURL)
	if err != nil {
		return nil, fmt.Errorf("virustotal: %w", err)
	}
	r, err := newRemote("virustotal", cfg.ProviderConfig, defaultVirusTotalRate)
	if err != nil {
		return nil, err
	}
	return &VirusTotal{base: base, r: r}, nil
}

// Name returns "virustotal".
func (v *VirusTotal) Name() string { return "virustotal" }

// LookupIP fetches /ip_addresses/{ip}. Non-public addresses are refused
// with ErrNotPublic without sending anything.
func (v *VirusTotal) LookupIP(ctx context.Context, addr netip.Addr) (*Verdict, error) {
	addr = addr.Unmap().WithZone("")
	if class := netscope.Class(addr); class != "" {
		return nil, fmt.Errorf("virustotal: %s address: %w", class, ErrNotPublic)
	}
	s := addr.String()
	return v.lookup(ctx, "/ip_addresses/"+url.PathEscape(s), "https://www.virustotal.com/gui/ip-address/"+url.PathEscape(s))
}

// LookupDomain fetches /domains/{domain}. Names that are not public DNS
// names are refused with ErrNotPublic without sending anything.
func (v *VirusTotal) LookupDomain(ctx context.Context, domain string) (*Verdict, error) {
	name, err := normalizeDomain(domain)
	if err != nil {
		return nil, err
	}
	if why := classifyDomain(name); why != "" {
		return nil, fmt.Errorf("virustotal: %s: %w", why, ErrNotPublic)
	}
	return v.lookup(ctx, "/domains/"+url.PathEscape(name), "https://www.virustotal.com/gui/domain/"+url.PathEscape(name))
}

// virusTotalObject is the part of an IP address or domain object we read.
type virusTotalObject struct {
	Data struct {
		ID         string `json:"id"`
		Type       string `json:"type"`
		Attributes struct {
			LastAnalysisStats struct {
				Harmless   int `json:"harmless"`
				Malicious  int `json:"malicious"`
				Suspicious int `json:"suspicious"`
				Undetected int `json:"undetected"`
				Timeout    int `json:"timeout"`
			} `json:"last_analysis_stats"`
			Reputation       int               `json:"reputation"`
			Tags             []string          `json:"tags"`
			LastAnalysisDate int64             `json:"last_analysis_date"`
			ASOwner          string            `json:"as_owner"`
			ASN              int               `json:"asn"`
			Country          string            `json:"country"`
			Network          string            `json:"network"`
			Registrar        string            `json:"registrar"`
			Categories       map[string]string `json:"categories"`
			TotalVotes       struct {
				Harmless  int `json:"harmless"`
				Malicious int `json:"malicious"`
			} `json:"total_votes"`
		} `json:"attributes"`
	} `json:"data"`
}

func (v *VirusTotal) lookup(ctx context.Context, path, link string) (*Verdict, error) {
	h := http.Header{}
	h.Set("x-apikey", v.r.key)
	h.Set("Accept", "application/json")
	resp, err := v.r.get(ctx, v.base+path, h, virusTotalError)
	if err != nil {
		return nil, err
	}
	if resp.status == http.StatusNotFound {
		code, msg := virusTotalError(resp.body)
		if code != "NotFoundError" {
			// Not VirusTotal's "no such object": a wrong BaseURL or proxy.
			return nil, &APIError{Provider: v.Name(), StatusCode: resp.status, Code: clean(code, 64), Message: clean(v.r.redact(msg), maxErrorLen)}
		}
		// VirusTotal has no record of the indicator. That is an answer.
		return &Verdict{Link: link}, nil
	}
	var o virusTotalObject
	if err := json.Unmarshal(resp.body, &o); err != nil {
		return nil, fmt.Errorf("virustotal: reading answer: %w", err)
	}
	a := o.Data.Attributes
	st := a.LastAnalysisStats
	verdict := &Verdict{
		Found:   true,
		Score:   min(100, 25*st.Malicious+10*st.Suspicious),
		Reports: st.Malicious + st.Suspicious,
		Link:    link,
		Details: map[string]string{
			"analysis_stats": fmt.Sprintf("malicious=%d suspicious=%d harmless=%d undetected=%d timeout=%d",
				st.Malicious, st.Suspicious, st.Harmless, st.Undetected, st.Timeout),
			"reputation": strconv.Itoa(a.Reputation),
			"votes":      fmt.Sprintf("harmless=%d malicious=%d", a.TotalVotes.Harmless, a.TotalVotes.Malicious),
		},
	}
	verdict.Malicious = verdict.Score >= MaliciousScore
	verdict.Suspicious = !verdict.Malicious && verdict.Score >= SuspiciousScore
	if a.LastAnalysisDate > 0 {
		verdict.LastSeen = time.Unix(a.LastAnalysisDate, 0).UTC()
	}
	verdict.Categories = append(verdict.Categories, a.Tags...)
	// Categories is vendor -> category; sort vendors so the order is stable.
	for _, k := range slices.Sorted(maps.Keys(a.Categories)) {
		verdict.Categories = append(verdict.Categories, a.Categories[k])
	}
	set := func(k, val string) {
		if val != "" {
			verdict.Details[k] = val
		}
	}
	set("as_owner", a.ASOwner)
	if a.ASN != 0 {
		set("asn", strconv.Itoa(a.ASN))
	}
	set("country", a.Country)
	set("network", a.Network)
	set("registrar", a.Registrar)
	return verdict, nil
}

// virusTotalError reads {"error": {"code": "...", "message": "..."}}.
func virusTotalError(body []byte) (code, message string) {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return "", ""
	}
	return e.Error.Code, e.Error.Message
}
