package detectors

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/agents-of-shield/reconpcap/internal/humanize"
	"github.com/agents-of-shield/reconpcap/report"
)

// The exfiltration detector's output: findings, and the transfer list the
// MCP tool shows for context.

func (p *exfilPair) finding(v exfilVerdict, top []exfilConn) report.Finding {
	ports := p.portList()
	dst := p.dst.String()
	if v.where != "" {
		dst = v.where + " " + dst
	}
	portWord := "port"
	if len(ports) > 1 {
		portWord = "ports"
	}
	summary := fmt.Sprintf("%s uploaded %s to %s over %s (%s %s), %s back", p.src, humanize.Bytes(p.upload), dst,
		humanize.Count(int(p.conns), "connection"), portWord, joinPorts(ports, 5), humanize.Bytes(p.download))
	if p.ftpActive {
		summary += "; active-mode FTP data (the FTP server opened the connection from port 20)"
	}
	if v.tech == "internal_staging" {
		summary += "; both hosts are internal: staging or lateral copying"
	}
	if len(v.signals) > 0 {
		reasons := make([]string, len(v.signals))
		for i, s := range v.signals {
			reasons[i] = p.signalText(s, v)
		}
		summary += "; " + strings.Join(reasons, ", ")
	}
	if v.why != "" {
		summary += "; low: " + v.why
	}
	conns := make([]string, len(top))
	for i, c := range top {
		conns[i] = fmt.Sprintf("%s -> %s %d bytes", c.client, c.server, c.upload)
	}
	counts := map[string]int64{
		report.CountUploadBytes:        int64(p.upload),
		report.CountDownloadBytes:      int64(p.download),
		report.CountConnections:        p.conns,
		report.CountUploadConnections:  p.upConns,
		report.CountPackets:            int64(p.packets),
		report.CountDestinationClients: int64(v.clients),
	}
	if v.peers >= exfilMinPeers {
		counts[report.CountPeerHosts] = int64(v.peers)
		counts[report.CountPeerP90UploadBytes] = int64(v.peerBase)
	}
	samples := map[string][]string{
		report.SamplePorts:       portStrings(ports, exfilSampleMax),
		report.SampleConnections: conns,
	}
	if len(v.signals) > 0 {
		samples[report.SampleSignals] = v.signals
	}
	return report.Finding{
		Type:       report.AttackDataExfiltration,
		Technique:  v.tech,
		Source:     p.src.String(),
		Target:     p.dst.String(),
		Severity:   v.sev,
		Confidence: v.conf,
		Summary:    summary,
		FirstSeen:  p.first.UTC(),
		LastSeen:   p.last.UTC(),
		Counts:     counts,
		Samples:    samples,
	}
}

// signalText says one signal in words for the summary.
func (p *exfilPair) signalText(sig string, v exfilVerdict) string {
	switch sig {
	case sigOneWay:
		return "one-way (under a tenth came back)"
	case sigSplit:
		return fmt.Sprintf("split over %d upload connections in %s", p.upConns, p.last.Sub(p.first).Round(time.Second))
	case sigOddPort:
		return "on a port not made for transfers that no other host transfers on"
	case sigRareDest:
		return "to a destination no other host of the capture uses"
	case sigFarAbove:
		return fmt.Sprintf("far above the other %d hosts (90th percentile %s)", v.peers, humanize.Bytes(v.peerBase))
	case sigSentOut:
		return "and the source also uploads to an outside destination"
	case sigNewFileStore:
		return "to a file server no other host uses, while other hosts use theirs"
	}
	return sig
}

// Transfer is the TCP payload between one client and one server over all
// their connections.
type Transfer struct {
	// Source opened the connections (for active FTP data, the FTP client);
	// Destination answered them.
	Source      string `json:"source"`
	Destination string `json:"destination"`
	// UploadBytes is what Source sent, DownloadBytes what it received.
	UploadBytes   int64 `json:"upload_bytes"`
	DownloadBytes int64 `json:"download_bytes"`
	Connections   int64 `json:"connections"`
	Packets       int64 `json:"packets"`
	// Ports are Destination's ports (at most 20).
	Ports []uint16  `json:"ports"`
	First time.Time `json:"first_seen"`
	Last  time.Time `json:"last_seen"`
	// SourceScope and DestinationScope are "internal" or "external"
	// (IsInternal with the analysis's Exfil.InternalNetworks); Direction
	// is "outbound", "inbound", "internal" or "external" accordingly.
	SourceScope      string `json:"source_scope"`
	DestinationScope string `json:"destination_scope"`
	Direction        string `json:"direction"`
}

// Transfers lists every (client, server) pair whose uploads and downloads
// together reach minBytes, the largest first. The exfiltration findings are
// the uploads among them that cross the thresholds.
func (a *Analysis) Transfers(minBytes int64) []Transfer {
	d := a.dets.exfil
	if d == nil {
		return nil
	}
	extra := a.Config.Exfil.InternalNetworks
	var out []Transfer
	for _, p := range d.pairs(a.capture) {
		if int64(p.upload+p.download) < minBytes {
			continue
		}
		ss, ds := scope(p.src, extra), scope(p.dst, extra)
		dir := "external"
		switch {
		case ss == "internal" && ds == "external":
			dir = "outbound"
		case ss == "external" && ds == "internal":
			dir = "inbound"
		case ss == "internal":
			dir = "internal"
		}
		out = append(out, Transfer{
			Source: p.src.String(), Destination: p.dst.String(),
			UploadBytes: int64(p.upload), DownloadBytes: int64(p.download),
			Connections: p.conns, Packets: int64(p.packets),
			Ports: p.portList(), First: p.first.UTC(), Last: p.last.UTC(),
			SourceScope: ss, DestinationScope: ds, Direction: dir,
		})
	}
	slices.SortStableFunc(out, func(x, y Transfer) int {
		return cmp.Or(cmp.Compare(y.UploadBytes+y.DownloadBytes, x.UploadBytes+x.DownloadBytes),
			cmp.Compare(y.UploadBytes, x.UploadBytes), cmp.Compare(x.Source, y.Source), cmp.Compare(x.Destination, y.Destination))
	})
	return out
}
