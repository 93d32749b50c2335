package detectors

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/report"
)

// dnsSignals is the judgement of one (client, domain) pair. Score counts
// the signals that hold, of three kinds:
//
// Shape of the names (the data is in them):
//   - long_labels: a label of cfg.DNS.LongLabel characters or more;
//   - high_entropy: the mean entropy of the distinct subdomains at or
//     above cfg.DNS.EntropyThreshold (the mean, not the highest: one odd
//     name among a domain's host names must not count);
//   - encoded_labels: at least a third of the distinct names carry a hex,
//     base32, base64 or binary-looking label.
//
// Channel (the records and answers are a tunnel's, not a browser's; the
// four answer signals mark a channel only when the records do, or most
// names are filled with data (see dnsDataLabelLen), or the encoded labels
// add up to dnsDataVolume characters, since blocking resolvers answer so
// too: otherwise they count as volume, and unanswered is not counted at
// all):
//   - data_record_types: TXT, NULL, CNAME, MX, SRV and rare or private
//     types together are at least half of the queries (records that
//     carry data back: iodine picks among NULL, TXT, SRV, MX, CNAME and
//     private types);
//   - nxdomain: at least half of the answered queries are NXDOMAIN (a
//     one-way exfiltration whose server answers nothing real), unless
//     most names end in a top-level domain of their own: those are host
//     names the resolver's search list lengthened;
//   - odd_answers: at least half of the NOERROR answers to A and AAAA
//     questions give no usable address (nothing, 0.0.0.0, loopback);
//   - failed_answers: at least half of the answers are SERVFAIL or
//     REFUSED (the resolver cannot reach the tunnel's server, or will
//     not ask it);
//   - unanswered: fewer answers than half the queries (a one-way
//     exfiltration whose server stays silent; a capture of one
//     direction only looks so too, hence the gate below).
//
// Volume (alone it marks nothing: browsers ask many new names too):
//   - unique_names: at least 90% of the queries ask for a name asked once;
//   - query_rate: cfg.DNS.RatePerMinute queries per minute or more over
//     the pair's active span (a span under a minute counts as one minute,
//     so a short burst is not a rate).
//
// A pair is judged when it asked at least cfg.DNS.MinQueries queries for
// at least cfg.DNS.MinUniqueSubdomains distinct names, and flagged when a
// shape signal and a channel or volume signal hold. See verdict for the
// severity and confidence.
type dnsSignals struct {
	Score   int
	Shape   int
	Channel int
	Volume  int
	Names   []string
	Rate    float64 // queries per minute
}

// Kinds of dnsSignals.
const (
	sigShape = iota
	sigChannel
	sigVolume
)

// dnsSignalCount is how many signals judgeDNS can find.
const dnsSignalCount = 10

// dnsExfilMinNames is how many distinct names a pair whose answers look
// ordinary must ask, most of them encoded and filled with data, to be
// judged exfiltration in A or AAAA queries: a browser asks a CDN's domain
// for a handful of short tokens, a file leaving in the names takes
// hundreds of long ones.
const dnsExfilMinNames = 30

func judgeDNS(cfg DNSConfig, pr *dnsPair) dnsSignals {
	var s dnsSignals
	add := func(kind int, name string) {
		s.Score++
		s.Names = append(s.Names, name)
		switch kind {
		case sigShape:
			s.Shape++
		case sigChannel:
			s.Channel++
		default:
			s.Volume++
		}
	}
	g := &pr.names
	if g.maxLabel >= cfg.LongLabel {
		add(sigShape, "long_labels")
	}
	if g.meanEntropy() >= cfg.EntropyThreshold {
		add(sigShape, "high_entropy")
	}
	if g.measured > 0 && g.encodedNames*3 >= g.measured {
		add(sigShape, "encoded_labels")
	}
	if pr.queries > 0 && 2*dataRecordQueries(&pr.qtypes) >= pr.queries {
		add(sigChannel, "data_record_types")
	}
	if g.set.queries > 0 && g.set.uniqueShare() >= 0.9 {
		add(sigVolume, "unique_names")
	}
	s.Rate = float64(pr.queries) / max(pr.last.Sub(pr.first).Minutes(), 1)
	if s.Rate >= cfg.RatePerMinute {
		add(sigVolume, "query_rate")
	}
	// A resolver that blocks ads or malware answers NXDOMAIN or 0.0.0.0
	// for every name of a blocked domain, hashed ad names included: the
	// answers mark a channel only when the names carry data or the
	// records do.
	answers := sigVolume
	if s.Channel > 0 || g.measured > 0 && (2*g.dataNames >= g.measured || g.encodedVolume() >= dnsDataVolume) {
		answers = sigChannel
	}
	if pr.responses > 0 && 2*pr.nxdomain >= pr.responses && (g.measured == 0 || 2*g.embedded < g.measured) {
		add(answers, "nxdomain")
	}
	if pr.addrAnswers > 0 && 2*pr.oddAnswers >= pr.addrAnswers {
		add(answers, "odd_answers")
	}
	if pr.responses > 0 && 2*pr.failed >= pr.responses {
		add(answers, "failed_answers")
	}
	// Silence is a channel's only when the names carry data: a capture
	// of one direction leaves every browser unanswered.
	if 2*pr.responses < pr.queries && answers == sigChannel {
		add(answers, "unanswered")
	}
	return s
}

func dataRecordQueries(qt *[qtCount]int64) int64 {
	return qt[qtTXT] + qt[qtNULL] + qt[qtCNAME] + qt[qtMX] + qt[qtSRV] + qt[qtOther]
}

// dnsVerdict is what a pair's signals amount to.
type dnsVerdict struct {
	severity   report.Severity
	confidence report.Confidence
	technique  string
}

// verdict judges a pair, or says it is no finding.
//
// With a channel signal (data records, NXDOMAIN, odd answers) the names
// and the answers agree that data moves: high severity and confidence from
// four signals, medium at three, medium severity with low confidence at
// two. Without one the answers are what a browser gets, so the names alone
// must carry data: encoded labels of dnsDataLabelLen characters or more in
// most of at least dnsExfilMinNames distinct names is exfiltration in
// address queries (high severity, medium confidence); anything less
// (random-looking CDN host names, many of them, fast) rests on volume and
// shape only and is a low, low-confidence note.
func (s *dnsSignals) verdict(pr *dnsPair) (dnsVerdict, bool) {
	if s.Shape == 0 || s.Channel+s.Volume == 0 {
		return dnsVerdict{}, false
	}
	tech := dnsTechnique(&pr.qtypes, pr.queries)
	if s.Channel > 0 {
		switch {
		case s.Score >= 4:
			return dnsVerdict{report.SeverityHigh, report.ConfidenceHigh, tech}, true
		case s.Score == 3:
			return dnsVerdict{report.SeverityMedium, report.ConfidenceMedium, tech}, true
		}
		return dnsVerdict{report.SeverityMedium, report.ConfidenceLow, tech}, true
	}
	g := &pr.names
	if 2*g.encodedNames >= g.measured && 2*g.dataNames >= g.measured && g.unique() >= dnsExfilMinNames {
		return dnsVerdict{report.SeverityHigh, report.ConfidenceMedium, tech}, true
	}
	return dnsVerdict{report.SeverityLow, report.ConfidenceLow, "random_subdomains"}, true
}

// dnsMaxClientFindings is how many clients of one domain get a finding of
// their own: past it (a tunnel spread over many clients, or spoofed ones)
// the domain gets one finding, from its busiest client, naming the others.
const dnsMaxClientFindings = 5

// dnsOtherClients is how many other clients that finding lists.
const dnsOtherClients = 20

// Findings flags each (client, domain) pair whose signals agree.
func (d *dnsDetector) Findings(cfg Config, _ *capture.Capture) []report.Finding {
	type flagged struct {
		pr *dnsPair
		s  dnsSignals
		v  dnsVerdict
	}
	byDomain := map[*dnsDomain][]flagged{}
	var order []*dnsDomain
	// A resolver that forwards a client's names upstream asks them too;
	// the tunnel is the client's, so the resolver's pair is no finding.
	resolves := map[dnsPairKey]bool{}
	for _, pr := range d.pairList {
		for _, r := range pr.resolvers {
			resolves[dnsPairKey{client: r, domain: pr.domain.index}] = true
		}
	}
	for _, pr := range d.pairList {
		dom := pr.domain
		if dom.excluded != "" || pr.queries < int64(cfg.DNS.MinQueries) || pr.names.unique() < int64(cfg.DNS.MinUniqueSubdomains) {
			continue
		}
		if resolves[dnsPairKey{client: pr.client, domain: dom.index}] {
			continue
		}
		// Reversed addresses under a zone are blocklist lookups.
		if 2*pr.names.reversedIP >= pr.names.measured {
			continue
		}
		s := judgeDNS(cfg.DNS, pr)
		v, ok := s.verdict(pr)
		if !ok {
			continue
		}
		if byDomain[dom] == nil {
			order = append(order, dom)
		}
		byDomain[dom] = append(byDomain[dom], flagged{pr, s, v})
	}
	var out []report.Finding
	for _, dom := range order {
		fl := byDomain[dom]
		if len(fl) <= dnsMaxClientFindings {
			for _, f := range fl {
				out = append(out, f.pr.finding(f.s, f.v))
			}
			continue
		}
		slices.SortFunc(fl, func(x, y flagged) int {
			return cmp.Or(cmp.Compare(y.v.severity.Rank(), x.v.severity.Rank()), cmp.Compare(y.pr.queries, x.pr.queries), x.pr.client.Compare(y.pr.client))
		})
		f := fl[0].pr.finding(fl[0].s, fl[0].v)
		var queries int64
		others := make([]string, 0, dnsOtherClients)
		for i, o := range fl {
			queries += o.pr.queries
			if i > 0 && len(others) < dnsOtherClients {
				others = append(others, o.pr.client.String())
			}
		}
		f.Counts[report.CountClientsFlagged] = int64(len(fl))
		f.Counts[report.CountDomainQueriesFlagged] = queries
		f.Counts[report.CountDomainUniqueSubdomains] = dom.names.unique()
		f.Samples[report.SampleOtherClients] = others
		f.Summary += fmt.Sprintf("; %d other clients ask names under %s the same way (%d queries in all, about %d distinct names)",
			len(fl)-1, dom.name, queries, dom.names.unique())
		out = append(out, f)
	}
	// By domain, then client, before the stable sort: the order of the
	// pairs (which part or packet came first) must not show.
	slices.SortFunc(out, func(x, y report.Finding) int {
		return cmp.Or(strings.Compare(x.Samples[report.SampleDomain][0], y.Samples[report.SampleDomain][0]), strings.Compare(x.Source, y.Source))
	})
	SortFindings(out)
	return out
}

func (pr *dnsPair) finding(s dnsSignals, v dnsVerdict) report.Finding {
	target := "multiple_targets"
	if len(pr.resolvers) == 1 && !pr.moreRes {
		target = pr.resolvers[0].String()
	}
	g := &pr.names
	unique := strconv.FormatInt(g.unique(), 10)
	if g.set.sampled() {
		unique = "about " + unique
	}
	summary := fmt.Sprintf("%s sent %d DNS queries for %s distinct names under %s (longest label %d chars, mean label %.1f, mean entropy %.2f bits/char, %d%% encoded-looking, %s); %d of %d tunnel signals: %s",
		pr.client, pr.queries, unique, pr.domain.name, g.maxLabel, g.meanLabel(), g.meanEntropy(),
		int(math.Round(100*g.encodedShare())), qtypeMix(&pr.qtypes), s.Score, dnsSignalCount, strings.Join(s.Names, ", "))
	if s.Channel == 0 && v.severity == report.SeverityLow {
		summary += "; neither the records nor the answers mark a channel, and the names are not filled with data: CDN, ad and tracking host names look so"
	}
	counts := map[string]int64{
		report.CountQueries:           pr.queries,
		report.CountUniqueSubdomains:  g.unique(),
		report.CountMaxLabelLen:       int64(g.maxLabel),
		report.CountMaxNameLen:        int64(g.maxNameLen),
		report.CountMeanLabelLenX10:   int64(math.Round(10 * g.meanLabel())),
		report.CountMeanEntropyX100:   int64(math.Round(100 * g.meanEntropy())),
		report.CountMaxEntropyX100:    int64(math.Round(100 * g.entropyMax)),
		report.CountEncodedNames:      g.encodedNames,
		report.CountMeasuredNames:     g.measured,
		report.CountResponses:         pr.responses,
		report.CountNXDomain:          pr.nxdomain,
		report.CountAddressAnswers:    pr.addrAnswers,
		report.CountOddAnswers:        pr.oddAnswers,
		report.CountQueriesPerMinute:  int64(math.Round(s.Rate)),
		report.CountScore:             int64(s.Score),
		report.CountDurationMs:        pr.last.Sub(pr.first).Milliseconds(),
		report.CountResolvers:         int64(len(pr.resolvers)),
		report.CountUniqueSampled:     b2i(g.set.sampled()),
		report.CountDataRecordQueries: dataRecordQueries(&pr.qtypes),
	}
	for i, n := range pr.qtypes {
		if n > 0 {
			counts[report.CountQTypePrefix+strings.ToLower(qtNames[i])] = n
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
	samples := map[string][]string{
		report.SampleDomain:      {pr.domain.name},
		report.SampleNames:       slices.Clone(pr.samples),
		report.SampleLongestName: {longest},
		report.SampleSignals:     slices.Clone(s.Names),
		report.SampleResolvers:   res,
	}
	if e := g.encoding(); e != "" {
		samples[report.SampleEncoding] = []string{e}
	}
	return report.Finding{
		Type:       report.AttackDNSTunneling,
		Technique:  v.technique,
		Source:     pr.client.String(),
		Target:     target,
		Severity:   v.severity,
		Confidence: v.confidence,
		Summary:    summary,
		FirstSeen:  pr.first.UTC(),
		LastSeen:   pr.last.UTC(),
		Counts:     counts,
		Samples:    samples,
	}
}

// encodedVolume estimates the characters of encoded labels over every
// distinct name (the measured names are a sample once the set samples).
func (g *nameAgg) encodedVolume() int64 {
	if g.measured == 0 {
		return 0
	}
	return int64(float64(g.encodedChars) * float64(max(g.unique(), g.measured)) / float64(g.measured))
}

// encoding names the encoding most of the encoded names use ("" when no
// name looks encoded).
func (g *nameAgg) encoding() string {
	best := -1
	for k, n := range g.encodings {
		if n > 0 && (best < 0 || n > g.encodings[best]) {
			best = k
		}
	}
	if best < 0 {
		return ""
	}
	return encNames[best]
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// dnsTechnique names what carries most of the tunnel: "a_query_exfil"
// when A and AAAA questions are most of the queries (the data goes out in
// the names, nothing comes back in the records), "txt_records" when TXT
// is, "mixed_records" when no type is.
func dnsTechnique(qt *[qtCount]int64, queries int64) string {
	if 2*(qt[qtA]+qt[qtAAAA]) > queries {
		return "a_query_exfil"
	}
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
