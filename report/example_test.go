package report_test

import (
	"errors"
	"fmt"

	"github.com/agents-of-shield/reconpcap/report"
)

func ExampleParse() {
	// A model's answer, wrapped in prose and a fence, with loose spellings.
	text := "Based on the tool results:\n```json\n" + `{
  "attack_assessment": {"attack_type": "Port Scan", "target": "192.0.2.10", "severity": "crit", "confidence": "HIGH"},
  "evidence": ["198.51.100.7 sent SYN to 1000 ports of 192.0.2.10 in 3 seconds"],
  "recommendations": ["Block 198.51.100.7 at the firewall"],
  "intelligence": {"total_packets": 1}
}` + "\n```"
	ans, err := report.Parse(text)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ans.AttackAssessment.AttackType, ans.AttackAssessment.Severity, ans.AttackAssessment.Confidence)
	fmt.Println(ans.Validate())

	// An answer with problems: every one is listed, ready to send back.
	ans, _ = report.Parse(`{"attack_assessment": {"attack_type": "port_scan", "target": "the web server",
		"severity": "catastrophic", "confidence": "high"}, "evidence": [], "recommendations": ["Block it"]}`)
	var ve *report.ValidationError
	if err := ans.Validate(); errors.As(err, &ve) {
		for _, p := range ve.Problems {
			fmt.Printf("%s: %s\n", p.Field, p.Reason)
		}
	}
	// Output:
	// port_scan critical high
	// <nil>
	// attack_assessment.target: "the web server" is not an IP address; want an IP address such as 192.0.2.10, "multiple_targets" or "unknown"
	// attack_assessment.severity: "catastrophic" is not one of low, medium, high, critical
	// evidence: is empty; list at least one observation from the tool results that supports attack_type "port_scan"
}
