package siem

import (
	"strconv"
	"time"

	"github.com/agents-of-shield/reconpcap/report"
)

// ECSVersion is the Elastic Common Schema version the events follow.
const ECSVersion = "8.17.0"

// ECSEvent is one Elastic Common Schema alert event.
type ECSEvent struct {
	Timestamp   time.Time      `json:"@timestamp"`
	ECS         ECSMeta        `json:"ecs"`
	Message     string         `json:"message"`
	Event       ECSEventFields `json:"event"`
	Rule        ECSRule        `json:"rule"`
	Source      *ECSEndpoint   `json:"source,omitempty"`
	Destination *ECSEndpoint   `json:"destination,omitempty"`
	Threat      *ECSThreat     `json:"threat,omitempty"`
	File        *ECSFile       `json:"file,omitempty"`
	Observer    ECSObserver    `json:"observer"`
	Reconpcap   Details        `json:"reconpcap"`
}

// ECSMeta is the ecs field set.
type ECSMeta struct {
	Version string `json:"version"`
}

// ECSEventFields is the event field set.
type ECSEventFields struct {
	Kind     string     `json:"kind"`
	Category []string   `json:"category"`
	Type     []string   `json:"type"`
	Module   string     `json:"module"`
	Dataset  string     `json:"dataset"`
	Severity int        `json:"severity"`
	Start    *time.Time `json:"start,omitempty"`
	End      *time.Time `json:"end,omitempty"`
}

// ECSRule is the rule field set.
type ECSRule struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Category string `json:"category"`
	Ruleset  string `json:"ruleset"`
}

// ECSEndpoint is the source or destination field set.
type ECSEndpoint struct {
	IP string `json:"ip"`
}

// ECSThreat is the threat field set.
type ECSThreat struct {
	Framework string             `json:"framework"`
	Technique ECSThreatTechnique `json:"technique"`
}

// ECSThreatTechnique lists ATT&CK technique IDs.
type ECSThreatTechnique struct {
	ID []string `json:"id"`
}

// ECSFile is the file field set: the capture.
type ECSFile struct {
	Path string `json:"path"`
}

// ECSObserver is the observer field set: what saw the traffic.
type ECSObserver struct {
	Name    string `json:"name,omitempty"`
	Type    string `json:"type"`
	Vendor  string `json:"vendor"`
	Product string `json:"product"`
}

// ECS returns the ECS alert event of a finding.
func ECS(src Source, f report.Finding) ECSEvent {
	d := details(f)
	ev := ECSEvent{
		Timestamp: src.when(f).UTC(),
		ECS:       ECSMeta{Version: ECSVersion},
		Message:   f.Summary,
		Event: ECSEventFields{
			Kind:     "alert",
			Category: []string{"network", "intrusion_detection"},
			Type:     []string{"info"},
			Module:   "reconpcap",
			Dataset:  "reconpcap.finding",
			Severity: ecsSeverity(f.Severity),
			Start:    d.FirstSeen,
			End:      d.LastSeen,
		},
		Rule: ECSRule{
			ID:       strconv.Itoa(SignatureID(f.Type, f.Technique)),
			Name:     signature(f),
			Category: category(f.Type),
			Ruleset:  "reconpcap",
		},
		Observer:  ECSObserver{Name: src.Sensor, Type: "ids", Vendor: "reconpcap", Product: "reconpcap"},
		Reconpcap: d,
	}
	if a := ip(f.Source); a != "" {
		ev.Source = &ECSEndpoint{IP: a}
	}
	if a := ip(f.Target); a != "" {
		ev.Destination = &ECSEndpoint{IP: a}
	}
	if src.PcapFile != "" {
		ev.File = &ECSFile{Path: src.PcapFile}
	}
	if len(f.MITRE) > 0 {
		ev.Threat = &ECSThreat{Framework: "MITRE ATT&CK", Technique: ECSThreatTechnique{ID: f.MITRE}}
	}
	return ev
}

// ecsSeverity is event.severity on the 0-100 scale Elastic's detection
// rules use (low 21, medium 47, high 73, critical 99).
func ecsSeverity(s report.Severity) int {
	switch s {
	case report.SeverityCritical:
		return 99
	case report.SeverityHigh:
		return 73
	case report.SeverityMedium:
		return 47
	}
	return 21
}
