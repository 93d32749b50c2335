package report

import "time"

// Finding is one thing a detector found: the module's one finding type, which
// every detector emits and every consumer (the MCP tools, the analysts, the
// report) reads. The detectors package produces it; it is defined here so
// that report imports nothing of ours.
type Finding struct {
	// Type is the kind of attack: port_scan, http_enumeration,
	// data_exfiltration or dns_tunneling.
	Type AttackType `json:"type"`
	// Technique names how, within the type: "syn", "connect", "fin",
	// "xmas", "null", "udp", "horizontal_syn", "scanner_user_agent", ...
	Technique string `json:"technique"`
	// Source is the address that acted.
	Source string `json:"source"`
	// Target is the address acted on, or "multiple_targets".
	Target     string     `json:"target"`
	Severity   Severity   `json:"severity"`
	Confidence Confidence `json:"confidence"`
	// Summary is one line a person can read.
	Summary string `json:"summary"`
	// FirstSeen and LastSeen bound the activity in capture time; they are
	// left out of the JSON when zero (a finding built without timestamps).
	FirstSeen time.Time `json:"first_seen,omitzero"`
	LastSeen  time.Time `json:"last_seen,omitzero"`
	// Counts are the numbers that justify the finding (packets, ports,
	// requests, bytes, ...), named in snake_case.
	Counts map[string]int64 `json:"counts,omitempty"`
	// Samples are bounded lists of examples (ports, paths, names). Strings
	// that came from packets are attacker-controlled.
	Samples map[string][]string `json:"samples,omitempty"`
	// Frames locates the packets that are the evidence, the ones
	// DisplayFilter selects: nil until a pass over the capture looked for
	// them (detectors.Analysis does, for every finding).
	Frames *FrameRef `json:"frames,omitempty"`
	// DisplayFilter is a Wireshark display filter that selects exactly
	// the evidence packets in Wireshark or tshark; "" when none was made.
	DisplayFilter string `json:"display_filter,omitempty"`
	// MITRE lists the MITRE ATT&CK techniques the finding is an instance
	// of (see MITRETechniques), parent technique first.
	MITRE []string `json:"mitre,omitempty"`
}

// FrameRef locates a finding's evidence in its capture by frame number,
// as Wireshark and tshark number frames (the first is 1).
type FrameRef struct {
	First   int `json:"first"`
	Last    int `json:"last"`
	Packets int `json:"packets"`
}

// Decides reports whether a finding is sure and grave enough to decide a
// verdict: medium confidence or more and medium severity or more. Any other
// finding is a note: listed in the evidence, never the verdict's type,
// target or severity, never a stage of an escalation, and not counted in
// threat_count. A weak signal must not page anyone on its own, however many
// of them a busy network gives.
func (f Finding) Decides() bool {
	return f.Confidence.Rank() >= ConfidenceMedium.Rank() && f.Severity.Rank() >= SeverityMedium.Rank()
}
