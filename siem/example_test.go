package siem_test

import (
	"os"
	"time"

	"github.com/agents-of-shield/reconpcap/report"
	"github.com/agents-of-shield/reconpcap/siem"
)

func ExampleWrite() {
	findings := []report.Finding{{
		Type: report.AttackPortScan, Technique: "syn", Source: "10.0.0.5", Target: "10.0.0.9",
		Severity: report.SeverityHigh, Confidence: report.ConfidenceHigh,
		Summary:   "10.0.0.5 probed 1000 TCP ports on 10.0.0.9",
		FirstSeen: time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC),
	}}
	siem.Write(os.Stdout, siem.FormatEVE, siem.Source{PcapFile: "scan.pcap"}, findings)
	// Output:
	// {"timestamp":"2026-12-06T21:00:00.000000+0000","event_type":"alert","src_ip":"10.0.0.5","dest_ip":"10.0.0.9","pcap_filename":"scan.pcap","alert":{"action":"allowed","gid":1,"signature_id":9132157,"rev":1,"signature":"RECONPCAP port scans (syn)","category":"Detection of a Network Scan","severity":1,"source":{"ip":"10.0.0.5"},"target":{"ip":"10.0.0.9"},"metadata":{"signature_severity":["Major"],"tag":["reconpcap","port_scan"],"reconpcap":{"type":"port_scan","technique":"syn","severity":"high","confidence":"high","decides":true,"summary":"10.0.0.5 probed 1000 TCP ports on 10.0.0.9","first_seen":"2026-12-06T21:00:00Z"}}}}
}
