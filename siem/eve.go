package siem

import (
	"time"

	"github.com/agents-of-shield/reconpcap/report"
)

// EVEAlert is one Suricata EVE JSON alert record.
type EVEAlert struct {
	Timestamp    string    `json:"timestamp"`
	EventType    string    `json:"event_type"`
	SrcIP        string    `json:"src_ip,omitempty"`
	DestIP       string    `json:"dest_ip,omitempty"`
	PcapFilename string    `json:"pcap_filename,omitempty"`
	Host         string    `json:"host,omitempty"`
	Alert        EVEDetail `json:"alert"`
}

// EVEDetail is the alert object of an EVE alert record.
type EVEDetail struct {
	Action      string `json:"action"`
	GID         int    `json:"gid"`
	SignatureID int    `json:"signature_id"`
	Rev         int    `json:"rev"`
	Signature   string `json:"signature"`
	Category    string `json:"category"`
	// Severity is Suricata's: 1 is the gravest, 3 the least.
	Severity int `json:"severity"`
	// Source and Target are the attack's two sides, as Suricata fills them
	// for rules with a target keyword: for exfiltration and DNS tunnels
	// the target is the internal host whose data leaves, the packets'
	// source.
	Source   *EVEEndpoint `json:"source,omitempty"`
	Target   *EVEEndpoint `json:"target,omitempty"`
	Metadata EVEMetadata  `json:"metadata"`
}

// EVEEndpoint is one side of an alert.
type EVEEndpoint struct {
	IP string `json:"ip"`
}

// EVEMetadata holds the keys Suricata's rules use (arrays of strings) and
// reconpcap's own fields.
type EVEMetadata struct {
	SignatureSeverity []string `json:"signature_severity"`
	Tag               []string `json:"tag"`
	// MITRETechniqueID lists the finding's ATT&CK techniques, the key
	// Emerging Threats rules use.
	MITRETechniqueID []string `json:"mitre_technique_id,omitempty"`
	Reconpcap        Details  `json:"reconpcap"`
}

// Details are a finding's own fields, as reconpcap reports them, in EVE's
// metadata and under ECS's reconpcap field set.
type Details struct {
	Type       report.AttackType   `json:"type"`
	Technique  string              `json:"technique,omitempty"`
	Severity   report.Severity     `json:"severity"`
	Confidence report.Confidence   `json:"confidence"`
	Decides    bool                `json:"decides"`
	Summary    string              `json:"summary"`
	FirstSeen  *time.Time          `json:"first_seen,omitempty"`
	LastSeen   *time.Time          `json:"last_seen,omitempty"`
	Counts     map[string]int64    `json:"counts,omitempty"`
	Samples    map[string][]string `json:"samples,omitempty"`
	// Frames, DisplayFilter and MITRE are the finding's evidence
	// references: where its packets are, the Wireshark filter that selects
	// them, its ATT&CK techniques.
	Frames        *report.FrameRef `json:"frames,omitempty"`
	DisplayFilter string           `json:"display_filter,omitempty"`
	MITRE         []string         `json:"mitre,omitempty"`
}

// eveTime is EVE's timestamp: microseconds and a numeric zone without a
// colon, "2009-11-24T21:27:09.534255+0000".
const eveTime = "2006-01-02T15:04:05.000000-0700"

// EVE returns the EVE alert record of a finding.
func EVE(src Source, f report.Finding) EVEAlert {
	rec := EVEAlert{
		Timestamp:    src.when(f).Format(eveTime),
		EventType:    "alert",
		SrcIP:        ip(f.Source),
		DestIP:       ip(f.Target),
		PcapFilename: src.PcapFile,
		Host:         src.Sensor,
		Alert: EVEDetail{
			Action:      "allowed", // we read a capture: nothing was blocked
			GID:         1,
			SignatureID: SignatureID(f.Type, f.Technique),
			Rev:         1,
			Signature:   signature(f),
			Category:    category(f.Type),
			Severity:    eveSeverity(f.Severity),
			Metadata: EVEMetadata{
				SignatureSeverity: []string{signatureSeverity(f.Severity)},
				Tag:               []string{"reconpcap", string(f.Type)},
				MITRETechniqueID:  f.MITRE,
				Reconpcap:         details(f),
			},
		},
	}
	victim, actor := ip(f.Victim()), ip(f.Source)
	if victim == actor {
		actor = ip(f.Target)
	}
	if victim != "" {
		rec.Alert.Target = &EVEEndpoint{IP: victim}
	}
	if actor != "" {
		rec.Alert.Source = &EVEEndpoint{IP: actor}
	}
	return rec
}

// eveSeverity maps ours to Suricata's 1 (gravest) to 3.
func eveSeverity(s report.Severity) int {
	switch s {
	case report.SeverityCritical, report.SeverityHigh:
		return 1
	case report.SeverityMedium:
		return 2
	}
	return 3
}

// signatureSeverity is the signature_severity metadata value Emerging
// Threats rules use.
func signatureSeverity(s report.Severity) string {
	switch s {
	case report.SeverityCritical:
		return "Critical"
	case report.SeverityHigh:
		return "Major"
	case report.SeverityMedium:
		return "Minor"
	}
	return "Informational"
}

func details(f report.Finding) Details {
	d := Details{
		Type: f.Type, Technique: f.Technique, Severity: f.Severity, Confidence: f.Confidence,
		Decides: f.Decides(), Summary: f.Summary, Counts: f.Counts, Samples: f.Samples,
		Frames: f.Frames, DisplayFilter: f.DisplayFilter, MITRE: f.MITRE,
	}
	if !f.FirstSeen.IsZero() {
		t := f.FirstSeen.UTC()
		d.FirstSeen = &t
	}
	if !f.LastSeen.IsZero() {
		t := f.LastSeen.UTC()
		d.LastSeen = &t
	}
	return d
}
