package siem

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"time"

	"github.com/agents-of-shield/reconpcap/report"
)

// Source says where findings come from: what EVE calls pcap_filename and
// the time given to a finding that carries none.
type Source struct {
	// PcapFile is the capture's path, written as EVE's pcap_filename and
	// ECS's file.path; "" leaves it out.
	PcapFile string
	// Start is the capture's first packet time, the timestamp of a finding
	// without FirstSeen. Zero means the time of writing.
	Start time.Time
	// Sensor names the host that recorded the capture, EVE's host and ECS's
	// observer.name; "" leaves it out.
	Sensor string
}

// Format is an output format of this package.
type Format string

// The formats.
const (
	FormatEVE Format = "eve"
	FormatECS Format = "ecs"
)

// ParseFormat returns the format named s.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case FormatEVE, FormatECS:
		return Format(s), nil
	}
	return "", fmt.Errorf("siem: unknown format %q (want eve or ecs)", s)
}

// Write writes one record per finding to w, one JSON object per line.
func Write(w io.Writer, format Format, src Source, findings []report.Finding) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i, f := range findings {
		var rec any
		switch format {
		case FormatEVE:
			rec = EVE(src, f)
		case FormatECS:
			rec = ECS(src, f)
		default:
			return fmt.Errorf("siem: unknown format %q", format)
		}
		if err := enc.Encode(rec); err != nil {
			return fmt.Errorf("siem: finding %d: %w", i+1, err)
		}
	}
	return nil
}

// when is a finding's start time, or the source's fallback.
func (s Source) when(f report.Finding) time.Time {
	switch {
	case !f.FirstSeen.IsZero():
		return f.FirstSeen
	case !s.Start.IsZero():
		return s.Start
	}
	return time.Now()
}

// SignatureID is the stable rule number of a finding's type and technique,
// in 9,000,000 to 9,999,999, a range Suricata's rule sets leave to local
// rules: 9,000,000 + 100,000 x (1 + the type's index in
// report.FindingKinds) + the technique's FNV-1a hash mod 100,000. The same
// type and technique always get the same number, across runs and
// versions, so a SIEM can tune or suppress one.
func SignatureID(t report.AttackType, technique string) int {
	idx := len(report.FindingKinds) // not a finding type: after them
	for i, k := range report.FindingKinds {
		if k.Type == t {
			idx = i
		}
	}
	h := fnv.New32a()
	h.Write([]byte(technique))
	return 9_000_000 + 100_000*(1+idx) + int(h.Sum32()%100_000)
}

// category is the Suricata classification (classification.config's
// description) a finding type falls under.
func category(t report.AttackType) string {
	switch t {
	case report.AttackPortScan:
		return "Detection of a Network Scan"
	case report.AttackHTTPEnumeration:
		return "Attempted Information Leak"
	case report.AttackDataExfiltration:
		return "Potential Corporate Privacy Violation"
	case report.AttackDNSTunneling:
		return "Potentially Bad Traffic"
	}
	return "Misc activity"
}

// signature is the alert's one-line name: a fixed prefix, the kind and
// the technique. The finding's summary, which can hold capture strings,
// goes to the metadata instead, so rule names stay a small fixed set.
func signature(f report.Finding) string {
	name := string(f.Type)
	if k, ok := f.Type.Kind(); ok {
		name = k.Name
	}
	if f.Technique != "" {
		return fmt.Sprintf("RECONPCAP %s (%s)", name, f.Technique)
	}
	return "RECONPCAP " + name
}

// ip returns s when it is an address the finding names, "" for the
// placeholders (multiple_targets, unknown).
func ip(s string) string {
	switch s {
	case "", report.TargetMultiple, report.TargetUnknown:
		return ""
	}
	return s
}
