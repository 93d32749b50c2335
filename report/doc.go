// Package report holds the vocabulary and the verdict of an investigation:
// the attack types, severities and confidences (vocab.go), the Finding every
// detector emits (finding.go), the Report the agent returns (report.go), and
// the Answer an analyst gives, with its JSON schema, Parse and Validate.
// It imports nothing of this module, so every other package can import it.
//
// # How the parts fit
//
// A language model is asked to answer in the shape of AnswerSchema:
// attack_assessment, evidence and recommendations, nothing else. Its text
// goes through Parse, which finds the JSON however it is wrapped (a code
// fence, prose around it) and reads enum values leniently ("Port Scan",
// "crit"). Answer.Validate then checks the result strictly. Both return a
// *ValidationError listing every problem by field, written to be sent back
// to the model as is, so it can correct its answer in one turn.
//
// The agent builds the Report: what the model cannot know (timestamp,
// trigger, file, intelligence counted by the analysis, findings, analyst)
// goes in a base Report, and Answer.Report fills in the verdict:
//
//	ans, err := report.Parse(modelText)
//	if err == nil {
//		err = ans.Validate()
//	}
//	if err != nil {
//		// send err.Error() back to the model and ask again
//	}
//	rep := ans.Report(report.Report{
//		Timestamp:            time.Now().UTC(),
//		InvestigationTrigger: "manual",
//		PcapFile:             path,
//		Intelligence:         intel,
//		Findings:             findings,
//		Analyst:              report.Analyst{Mode: report.ModeLLM, Model: model},
//	})
//
// A Report marshals to the JSON contract of the original ReconAgentPcap
// (timestamp, investigation_trigger, pcap_file, attack_assessment, evidence,
// recommendations, intelligence) plus findings and analyst; lists are [],
// never null.
package report
