package detectors

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/humanize"
	"github.com/agents-of-shield/reconpcap/report"
)

// Data carried in ICMP echo payloads.
//
// An echo request needs no payload to do its job; ping fills it with a
// timestamp and a fixed pattern (Linux: 16 bytes of time then bytes
// 0x10.., Windows: "abcdefghijklmnopqrstuvwabcdefghi"), the same in every
// request. A channel that carries data puts different bytes in every
// request. So for each (requester, responder) pair the detector counts the
// echo requests, the data they carry (the lengths the IP headers declare,
// so a snap length does not hide it) and how many distinct contents they
// hold past the first 16 bytes (where ping's timestamp lives), and for the
// replies whether they only echo the request back (a kernel answering) or
// carry data of their own (a tunnel server answering).
//
//   - varied payloads (distinct contents for at least half the requests,
//     at least icmpMinDistinct of them) carrying icmpMinBytes or more:
//     "icmp_payload" (replies echo the requests: data leaving) or
//     "icmp_tunnel" (replies carry their own data: a two-way channel),
//     medium; high from icmpHighBytes: ICMP carries no ordinary bulk data,
//     so a tenth of the TCP threshold is already a file.
//   - replies carrying data of their own (not echoes of the requests),
//     icmpMinBytes or more, however little the requests carry: a tunnel
//     server sending data down, "icmp_tunnel", medium (high when the
//     requests carry icmpHighBytes too); high confidence when the replies
//     outnumber the requests twice, which no ping does.
//   - fixed payloads, however large or many: ordinary ping, nothing.

const (
	// icmpMinBytes is how much echo-request data a pair must carry to be a
	// channel rather than a few odd pings.
	icmpMinBytes = 16_000
	// icmpMinDistinct is how many distinct request contents make a pair
	// varied.
	icmpMinDistinct = 8
	// icmpHighBytes is the echo-request data from which a channel is high.
	icmpHighBytes = 100_000
	// icmpSkip is how many payload bytes hold ping's timestamp; contents
	// are compared after them.
	icmpSkip = 16
	// icmpContent is how many bytes after icmpSkip say what a payload
	// holds: a fixed window, so that a pattern sent in many sizes (an MTU
	// probe) has one content.
	icmpContent = 64
	// icmpHashBytes bounds the bytes hashed per payload to tell an echo.
	icmpHashBytes = 256
	// icmpMaxDistinct bounds the distinct contents counted per pair: past
	// it a pair is varied whatever comes next.
	icmpMaxDistinct = 512
	// icmpMaxPairs bounds the pairs followed (a sweep asks thousands of
	// hosts with empty payloads; only pairs with content use a set).
	icmpMaxPairs = 1 << 16
	// icmpRecent is how many recent request hashes a reply is compared
	// with to tell an echo from data of its own.
	icmpRecent = 16
	// icmpMaxLeads bounds the replies per pair kept for matching with the
	// requests of an earlier part of the capture.
	icmpMaxLeads = 32
	// icmpMaxOrphans bounds the pairs whose replies before any request are
	// kept (a flood of replies, backscatter, makes many).
	icmpMaxOrphans = 1 << 12
)

// icmpPair is every echo request from one host to another, and the
// replies.
type icmpPair struct {
	requester, responder netip.Addr
	requests, replies    int64
	reqBytes, replyBytes int64
	minSize, maxSize     int
	distinct             map[uint64]struct{} // request contents past icmpSkip, at most icmpMaxDistinct
	saturated            bool                // distinct reached its bound
	recent               [icmpRecent]uint64  // hashes of the last requests' whole captured payloads
	recentN              int
	echoed, ownData      int64 // replies equal to a recent request, replies with other content
	first, last          time.Time

	// What a part of a capture keeps for the requests of an earlier part
	// (see merge_exfil.go): the replies that came while the pair had made
	// fewer than icmpRecent requests in the part and matched none of them
	// (the earlier part's last requests may match them), and the replies
	// before the part's first request (counted only if an earlier part
	// holds a request).
	leads   []icmpLead
	orphans *icmpOrphans
}

// icmpLead is a reply not matched by the requests before it in its part.
type icmpLead struct {
	hash uint64
	k    int64 // the pair's requests before it in its part
	data bool  // it carried payload (counted as data of its own)
}

// icmpOrphans are the echo replies of a pair before its first request in
// a part.
type icmpOrphans struct {
	n, bytes    int64
	dataN       int64 // replies carrying payload
	first, last time.Time
	leads       []icmpLead // the first icmpMaxLeads, k zero
}

// icmpEcho accumulates echo traffic per pair.
type icmpEcho struct {
	pairs   map[addrPair]*icmpPair
	dropped int64 // requests of pairs past icmpMaxPairs
	// orphans are the replies of pairs with no request yet, at most
	// icmpMaxOrphans pairs: a reply to nothing seen asked is not judged, but
	// an earlier part of the capture may hold the request.
	orphans map[addrPair]*icmpOrphans
}

// icmpDataLen is the echo data the packet carried on the wire: what the
// capture holds plus what a snap length cut off.
func icmpDataLen(p *capture.Packet) int {
	return len(p.ICMPPayload) + max(0, p.Length-p.CaptureLength)
}

// packet reads one ICMP or ICMPv6 packet; only echo requests and replies
// count.
func (e *icmpEcho) packet(p *capture.Packet) {
	var request bool
	switch {
	case p.Layers&capture.LayerICMPv4 != 0 && p.ICMPType == 8, p.Layers&capture.LayerICMPv6 != 0 && p.ICMPType == 128:
		request = true
	case p.Layers&capture.LayerICMPv4 != 0 && p.ICMPType == 0, p.Layers&capture.LayerICMPv6 != 0 && p.ICMPType == 129:
	default:
		return
	}
	k := addrPair{p.Src, p.Dst}
	if !request {
		k = addrPair{p.Dst, p.Src}
	}
	n := icmpDataLen(p)
	whole := icmpHash(p.ICMPPayload[:min(len(p.ICMPPayload), icmpHashBytes)])
	ip := e.pairs[k]
	if ip == nil {
		if !request {
			e.orphan(k, p, n, whole) // a reply to nothing we saw asked
			return
		}
		if len(e.pairs) >= icmpMaxPairs {
			e.dropped++
			return
		}
		if e.pairs == nil {
			e.pairs = map[addrPair]*icmpPair{}
		}
		ip = &icmpPair{requester: k.src, responder: k.dst, first: p.Time, minSize: -1, orphans: e.orphans[k]}
		delete(e.orphans, k)
		e.pairs[k] = ip
	}
	ip.first, ip.last = minTime(ip.first, p.Time), maxTime(ip.last, p.Time)
	if !request {
		ip.replies++
		ip.replyBytes += int64(n)
		if slices.Contains(ip.recent[:ip.recentN], whole) {
			ip.echoed++
			return
		}
		data := len(p.ICMPPayload) > 0
		if data {
			ip.ownData++
		}
		if ip.recentN < icmpRecent && len(ip.leads) < icmpMaxLeads {
			ip.leads = append(ip.leads, icmpLead{whole, ip.requests, data})
		}
		return
	}
	ip.requests++
	ip.reqBytes += int64(n)
	if ip.minSize < 0 || n < ip.minSize {
		ip.minSize = n
	}
	ip.maxSize = max(ip.maxSize, n)
	ip.recent[int(ip.requests-1)%icmpRecent] = whole
	ip.recentN = min(ip.recentN+1, icmpRecent)
	if len(p.ICMPPayload) > icmpSkip && !ip.saturated {
		body := p.ICMPPayload[icmpSkip:]
		h := icmpHash(body[:min(len(body), icmpContent)])
		if ip.distinct == nil {
			ip.distinct = make(map[uint64]struct{}, 8)
		}
		ip.distinct[h] = struct{}{}
		if len(ip.distinct) >= icmpMaxDistinct {
			ip.saturated = true
		}
	}
}

// orphan notes a reply of pair k before any request of the pair; n is its
// data length, whole the hash of its payload.
func (e *icmpEcho) orphan(k addrPair, p *capture.Packet, n int, whole uint64) {
	o := e.orphans[k]
	if o == nil {
		if len(e.orphans) >= icmpMaxOrphans {
			return
		}
		if e.orphans == nil {
			e.orphans = map[addrPair]*icmpOrphans{}
		}
		o = &icmpOrphans{first: p.Time}
		e.orphans[k] = o
	}
	data := len(p.ICMPPayload) > 0
	o.n++
	o.bytes += int64(n)
	if data {
		o.dataN++
	}
	o.first, o.last = minTime(o.first, p.Time), maxTime(o.last, p.Time)
	if len(o.leads) < icmpMaxLeads {
		o.leads = append(o.leads, icmpLead{whole, 0, data})
	}
}

// icmpHash hashes an echo payload. The hash is the same in every process,
// so that the contents counted by the parts of a capture (other workers,
// other files) merge; it is a cryptographic one, so that a capture cannot
// pick varied contents that collide on purpose to pass for ping.
func icmpHash(b []byte) uint64 {
	s := sha256.Sum256(b)
	return binary.LittleEndian.Uint64(s[:8])
}

// varied reports whether the requests carry different contents: distinct
// ones for at least half of them, and at least icmpMinDistinct.
func (ip *icmpPair) varied() bool {
	if ip.saturated {
		return true
	}
	d := int64(len(ip.distinct))
	return d >= icmpMinDistinct && 2*d >= ip.requests
}

// ownReplies reports whether the replies carry data of their own rather
// than echoing the requests: a tunnel server answering.
func (ip *icmpPair) ownReplies() bool {
	return ip.ownData >= icmpMinDistinct && ip.ownData > ip.echoed
}

// findings reports every pair whose echo requests carry varied data.
func (e *icmpEcho) findings(ec ExfilConfig) []report.Finding {
	var out []report.Finding
	for _, ip := range e.pairs {
		up := ip.reqBytes >= icmpMinBytes && ip.varied()
		down := ip.ownReplies() && ip.replyBytes >= icmpMinBytes
		if !up && !down || ip.requester == ip.responder {
			continue
		}
		out = append(out, ip.finding(ec))
	}
	slices.SortFunc(out, func(a, b report.Finding) int {
		return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.Target, b.Target))
	})
	return out
}

func (ip *icmpPair) finding(ec ExfilConfig) report.Finding {
	sev, conf := report.SeverityMedium, report.ConfidenceMedium
	if ip.reqBytes >= icmpHighBytes {
		sev = report.SeverityHigh
	}
	distinct := fmt.Sprint(len(ip.distinct))
	if ip.saturated {
		distinct = fmt.Sprintf("over %d", icmpMaxDistinct)
	}
	// Many distinct large payloads leave no doubt, nor do replies without
	// requests; a few small ones could be an odd ping tool.
	if (ip.saturated || 10*int64(len(ip.distinct)) >= 9*ip.requests) && ip.reqBytes >= 64*ip.requests ||
		ip.ownReplies() && ip.replies >= 2*ip.requests {
		conf = report.ConfidenceHigh
	}
	tech, replies := "icmp_payload", fmt.Sprintf("%d of %d replies echoed them", ip.echoed, ip.replies)
	if ip.ownReplies() {
		tech, replies = "icmp_tunnel", fmt.Sprintf("%d of %d replies carried data of their own (%s)", ip.ownData, ip.replies, humanize.Bytes((ip.replyBytes)))
	} else if ip.replies == 0 {
		replies = "no replies"
	}
	dst := ip.responder.String()
	if !IsInternal(ip.responder, ec.InternalNetworks) {
		dst = "external " + dst
	}
	sizes := fmt.Sprintf("%d to %d bytes each", ip.minSize, ip.maxSize)
	if ip.minSize == ip.maxSize {
		sizes = fmt.Sprintf("%d bytes each", ip.maxSize)
	}
	summary := fmt.Sprintf("%s sent %s in the payloads of %s to %s (%s distinct contents, %s; ping repeats one pattern); %s",
		ip.requester, humanize.Bytes((ip.reqBytes)), humanize.Count(int(ip.requests), "ICMP echo request"), dst, distinct, sizes, replies)
	if tech == "icmp_tunnel" {
		summary = "ICMP tunnel: " + summary
	}
	return report.Finding{
		Type:       report.AttackDataExfiltration,
		Technique:  tech,
		Source:     ip.requester.String(),
		Target:     ip.responder.String(),
		Severity:   sev,
		Confidence: conf,
		Summary:    summary,
		FirstSeen:  ip.first.UTC(),
		LastSeen:   ip.last.UTC(),
		Counts: map[string]int64{
			report.CountUploadBytes:      ip.reqBytes,
			report.CountDownloadBytes:    ip.replyBytes,
			report.CountEchoRequests:     ip.requests,
			report.CountEchoReplies:      ip.replies,
			report.CountDistinctPayloads: int64(len(ip.distinct)),
			report.CountPackets:          ip.requests + ip.replies,
		},
	}
}
