package siem_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/internal/testfiles"
	"github.com/agents-of-shield/reconpcap/report"
	"github.com/agents-of-shield/reconpcap/siem"
)

// attackCaptures are testdata recordings whose findings the tests write.
var attackCaptures = []string{
	"scan_syn.pcap", "scan_udp.pcap", "sweep_syn.pcap", "scan_decoy.pcap", "http_gobuster.pcap",
	"http_sqlmap.pcap", "exfil_high.pcap", "exfil_icmp.pcap", "dns_tunnel.pcap", "benign_browse.pcap",
}

// findingsOf analyses testdata captures and returns their findings with
// the capture each came from.
func findingsOf(t *testing.T) (map[string][]report.Finding, int) {
	t.Helper()
	out := map[string][]report.Finding{}
	n := 0
	for _, name := range attackCaptures {
		path := testfiles.Testdata(t, name)
		a, err := detectors.Analyze(t.Context(), path, detectors.Config{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[path] = a.Findings
		n += len(a.Findings)
	}
	if n < len(attackCaptures)-1 {
		t.Fatalf("only %d findings from %d attack captures", n, len(attackCaptures))
	}
	return out, n
}

// TestEVEValidatesAgainstSuricataSchema writes the findings of real
// recordings as EVE and validates every line against Suricata's published
// EVE JSON schema (../shared/eve/schema.json, GPL-2.0, never copied here).
func TestEVEValidatesAgainstSuricataSchema(t *testing.T) {
	schemaPath := testfiles.Shared(t, "eve/schema.json")
	f, err := os.Open(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("eve.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("eve.json")
	if err != nil {
		t.Fatal(err)
	}

	byFile, n := findingsOf(t)
	lines := 0
	for path, findings := range byFile {
		var buf bytes.Buffer
		if err := siem.Write(&buf, siem.FormatEVE, siem.Source{PcapFile: path, Sensor: "sensor-1"}, findings); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(&buf)
		sc.Buffer(nil, 1<<20)
		for i := 0; sc.Scan(); i++ {
			lines++
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(sc.Bytes()))
			if err != nil {
				t.Fatalf("%s line %d: not JSON: %v", path, i+1, err)
			}
			if err := schema.Validate(v); err != nil {
				t.Errorf("%s line %d does not validate: %v\n%s", filepath.Base(path), i+1, err, sc.Bytes())
			}
			var rec siem.EVEAlert
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatal(err)
			}
			want := findings[i]
			if rec.EventType != "alert" || rec.SrcIP != want.Source || rec.Alert.Metadata.Reconpcap.Technique != want.Technique {
				t.Errorf("%s line %d: %+v does not carry finding %+v", filepath.Base(path), i+1, rec, want)
			}
			if m := rec.Alert.Metadata; !slices.Equal(m.MITRETechniqueID, want.MITRE) || m.Reconpcap.DisplayFilter != want.DisplayFilter || (want.Frames != nil && *m.Reconpcap.Frames != *want.Frames) {
				t.Errorf("%s line %d: evidence references %+v, want the finding's %v %q %+v", filepath.Base(path), i+1, m, want.MITRE, want.DisplayFilter, want.Frames)
			}
			if len(want.MITRE) == 0 || want.Frames == nil {
				t.Errorf("%s line %d: the finding has no evidence references to carry", filepath.Base(path), i+1)
			}
			if _, err := netip.ParseAddr(rec.SrcIP); err != nil {
				t.Errorf("%s line %d: src_ip %q is not an address", filepath.Base(path), i+1, rec.SrcIP)
			}
		}
	}
	if lines != n {
		t.Errorf("%d EVE lines for %d findings", lines, n)
	}
}

// TestEVEFields checks the mapping of one finding to the fields a SIEM
// keys on.
func TestEVEFields(t *testing.T) {
	exfil := report.Finding{
		Type: report.AttackDataExfiltration, Technique: "tcp_upload", Source: "10.0.0.5", Target: "203.0.113.9",
		Severity: report.SeverityHigh, Confidence: report.ConfidenceHigh, Summary: "10.0.0.5 sent 12 MB",
	}
	rec := siem.EVE(siem.Source{}, exfil)
	if rec.Alert.Severity != 1 || rec.Alert.Target.IP != "10.0.0.5" || rec.Alert.Source.IP != "203.0.113.9" {
		t.Errorf("exfil: severity %d, target %+v, source %+v: want 1, the uploading host as target", rec.Alert.Severity, rec.Alert.Target, rec.Alert.Source)
	}
	scan := report.Finding{Type: report.AttackPortScan, Technique: "syn", Source: "10.0.0.7", Target: report.TargetMultiple, Severity: report.SeverityLow}
	rec = siem.EVE(siem.Source{}, scan)
	if rec.DestIP != "" || rec.Alert.Target != nil || rec.Alert.Severity != 3 {
		t.Errorf("scan of many targets: dest_ip %q, target %+v, severity %d", rec.DestIP, rec.Alert.Target, rec.Alert.Severity)
	}
	if a, b := siem.SignatureID(report.AttackPortScan, "syn"), siem.SignatureID(report.AttackPortScan, "udp"); a == b || a < 9_000_000 || a > 9_999_999 {
		t.Errorf("signature IDs %d and %d: want distinct, in 9,000,000-9,999,999", a, b)
	}
}

// TestECSEvents checks the ECS fields a SIEM keys on for real findings.
func TestECSEvents(t *testing.T) {
	byFile, _ := findingsOf(t)
	for path, findings := range byFile {
		var buf bytes.Buffer
		if err := siem.Write(&buf, siem.FormatECS, siem.Source{PcapFile: path}, findings); err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			if line == "" {
				continue
			}
			var ev map[string]any
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatalf("%s line %d: %v", path, i+1, err)
			}
			event, _ := ev["event"].(map[string]any)
			if event["kind"] != "alert" {
				t.Errorf("%s line %d: event.kind %v", path, i+1, event["kind"])
			}
			src, _ := ev["source"].(map[string]any)
			if src["ip"] != findings[i].Source {
				t.Errorf("%s line %d: source.ip %v, want %s", path, i+1, src["ip"], findings[i].Source)
			}
			threat, _ := ev["threat"].(map[string]any)
			tech, _ := threat["technique"].(map[string]any)
			if ids, _ := tech["id"].([]any); len(ids) == 0 || ids[0] != findings[i].MITRE[0] {
				t.Errorf("%s line %d: threat.technique.id %v, want %v", path, i+1, tech["id"], findings[i].MITRE)
			}
			if _, ok := ev["@timestamp"].(string); !ok {
				t.Errorf("%s line %d: no @timestamp", path, i+1)
			}
		}
	}
}
