package agent_test

import (
	"context"
	"fmt"
	"log"
	"path/filepath"
	"time"

	"github.com/agents-of-shield/reconpcap/agent"
	"github.com/agents-of-shield/reconpcap/report"
)

// An orchestrator hands the agent a directory of captures and the reason
// for the investigation, then acts on the assessment: the Go form of the
// Python README's orchestrator integration.
func Example() {
	a, err := agent.New(agent.Config{
		WorkingDir: "../testdata",   // where the capture tool writes
		PcapFile:   "scan_syn.pcap", // default traffic.pcap
		// Leave Analyst empty (auto) to let the model answer when
		// OPENAI_API_KEY is set; rules makes this example's output fixed.
		Analyst:              agent.AnalystRules,
		ClientSessionTimeout: 2 * time.Minute,
	})
	if err != nil {
		log.Fatal(err)
	}
	rep, err := a.Investigate(context.Background(), agent.Trigger{
		Name:    "orchestrator",
		Details: map[string]any{"alert": "IDS: many SYNs from 10.66.0.10"},
	})
	if err != nil {
		log.Fatal(err)
	}
	as := rep.AttackAssessment
	fmt.Println("trigger:", rep.InvestigationTrigger)
	fmt.Println("capture:", filepath.Base(rep.PcapFile))
	fmt.Println("attack_type:", as.AttackType)
	fmt.Println("target:", as.Target)
	fmt.Println("severity:", as.Severity)
	fmt.Println("confidence:", as.Confidence)
	fmt.Println("threat_count:", rep.Intelligence.ThreatCount)
	fmt.Println("analyst:", rep.Analyst.Mode)
	if as.Severity.Rank() >= report.SeverityHigh.Rank() {
		fmt.Println("escalate:", rep.Recommendations[0])
	}
	// Output:
	// trigger: orchestrator
	// capture: scan_syn.pcap
	// attack_type: port_scan
	// target: 10.66.0.20
	// severity: high
	// confidence: high
	// threat_count: 1
	// analyst: rules
	// escalate: Block 10.66.0.10 at the firewall and review what 10.66.0.20 exposes: it probed 1000 ports.
}

// Several captures investigated at once, each in its own goroutine, all
// bounded by one deadline. Each channel delivers exactly one Result.
func ExampleReconAgentPcap_InvestigateAsync() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	captures := []string{"scan_syn.pcap", "scan_udp.pcap", "scan_fin.pcap"}
	results := make([]<-chan agent.Result, len(captures))
	for i, name := range captures {
		a, err := agent.New(agent.Config{WorkingDir: "../testdata", PcapFile: name, Analyst: agent.AnalystRules})
		if err != nil {
			log.Fatal(err)
		}
		results[i] = a.InvestigateAsync(ctx, agent.Trigger{Name: "nightly-sweep"})
	}
	for i, ch := range results {
		r := <-ch
		if r.Err != nil {
			fmt.Printf("%s: %v\n", captures[i], r.Err)
			continue
		}
		as := r.Report.AttackAssessment
		fmt.Printf("%s: %s against %s, %s\n", captures[i], as.AttackType, as.Target, as.Severity)
	}
	// Output:
	// scan_syn.pcap: port_scan against 10.66.0.20, high
	// scan_udp.pcap: port_scan against 10.66.0.20, high
	// scan_fin.pcap: port_scan against 10.66.0.20, high
}

// An orchestrator watches an investigation through Config.OnEvent: one
// call per event, in order, never two at once.
func ExampleConfig_onEvent() {
	a, err := agent.New(agent.Config{
		WorkingDir: "../testdata",
		PcapFile:   "scan_syn.pcap",
		Analyst:    agent.AnalystRules,
		OnEvent: func(ev agent.Event) {
			switch e := ev.(type) {
			case agent.EventStarted:
				fmt.Println("started:", filepath.Base(e.PcapFile), e.Analyst)
			case agent.EventToolCalled:
				fmt.Println("tool:", e.Name, e.Arguments, e.Err == nil)
			case agent.EventFinished:
				fmt.Println("finished:", e.Verdict.AttackType, e.Verdict.Severity)
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := a.Investigate(context.Background(), agent.Trigger{}); err != nil {
		log.Fatal(err)
	}
	// Output:
	// started: scan_syn.pcap rules
	// tool: read_pcap_summary {} true
	// tool: list_findings {"limit":50,"offset":0} true
	// finished: port_scan high
}
