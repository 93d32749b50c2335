// Package agent is ReconAgentPcap: it investigates one packet capture and
// returns a validated report.Report.
//
// An investigation starts an MCP session with the bundled detection server
// (in process by default, or `reconpcap mcp` as a subprocess over stdio
// when Config.ServerCommand is set), lets an analyst call the detection
// tools, and turns the analyst's answer into the report of the contract:
// attack_assessment, evidence, recommendations, intelligence, plus every
// finding and a record of the analyst's work.
//
// Two analysts stand behind one interface. The built-in rules analyst needs
// no network: it reads the findings through the tools and writes the
// verdict by fixed rules. The model analyst lets an OpenAI-compatible model
// call the same tools; its answer is parsed, validated and checked against
// the capture, and when it cannot be used the rules analyst answers instead,
// with analyst.note saying why. Config.Analyst chooses; the default (auto)
// uses the model when an API key or base URL is configured.
//
// Sessions: each investigation opens its own MCP session and closes it when
// done; a subprocess server is stopped with it. The in-process server is
// shared by all investigations of one agent, so concurrent investigations
// of the same capture parse it once. The session is bound to the agent's
// capture: a tool call that names another file is refused.
//
// Orchestrators watch an investigation through Config.OnEvent (typed
// events from EventStarted to EventFinished, one at a time), Config.Logger
// (every record names the investigation) and OpenTelemetry spans
// (Config.TracerProvider, else otel's global provider); they steer the
// model with Config.Instructions, Temperature and Seed, and can supply it
// without HTTP through Config.ChatClient.
//
//	a, err := agent.New(agent.Config{WorkingDir: "/captures", PcapFile: "traffic.pcap"})
//	if err != nil { ... }
//	rep, err := a.Investigate(ctx, agent.Trigger{Name: "orchestrator"})
//	fmt.Println(rep.AttackAssessment.AttackType, rep.AttackAssessment.Severity)
package agent
