package report

import (
	"slices"
	"testing"
)

func TestMITRE(t *testing.T) {
	tests := []struct {
		typ  AttackType
		tech string
		want []string
	}{
		{AttackPortScan, "syn", []string{"T1046"}},
		{AttackPortScan, "udp_fragmented", []string{"T1046"}},
		{AttackPortScan, "horizontal_udp", []string{"T1046", "T1595", "T1595.001"}},
		{AttackPortScan, "icmp_sweep", []string{"T1595", "T1595.001"}},
		{AttackPortScan, "fragment_overlap", nil},
		{AttackHTTPEnumeration, "directory_bruteforce", []string{"T1595", "T1595.003"}},
		{AttackHTTPEnumeration, "credential_bruteforce", []string{"T1110", "T1110.001"}},
		{AttackHTTPEnumeration, "sql_injection", []string{"T1190"}},
		{AttackHTTPEnumeration, "something_new", []string{"T1595"}},
		{AttackDataExfiltration, "icmp_tunnel", []string{"T1048", "T1048.003"}},
		{AttackDataExfiltration, "outbound_upload", []string{"T1048"}},
		{AttackDNSTunneling, "a_query_exfil", []string{"T1071.004", "T1048", "T1048.003"}},
		{AttackDNSTunneling, "txt_records", []string{"T1071.004"}},
		{AttackMultiple, "syn", nil},
	}
	for _, tt := range tests {
		if got := MITRE(tt.typ, tt.tech); !slices.Equal(got, tt.want) {
			t.Errorf("MITRE(%s, %s) = %v, want %v", tt.typ, tt.tech, got, tt.want)
		}
	}
	// Every finding type has a fallback, and the result is the caller's.
	for _, k := range FindingKinds {
		if len(MITRE(k.Type, "no_such_technique")) == 0 {
			t.Errorf("%s has no fallback ATT&CK technique", k.Type)
		}
	}
	got := MITRE(AttackPortScan, "syn")
	got[0] = "changed"
	if MITRE(AttackPortScan, "syn")[0] != "T1046" {
		t.Error("MITRE returned the table's own slice")
	}
}
