package report

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestParseAttackType(t *testing.T) {
	tests := []struct {
		in   string
		want AttackType
	}{
		{"port_scan", AttackPortScan},
		{"Port Scan", AttackPortScan},
		{"  PORT-SCAN ", AttackPortScan},
		{"portscan", AttackPortScan},
		{"port scanning", AttackPortScan},
		{"HTTP Enumeration", AttackHTTPEnumeration},
		{"web enumeration", AttackHTTPEnumeration},
		{"Data Exfiltration", AttackDataExfiltration},
		{"exfil", AttackDataExfiltration},
		{"DNS tunnelling", AttackDNSTunneling},
		{"dns_tunneling", AttackDNSTunneling},
		{"Multiple", AttackMultiple},
		{"multiple attacks", AttackMultiple},
		{"unknown", AttackUnknown},
		{"None", AttackUnknown},
		{"N/A", AttackUnknown},
		{"benign", AttackUnknown},
	}
	for _, tt := range tests {
		got, err := ParseAttackType(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseAttackType(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "ddos", "port", "sql injection", "port_scan_and_more"} {
		if got, err := ParseAttackType(bad); err == nil {
			t.Errorf("ParseAttackType(%q) = %q, want an error", bad, got)
		}
	}
	_, err := ParseAttackType("ddos")
	if want := `unknown attack type "ddos" (want one of port_scan, http_enumeration, data_exfiltration, dns_tunneling, multiple, unknown)`; err.Error() != want {
		t.Errorf("ParseAttackType error = %q, want %q", err, want)
	}
}

func TestParseSeverity(t *testing.T) {
	tests := []struct {
		in   string
		want Severity
	}{
		{"low", SeverityLow}, {"LOW", SeverityLow}, {"info", SeverityLow}, {"informational", SeverityLow},
		{"Medium", SeverityMedium}, {"med", SeverityMedium}, {"moderate", SeverityMedium},
		{" high ", SeverityHigh},
		{"crit", SeverityCritical}, {"CRITICAL", SeverityCritical},
	}
	for _, tt := range tests {
		got, err := ParseSeverity(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseSeverity(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "catastrophic", "5", "very high"} {
		if got, err := ParseSeverity(bad); err == nil {
			t.Errorf("ParseSeverity(%q) = %q, want an error", bad, got)
		}
	}
	_, err := ParseSeverity("catastrophic")
	if want := `unknown severity "catastrophic" (want one of low, medium, high, critical)`; err.Error() != want {
		t.Errorf("ParseSeverity error = %q, want %q", err, want)
	}
}

func TestParseConfidence(t *testing.T) {
	tests := []struct {
		in   string
		want Confidence
	}{
		{"low", ConfidenceLow}, {"Med", ConfidenceMedium}, {"moderate", ConfidenceMedium}, {"HIGH", ConfidenceHigh},
	}
	for _, tt := range tests {
		got, err := ParseConfidence(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseConfidence(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	// critical is a severity, not a confidence.
	for _, bad := range []string{"", "critical", "certain", "100%"} {
		if got, err := ParseConfidence(bad); err == nil {
			t.Errorf("ParseConfidence(%q) = %q, want an error", bad, got)
		}
	}
}

func TestRankAndValid(t *testing.T) {
	for i, s := range Severities {
		if s.Rank() != i+1 || !s.Valid() {
			t.Errorf("%q: Rank() = %d, Valid() = %v; want %d, true", s, s.Rank(), s.Valid(), i+1)
		}
	}
	for i, c := range Confidences {
		if c.Rank() != i+1 || !c.Valid() {
			t.Errorf("%q: Rank() = %d, Valid() = %v; want %d, true", c, c.Rank(), c.Valid(), i+1)
		}
	}
	if SeverityCritical.Rank() <= SeverityHigh.Rank() || ConfidenceHigh.Rank() <= ConfidenceMedium.Rank() {
		t.Error("Rank does not order from low to high")
	}
	for _, bad := range []string{"", "High", "crit"} {
		if Severity(bad).Valid() || Severity(bad).Rank() != 0 || Confidence(bad).Valid() || Confidence(bad).Rank() != 0 || AttackType(bad).Valid() {
			t.Errorf("%q: Valid is true or Rank is not 0; Valid is strict", bad)
		}
	}
	if len(AttackTypes) != 6 {
		t.Errorf("len(AttackTypes) = %d, want 6", len(AttackTypes))
	}
	for _, a := range AttackTypes {
		if !a.Valid() {
			t.Errorf("%q.Valid() = false", a)
		}
		if want := a != AttackUnknown; a.IsThreat() != want {
			t.Errorf("%q.IsThreat() = %v, want %v", a, a.IsThreat(), want)
		}
	}
	if AttackType("ddos").IsThreat() {
		t.Error(`"ddos".IsThreat() = true for an invalid type`)
	}
}

func TestEnumJSON(t *testing.T) {
	var v struct {
		T AttackType `json:"t"`
		S Severity   `json:"s"`
		C Confidence `json:"c"`
	}
	if err := json.Unmarshal([]byte(`{"t": "Port Scan", "s": "crit", "c": "MED"}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.T != AttackPortScan || v.S != SeverityCritical || v.C != ConfidenceMedium {
		t.Errorf("lenient unmarshal = %+v", v)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"t":"port_scan","s":"critical","c":"medium"}`; string(out) != want {
		t.Errorf("Marshal = %s, want %s", out, want)
	}
	// null leaves the value as it was, as for any string.
	if err := json.Unmarshal([]byte(`{"t": null, "s": null, "c": null}`), &v); err != nil {
		t.Fatalf("null: %v", err)
	}
	if v.T != AttackPortScan || v.S != SeverityCritical || v.C != ConfidenceMedium {
		t.Errorf("after null = %+v, want unchanged", v)
	}
	for _, bad := range []string{`{"t": "ddos"}`, `{"s": "catastrophic"}`, `{"c": "certain"}`, `{"s": 3}`, `{"t": ["port_scan"]}`} {
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("Unmarshal(%s) succeeded, want an error", bad)
		}
	}
	err = json.Unmarshal([]byte(`{"s": "catastrophic"}`), &v)
	if err == nil || !strings.Contains(err.Error(), "low, medium, high, critical") {
		t.Errorf("Unmarshal error = %v, want the valid values listed", err)
	}
}

func TestFindingKinds(t *testing.T) {
	want := []AttackType{AttackPortScan, AttackHTTPEnumeration, AttackDataExfiltration, AttackDNSTunneling}
	if got := FindingTypes(); !slices.Equal(got, want) {
		t.Errorf("FindingTypes() = %v, want %v", got, want)
	}
	for _, k := range FindingKinds {
		if !k.Type.IsThreat() || k.Type == AttackMultiple || k.Name == "" {
			t.Errorf("kind %+v: a finding type must be a threat type other than multiple, with a name", k)
		}
	}
	for _, tc := range []struct {
		typ  AttackType
		want string
	}{
		{AttackPortScan, "10.0.0.9"},
		{AttackHTTPEnumeration, "10.0.0.9"},
		{AttackDataExfiltration, "10.0.0.5"},
		{AttackDNSTunneling, "10.0.0.5"},
	} {
		f := Finding{Type: tc.typ, Source: "10.0.0.5", Target: "10.0.0.9"}
		if got := f.Victim(); got != tc.want {
			t.Errorf("Victim() of a %s finding = %s, want %s", tc.typ, got, tc.want)
		}
	}
	if _, ok := AttackMultiple.Kind(); ok {
		t.Error("multiple is not the type of a finding")
	}
	if got := ListText(FindingTypes(), "or"); got != "port_scan, http_enumeration, data_exfiltration or dns_tunneling" {
		t.Errorf("ListText = %q", got)
	}
}
