package htmlreport

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"time"

	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/internal/humanize"
	"github.com/agents-of-shield/reconpcap/report"
)

//go:embed report.html.tmpl
var pageTemplate string

//go:embed chart.js
var chartScript string

//go:embed style.css
var styleSheet string

// Input is what a page shows.
type Input struct {
	// Analysis is the capture's analysis; required.
	Analysis *detectors.Analysis
	// Report is the verdict: an investigation's, or for an analysis alone
	// the rules analyst's (agent.RulesAnswer). Nil leaves the verdict out
	// and lists the findings only.
	Report *report.Report
}

// chartData is the data block the chart script draws.
type chartData struct {
	IntervalSeconds int `json:"interval_seconds"`
	// IntervalMS is the interval in milliseconds, what the script steps by.
	IntervalMS int64          `json:"interval_ms"`
	Intervals  []chartBucket  `json:"intervals"`
	Findings   []chartFinding `json:"findings"`
}

type chartBucket struct {
	Start   int64  `json:"start"` // Unix milliseconds
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
	Burst   bool   `json:"burst"`
}

type chartFinding struct {
	Index    int    `json:"index"`
	Label    string `json:"label"`
	Severity string `json:"severity"`
	Start    int64  `json:"start"`
	End      int64  `json:"end"`
}

// page is the template's data.
type page struct {
	Title     string
	File      string
	Analysis  *detectors.Analysis
	Report    *report.Report
	Verdict   verdict
	Findings  []report.Finding
	Chart     chartData
	DNS       detectors.DNSReport
	HTTP      []detectors.HTTPClientStats
	TLS       []tlsRow
	TLSStats  detectors.TLSStats
	Style     template.CSS
	Script    template.JS
	Generated string
}

// verdict is the headline: the investigation's, or the findings' own.
type verdict struct {
	AttackType, Target, Severity, Confidence string
	By                                       string
}

// maxHTTPRows bounds the HTTP highlights table.
const maxHTTPRows = 20

// Write writes the page for in to w.
func Write(w io.Writer, in Input) error {
	if in.Analysis == nil {
		return fmt.Errorf("htmlreport: no analysis to show")
	}
	a := in.Analysis
	p := page{
		Title:    "reconpcap: " + a.File,
		File:     a.File,
		Analysis: a,
		Report:   in.Report,
		Findings: a.Findings,
		DNS:      a.DNS(),
		Style:    template.CSS(styleSheet),
		Script:   template.JS(chartScript),
	}
	if in.Report != nil {
		r := in.Report
		p.Findings = r.Findings
		p.Verdict = verdict{
			AttackType: string(r.AttackAssessment.AttackType), Target: r.AttackAssessment.Target,
			Severity: string(r.AttackAssessment.Severity), Confidence: string(r.AttackAssessment.Confidence),
			By: analystName(r.Analyst),
		}
		if !r.Timestamp.IsZero() {
			p.Generated = r.Timestamp.UTC().Format(time.RFC3339)
		}
	}
	http := a.HTTPClients()
	slices.SortStableFunc(http, func(x, y detectors.HTTPClientStats) int { return int(y.Requests - x.Requests) })
	p.HTTP = http[:min(len(http), maxHTTPRows)]
	p.Chart = chart(a.Timeline, p.Findings)
	hs, stats := a.TLSHandshakes()
	p.TLS, p.TLSStats = tlsRows(hs), stats

	t, err := template.New("report").Funcs(funcs).Parse(pageTemplate)
	if err != nil {
		return fmt.Errorf("htmlreport: %w", err)
	}
	if err := t.Execute(w, p); err != nil {
		return fmt.Errorf("htmlreport: %w", err)
	}
	return nil
}

// chart builds the chart's data from the timeline and the findings' spans.
func chart(tl detectors.Timeline, fs []report.Finding) chartData {
	d := chartData{IntervalSeconds: tl.IntervalSeconds, IntervalMS: int64(tl.IntervalSeconds) * 1000, Intervals: []chartBucket{}, Findings: []chartFinding{}}
	if tl.IntervalMilliseconds > 0 {
		d.IntervalMS = tl.IntervalMilliseconds
	}
	for _, iv := range tl.Intervals {
		d.Intervals = append(d.Intervals, chartBucket{Start: iv.Start.UnixMilli(), Packets: iv.Packets, Bytes: iv.Bytes, Burst: iv.Burst})
	}
	for i, f := range fs {
		if f.FirstSeen.IsZero() {
			continue
		}
		end := f.LastSeen
		if end.IsZero() {
			end = f.FirstSeen
		}
		d.Findings = append(d.Findings, chartFinding{
			Index: i + 1, Label: fmt.Sprintf("#%d %s %s", i+1, f.Type, f.Technique), Severity: string(f.Severity),
			Start: f.FirstSeen.UnixMilli(), End: end.UnixMilli(),
		})
	}
	return d
}

var funcs = template.FuncMap{
	"bytes": func(n any) string {
		switch v := n.(type) {
		case int64:
			return humanize.Bytes(v)
		case uint64:
			return humanize.Bytes(v)
		case int:
			return humanize.Bytes(v)
		}
		return fmt.Sprint(n)
	},
	"time": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05.000")
	},
	"timep": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	},
	"inc": func(i int) int { return i + 1 },
}

// analystName says who reached an investigation's verdict.
func analystName(a report.Analyst) string {
	if a.Model != "" {
		return a.Mode + " (" + a.Model + ")"
	}
	return a.Mode
}

// tlsRow is one server name of the TLS highlights: how many handshakes
// asked for it, from how many clients, with which client fingerprints.
type tlsRow struct {
	SNI        string
	Handshakes int
	Clients    int
	JA4        []string
}

// maxTLSRows bounds the TLS highlights table; maxTLSJA4 the fingerprints
// shown per name.
const (
	maxTLSRows = 20
	maxTLSJA4  = 3
)

// tlsRows groups handshakes by server name, most asked for first.
func tlsRows(hs []*detectors.TLSHandshake) []tlsRow {
	type acc struct {
		row     tlsRow
		clients map[string]bool
	}
	by := map[string]*acc{}
	var order []string
	for _, h := range hs {
		a := by[h.SNI]
		if a == nil {
			a = &acc{row: tlsRow{SNI: h.SNI}, clients: map[string]bool{}}
			by[h.SNI] = a
			order = append(order, h.SNI)
		}
		a.row.Handshakes++
		a.clients[h.Client.String()] = true
		if h.JA4 != "" && !slices.Contains(a.row.JA4, h.JA4) && len(a.row.JA4) < maxTLSJA4 {
			a.row.JA4 = append(a.row.JA4, h.JA4)
		}
	}
	rows := make([]tlsRow, 0, len(order))
	for _, sni := range order {
		a := by[sni]
		a.row.Clients = len(a.clients)
		rows = append(rows, a.row)
	}
	slices.SortStableFunc(rows, func(x, y tlsRow) int { return y.Handshakes - x.Handshakes })
	return rows[:min(len(rows), maxTLSRows)]
}
