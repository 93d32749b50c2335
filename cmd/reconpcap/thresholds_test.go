package main

import (
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/agents-of-shield/reconpcap/detectors"
)

// TestExampleConfigIsComplete loads docs/reconpcap.toml, the documented
// example, and checks it names every setting with its default, so the
// example cannot fall behind detectors.Config.
func TestExampleConfigIsComplete(t *testing.T) {
	const example = "../../docs/reconpcap.toml"
	cfg, err := loadConfigFile(example)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Defaults(), (detectors.Config{}).Defaults(); !equalConfig(got, want) {
		t.Errorf("the example's values are not the defaults:\n got %+v\nwant %+v", got, want)
	}
	var tree map[string]any
	md, err := toml.DecodeFile(example, &tree)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings() {
		if !md.IsDefined(strings.Split(s.key, ".")...) {
			t.Errorf("docs/reconpcap.toml does not document %s", s.key)
		}
	}
}

func equalConfig(a, b detectors.Config) bool {
	return strings.EqualFold(format2(a), format2(b))
}

func format2(c detectors.Config) string {
	var parts []string
	for _, s := range settings() {
		parts = append(parts, s.key+"="+s.format(&c))
	}
	return strings.Join(parts, " ")
}

func TestConfigFileAndFlags(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.toml", "top_n = 5\n[port_scan]\nthreshold = 25\n[exfil]\ninternal_networks = [\"198.51.100.0/24\"]\n[dns]\nentropy_threshold = 3.9\n")
	tests := []struct {
		name    string
		args    []string
		check   func(detectors.Config) bool
		wantErr string
	}{
		{"file", []string{"--config", good}, func(c detectors.Config) bool {
			return c.TopN == 5 && c.PortScan.Threshold == 25 && c.DNS.EntropyThreshold == 3.9 &&
				len(c.Exfil.InternalNetworks) == 1 && c.Exfil.InternalNetworks[0] == netip.MustParsePrefix("198.51.100.0/24")
		}, ""},
		{"flag overrides file", []string{"--port-scan-threshold", "40", "--config", good}, func(c detectors.Config) bool {
			return c.PortScan.Threshold == 40 && c.TopN == 5
		}, ""},
		{"duration flag", []string{"--timeline-interval", "90"}, func(c detectors.Config) bool { return c.TimelineInterval == 90*time.Second }, ""},
		{"unknown key", []string{"--config", write("typo.toml", "[port_scan]\ntreshold = 3\n")}, nil, "unknown key port_scan.treshold"},
		{"unknown section", []string{"--config", write("sect.toml", "[portscan]\nthreshold = 3\n")}, nil, "unknown key portscan.threshold"},
		{"wrong type", []string{"--config", write("type.toml", "top_n = \"many\"\n")}, nil, "top_n"},
		{"not toml", []string{"--config", write("bad.toml", "top_n = = 3\n")}, nil, "bad.toml"},
		{"missing file", []string{"--config", filepath.Join(dir, "absent.toml")}, nil, "absent.toml"},
		{"invalid value", []string{"--port-scan-threshold", "1"}, nil, "PortScan.Threshold"},
		{"bad flag", []string{"--dns-entropy-threshold", "high"}, nil, "dns-entropy-threshold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			var tf thresholdFlags
			tf.register(fs)
			err := fs.Parse(tt.args)
			var cfg detectors.Config
			if err == nil {
				cfg, err = tf.config()
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %q", err, tt.wantErr)
				}
				if strings.Contains(tt.name, "key") && !errors.Is(err, ErrConfigFile) {
					t.Errorf("error %v does not wrap ErrConfigFile", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(cfg) {
				t.Errorf("config %+v", cfg)
			}
		})
	}
}

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{
		"TopN": "top_n", "PortScan": "port_scan", "HTTP": "http", "MinUniqueSubdomains": "min_unique_subdomains",
		"RatePerMinute": "rate_per_minute", "MaxHTTPConns": "max_http_conns", "DNS": "dns",
	} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestThresholdFlagChangesTheVerdict runs analyze on a real scan with the
// port threshold below and above what the scanner probed: nmap's default
// scan probed 1000 TCP ports on 10.66.0.20 (tshark: 1000 distinct
// destination ports of SYNs without ACK, testdata/README.md).
func TestThresholdFlagChangesTheVerdict(t *testing.T) {
	for _, tt := range []struct {
		threshold string
		want      bool
	}{{"1000", true}, {"1001", false}} {
		var out, errb strings.Builder
		args := []string{"analyze", "--format", "json", "--port-scan-threshold", tt.threshold, "--port-scan-high-threshold", "5000", "../../testdata/scan_syn.pcap"}
		if err := run(t.Context(), args, nil, &out, &errb); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errb.String())
		}
		var a detectors.Analysis
		if err := json.Unmarshal([]byte(out.String()), &a); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, f := range a.Findings {
			if f.Type == "port_scan" && f.Source == "10.66.0.10" && f.Target == "10.66.0.20" && f.Technique == "syn" {
				found = true
			}
		}
		if found != tt.want {
			t.Errorf("threshold %s: vertical SYN scan found %v, want %v (findings %+v)", tt.threshold, found, tt.want, a.Findings)
		}
	}
}

// TestNoFrames: --no-frames leaves the second pass out: findings keep
// their display filter and ATT&CK IDs, not their frames. With the pass,
// nmap's scan of 1000 ports has 1000 SYN probes as evidence
// (testdata/README.md, tshark).
func TestNoFrames(t *testing.T) {
	for _, noFrames := range []bool{false, true} {
		args := []string{"analyze", "--format", "json", "../../testdata/scan_syn.pcap"}
		if noFrames {
			args = append(args[:1], append([]string{"--no-frames"}, args[1:]...)...)
		}
		var out, errb strings.Builder
		if err := run(t.Context(), args, nil, &out, &errb); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errb.String())
		}
		var a detectors.Analysis
		if err := json.Unmarshal([]byte(out.String()), &a); err != nil {
			t.Fatal(err)
		}
		if len(a.Findings) == 0 {
			t.Fatal("no findings")
		}
		f := a.Findings[0]
		if f.DisplayFilter == "" || len(f.MITRE) == 0 {
			t.Errorf("no-frames %v: display filter %q, mitre %v", noFrames, f.DisplayFilter, f.MITRE)
		}
		switch {
		case noFrames && f.Frames != nil:
			t.Errorf("--no-frames: frames %+v located anyway", f.Frames)
		case !noFrames && (f.Frames == nil || f.Frames.Packets != 1000):
			t.Errorf("frames %+v, want the 1000 SYN probes", f.Frames)
		}
	}
}
