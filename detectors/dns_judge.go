package detectors

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agents-of-shield/reconpcap/report"
)

// dnsSignals is the judgement of one (client, domain) pair. Score counts
// the signals that hold, of two kinds:
//
// Shape of the names (the data is in them):
//   - long: a label of cfg.DNS.LongLabel characters or more;
//   - entropy: the mean entropy of the distinct subdomains at or above
//     cfg.DNS.EntropyThreshold (the mean, not the highest: one odd name
//     among a domain's host names must not count);
//   - encoded: at least a third of the distinct names carry a hex, base32
//     or base64-looking label.
//
// Behaviour of the client (a tunnel asks, it does not browse):
//   - qtype: TXT, NULL, CNAME and MX together are at least half of the
//     queries (records that carry data back);
//   - unique: at least 90% of the queries ask for a name asked once;
//   - rate: cfg.DNS.RatePerMinute queries per minute or more over the
//     pair's active span (a span under a minute counts as one minute, so
//     a short burst is not a rate);
//   - nxdomain: at least half of the answered queries are NXDOMAIN (a
//     one-way exfiltration whose server answers nothing real).
//
// A pair is flagged when it asked at least cfg.DNS.MinQueries queries for
// at least cfg.DNS.MinUniqueSubdomains distinct names, and at least one
// shape signal and one behaviour signal hold. It is high severity when
// four or more signals hold (clearly a tunnel), medium otherwise;
// confidence is high from four signals, medium at three, low at two.
type dnsSignals struct {
	Score    int
	Shape    int
	Behavior int
	Names    []string
	Rate     float64 // queries per minute
}

func judgeDNS(cfg DNSConfig, queries, answered, nx int64, qtypes *[qtCount]int64, g *nameAgg, first, last time.Time) dnsSignals {
	var s dnsSignals
	add := func(shape bool, name string) {
		s.Score++
		s.Names = append(s.Names, name)
		if shape {
			s.Shape++
		} else {
			s.Behavior++
		}
	}
	if g.maxLabel >= cfg.LongLabel {
		add(true, "long_labels")
	}
	if g.meanEntropy() >= cfg.EntropyThreshold {
		add(true, "high_entropy")
	}
	if g.unique > 0 && g.encodedNames*3 >= g.unique {
		add(true, "encoded_labels")
	}
	if queries > 0 && 2*(qtypes[qtTXT]+qtypes[qtNULL]+qtypes[qtCNAME]+qtypes[qtMX]) >= queries {
		add(false, "data_record_types")
	}
	if queries > 0 && 10*g.unique >= 9*queries {
		add(false, "unique_names")
	}
	s.Rate = float64(queries) / max(last.Sub(first).Minutes(), 1)
	if s.Rate >= cfg.RatePerMinute {
		add(false, "query_rate")
	}
	if answered > 0 && 2*nx >= answered {
		add(false, "nxdomain")
	}
	return s
}

// Findings flags each (client, domain) pair whose signals agree.
func (d *dnsDetector) Findings(cfg Config, _ *Capture) []report.Finding {
	var out []report.Finding
	for _, pr := range d.pairList {
		dom := pr.domain
		if dom.excluded != "" || pr.queries < int64(cfg.DNS.MinQueries) || pr.names.unique < int64(cfg.DNS.MinUniqueSubdomains) {
			continue
		}
		// Reversed addresses under a zone are blocklist lookups.
		if 2*pr.names.reversedIP >= pr.names.unique {
			continue
		}
		s := judgeDNS(cfg.DNS, pr.queries, pr.responses, pr.nxdomain, &pr.qtypes, &pr.names, pr.first, pr.last)
		if s.Shape == 0 || s.Behavior == 0 {
			continue
		}
		out = append(out, pr.finding(s))
	}
	SortFindings(out)
	return out
}

func (pr *dnsPair) finding(s dnsSignals) report.Finding {
	sev, conf := report.SeverityMedium, report.ConfidenceLow
	switch {
	case s.Score >= 4:
		sev, conf = report.SeverityHigh, report.ConfidenceHigh
	case s.Score == 3:
		conf = report.ConfidenceMedium
	}
	target := "multiple_targets"
	if len(pr.resolvers) == 1 && !pr.moreRes {
		target = pr.resolvers[0].String()
	}
	g := &pr.names
	unique := strconv.FormatInt(g.unique, 10)
	if g.capped {
		unique = "at least " + unique
	}
	summary := fmt.Sprintf("%s sent %d DNS queries for %s distinct names under %s (longest label %d chars, mean label %.1f, mean entropy %.2f bits/char, %d%% encoded-looking, %s); %d of 7 tunnel signals: %s",
		pr.client, pr.queries, unique, pr.domain.name, g.maxLabel, g.meanLabel(), g.meanEntropy(),
		int(math.Round(100*g.encodedShare())), qtypeMix(&pr.qtypes), s.Score, strings.Join(s.Names, ", "))
	counts := map[string]int64{
		"queries":             pr.queries,
		"unique_subdomains":   g.unique,
		"max_label_len":       int64(g.maxLabel),
		"max_name_len":        int64(g.maxNameLen),
		"mean_label_len_x10":  int64(math.Round(10 * g.meanLabel())),
		"mean_entropy_x100":   int64(math.Round(100 * g.meanEntropy())),
		"max_entropy_x100":    int64(math.Round(100 * g.entropyMax)),
		"encoded_names":       g.encodedNames,
		"responses":           pr.responses,
		"nxdomain":            pr.nxdomain,
		"queries_per_minute":  int64(math.Round(s.Rate)),
		"score":               int64(s.Score),
		"duration_ms":         pr.last.Sub(pr.first).Milliseconds(),
		"resolvers":           int64(len(pr.resolvers)),
		"unique_capped":       b2i(g.capped),
		"data_record_queries": pr.qtypes[qtTXT] + pr.qtypes[qtNULL] + pr.qtypes[qtCNAME] + pr.qtypes[qtMX],
	}
	for i, n := range pr.qtypes {
		if n > 0 {
			counts["qtype_"+strings.ToLower(qtNames[i])] = n
		}
	}
	longest := g.longestName
	if len(longest) > dnsSampleLen {
		longest = longest[:dnsSampleLen]
	}
	res := make([]string, len(pr.resolvers))
	for i, a := range pr.resolvers {
		res[i] = a.String()
	}
	return report.Finding{
		Type:       report.AttackDNSTunneling,
		Technique:  dnsTechnique(&pr.qtypes, pr.queries),
		Source:     pr.client.String(),
		Target:     target,
		Severity:   sev,
		Confidence: conf,
		Summary:    summary,
		FirstSeen:  pr.first.UTC(),
		LastSeen:   pr.last.UTC(),
		Counts:     counts,
		Samples: map[string][]string{
			"domain":       {pr.domain.name},
			"names":        slices.Clone(pr.samples),
			"longest_name": {longest},
			"signals":      slices.Clone(s.Names),
			"resolvers":    res,
		},
	}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// dnsTechnique names the record type that carries most of the tunnel:
// "txt_records" when TXT is most of the queries, "mixed_records" when no
// type is.
func dnsTechnique(qt *[qtCount]int64, queries int64) string {
	best := 0
	for i := range qt {
		if qt[i] > qt[best] {
			best = i
		}
	}
	if 2*qt[best] <= queries {
		return "mixed_records"
	}
	return strings.ToLower(qtNames[best]) + "_records"
}

// qtypeMix writes the query types, most used first: "TXT 22" or "CNAME 191, A 127, ...".
func qtypeMix(qt *[qtCount]int64) string {
	idx := make([]int, 0, qtCount)
	for i, n := range qt {
		if n > 0 {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(qt[b], qt[a]) })
	parts := make([]string, len(idx))
	for i, j := range idx {
		parts[i] = qtNames[j] + " " + strconv.FormatInt(qt[j], 10)
	}
	return strings.Join(parts, ", ")
}
