package detectors

import (
	"fmt"
	"strings"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/humanize"
	"github.com/agents-of-shield/reconpcap/report"
)

// fragmentFindings reports the sources of overlapping or oversized IP
// fragments (technique fragment_overlap). No TCP/IP stack sends either:
// overlapping fragments that disagree carry two versions of the same
// bytes, one for the inspecting device and one for the target (IDS
// evasion, teardrop), and a datagram past 65,535 bytes is the ping of
// death. Overlaps whose bytes agree can be a retransmission that was cut
// differently: low, low.
func fragmentFindings(c *capture.Capture) []report.Finding {
	if c == nil {
		return nil
	}
	var out []report.Finding
	for _, o := range c.FragmentOverlaps() {
		sev, conf := report.SeverityLow, report.ConfidenceLow
		if o.Conflicting > 0 || o.Oversized > 0 {
			sev, conf = report.SeverityMedium, report.ConfidenceHigh
		}
		var what []string
		if o.Datagrams > 0 {
			what = append(what, fmt.Sprintf("%s with overlapping fragments (%d with differing bytes)", humanize.Count(o.Datagrams, "datagram"), o.Conflicting))
		}
		if o.Oversized > 0 {
			what = append(what, fmt.Sprintf("%s reaching past 65,535 bytes (ping of death)", humanize.Count(o.Oversized, "datagram")))
		}
		out = append(out, report.Finding{
			Type:       report.AttackPortScan,
			Technique:  "fragment_overlap",
			Source:     o.Src.String(),
			Target:     o.Dst.String(),
			Severity:   sev,
			Confidence: conf,
			Summary: fmt.Sprintf("%s sent %s %s: crafted fragments that evade inspection or crash the target; the datagrams were dropped, as Linux drops them",
				o.Src, o.Dst, strings.Join(what, " and ")),
			FirstSeen: o.First.UTC(),
			LastSeen:  o.Last.UTC(),
			Counts: map[string]int64{
				report.CountOverlappingDatagrams: int64(o.Datagrams),
				report.CountConflictingDatagrams: int64(o.Conflicting),
				report.CountOversizedDatagrams:   int64(o.Oversized),
			},
		})
	}
	return out
}
