package report

import (
	"slices"
	"strings"
)

// MITRETechnique maps the findings of one type and technique to the MITRE
// ATT&CK techniques they are instances of. MITRETechniques is the one
// table, kept beside FindingKinds: a new technique is one entry here.
type MITRETechnique struct {
	Type AttackType
	// Technique is the finding's technique; a trailing "*" matches every
	// technique with that prefix, "" every technique of the type (the
	// fallback).
	Technique string
	IDs       []string
}

// MITRETechniques lists, per finding type, the techniques in the order
// they are looked up: the first entry that matches wins.
var MITRETechniques = []MITRETechnique{
	// Sweeps look for live hosts or one service over many addresses.
	{AttackPortScan, "icmp_sweep", []string{"T1595", "T1595.001"}},
	{AttackPortScan, "arp_sweep", []string{"T1595", "T1595.001"}},
	{AttackPortScan, "horizontal_*", []string{"T1046", "T1595", "T1595.001"}},
	// Crafted fragments evade inspection; no discovery technique fits.
	{AttackPortScan, "fragment_overlap", nil},
	// Every other scan (syn, connect, fin, null, xmas, udp, ack, their
	// _fragmented forms, service and OS probes) maps a host's services.
	{AttackPortScan, "", []string{"T1046"}},

	{AttackHTTPEnumeration, "directory_bruteforce", []string{"T1595", "T1595.003"}},
	{AttackHTTPEnumeration, "vhost_fuzzing", []string{"T1595", "T1595.003"}},
	{AttackHTTPEnumeration, "scanner_user_agent", []string{"T1595", "T1595.002"}},
	{AttackHTTPEnumeration, "credential_bruteforce", []string{"T1110", "T1110.001"}},
	{AttackHTTPEnumeration, "sql_injection", []string{"T1190"}},
	{AttackHTTPEnumeration, "path_traversal", []string{"T1190"}},
	{AttackHTTPEnumeration, "xss", []string{"T1190"}},
	{AttackHTTPEnumeration, "sensitive_file_exposure", []string{"T1190"}},
	{AttackHTTPEnumeration, "", []string{"T1595"}},

	// ICMP echo payloads: an unencrypted protocol that is not the C2's.
	{AttackDataExfiltration, "icmp_*", []string{"T1048", "T1048.003"}},
	// Uploads split into pieces or dripped slowly keep each piece small.
	{AttackDataExfiltration, "split_upload", []string{"T1048", "T1030"}},
	{AttackDataExfiltration, "slow_drip", []string{"T1048", "T1030"}},
	{AttackDataExfiltration, "", []string{"T1048"}},

	// Data in plain A queries leaves over DNS itself.
	{AttackDNSTunneling, "a_query_exfil", []string{"T1071.004", "T1048", "T1048.003"}},
	{AttackDNSTunneling, "", []string{"T1071.004"}},
}

// MITRE returns the ATT&CK technique IDs of a finding of type t and
// technique technique (a copy the caller owns), nil when none fits.
func MITRE(t AttackType, technique string) []string {
	for _, m := range MITRETechniques {
		if m.Type != t {
			continue
		}
		switch {
		case m.Technique == "", m.Technique == technique,
			strings.HasSuffix(m.Technique, "*") && strings.HasPrefix(technique, strings.TrimSuffix(m.Technique, "*")):
			return slices.Clone(m.IDs)
		}
	}
	return nil
}
