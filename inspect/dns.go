package inspect

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/textsafe"
)

// maxAnswers bounds the answers kept per query.
const maxAnswers = 16

// DNSQuery is one DNS query and the response that answered it.
type DNSQuery struct {
	// Frame is the query's frame number; Time its time since the first
	// packet, as tshark prints it.
	Frame  int    `json:"frame"`
	Time   string `json:"time"`
	Client string `json:"client"`
	Server string `json:"server"`
	// ID is the DNS transaction ID, as tshark shows it (0x1a2b).
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
	// Answered is true when a response with the same ID came back from
	// the server to the client's port; ResponseFrame is its frame.
	Answered      bool `json:"answered"`
	ResponseFrame int  `json:"response_frame,omitempty"`
	// RCode is the response code (NoError, NXDomain, ...); Answers the
	// answer records as "TYPE data", at most 16.
	RCode   string   `json:"rcode,omitempty"`
	Answers []string `json:"answers"`

	rel time.Duration
}

// DNSList is one page of a capture's DNS queries.
type DNSList struct {
	Queries []DNSQuery
	// Total counts every query of the capture.
	Total   int
	Capture *capture.Capture
}

// dnsKey ties a response to its query.
type dnsKey struct {
	client, server netip.Addr
	port           uint16
	id             uint16
}

// DNSQueries reads the capture and returns the offset-th to the
// (offset+limit)-th DNS queries (messages with QR clear, over UDP or TCP,
// mDNS and LLMNR included) with their responses, and the count of all.
// Only the page's pending queries are remembered, so memory is bounded by
// limit.
func DNSQueries(ctx context.Context, src Source, offset, limit int) (*DNSList, error) {
	if offset < 0 || limit < 0 {
		return nil, fmt.Errorf("inspect: offset %d and limit %d must not be negative", offset, limit)
	}
	q := &dnsCollector{offset: offset, limit: limit, pending: map[dnsKey]int{}}
	c, err := src.scan(ctx, q)
	if c == nil {
		return nil, err
	}
	prec := precision(c)
	for i := range q.out {
		q.out[i].Time = formatRel(q.out[i].rel, prec)
	}
	return &DNSList{Queries: q.out, Total: q.total, Capture: c}, err
}

type dnsCollector struct {
	offset, limit int
	total         int
	first         time.Time
	started       bool
	out           []DNSQuery
	pending       map[dnsKey]int // query -> index in out
}

func (q *dnsCollector) Packet(p *capture.Packet) {
	if !q.started {
		q.first, q.started = p.Time, true
	}
	m := p.DNS
	if p.Layers&capture.LayerDNS == 0 || m == nil || !p.HasIP() {
		return
	}
	if m.QR {
		k := dnsKey{client: p.Dst, server: p.Src, port: p.DstPort, id: m.ID}
		i, ok := q.pending[k]
		if !ok {
			return
		}
		delete(q.pending, k)
		r := &q.out[i]
		r.Answered, r.ResponseFrame, r.RCode = true, p.Index, m.ResponseCode.String()
		for _, a := range m.Answers {
			if len(r.Answers) == maxAnswers {
				break
			}
			r.Answers = append(r.Answers, a.Type.String()+" "+RecordData(a))
		}
		return
	}
	q.total++
	if q.total <= q.offset || len(q.out) >= q.limit {
		return
	}
	r := DNSQuery{Frame: p.Index, rel: p.Time.Sub(q.first), Client: p.Src.String(), Server: p.Dst.String(), ID: fmt.Sprintf("0x%04x", m.ID), Answers: []string{}}
	if len(m.Questions) > 0 {
		r.Name = textsafe.Escape(string(m.Questions[0].Name), nameMax)
		r.Type = dnsTypeName(m.Questions[0].Type)
	}
	q.out = append(q.out, r)
	// A retransmitted query (same client port and ID) takes over: the
	// response answers the latest.
	q.pending[dnsKey{client: p.Src, server: p.Dst, port: p.SrcPort, id: m.ID}] = len(q.out) - 1
}

func dnsTypeName(t layers.DNSType) string { return t.String() }
