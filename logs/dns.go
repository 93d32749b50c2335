package logs

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/agents-of-shield/reconpcap/capture"
)

// DNSSchema is dns.log: one record per DNS query (over UDP or TCP, mDNS
// and LLMNR included) with the response that answered it (the next
// response on the same connection with the same transaction ID), and one
// per response that answered no query seen. A query asked again with the
// same ID before an answer is a record of its own, unanswered.
//
// ts is the query's time (the response's for a lone response); rtt the
// time to the answer; RD comes from the query, AA, TC, RA, Z, rcode and
// the answers from the response; answers are the answer section's data
// (addresses, names; TXT as "TXT length text") with their TTLs. Zeek's
// rejected field is left out.
var DNSSchema = Schema{Path: "dns", Fields: withID(
	Field{"proto", "enum"}, Field{"trans_id", "count"}, Field{"rtt", "interval"},
	Field{"query", "string"}, Field{"qclass", "count"}, Field{"qclass_name", "string"},
	Field{"qtype", "count"}, Field{"qtype_name", "string"},
	Field{"rcode", "count"}, Field{"rcode_name", "string"},
	Field{"AA", "bool"}, Field{"TC", "bool"}, Field{"RD", "bool"}, Field{"RA", "bool"}, Field{"Z", "count"},
	Field{"answers", "vector[string]"}, Field{"TTLs", "vector[interval]"},
)}

// Bounds on what one pass holds: queries waiting for their answer (the
// oldest is written unanswered past it), answers kept per response.
const (
	dnsMaxPending = 65536
	dnsMaxAnswers = 64
)

type dnsKey struct {
	flow *capture.Flow
	id   uint16
}

// dnsRecord is one query (and its answer, once seen).
type dnsRecord struct {
	flow     *capture.Flow
	ts       time.Time
	id       uint16
	query    *dnsQuestion // nil for a response with no question
	rd       bool
	answered bool
	paired   bool // answered and its query was seen: rtt holds
	rtt      time.Duration
	resp     dnsReply
	done     bool // written
}

type dnsQuestion struct {
	name         string
	class, qtype uint16
}

type dnsReply struct {
	aa, tc, ra bool
	z, rcode   uint8
	answers    []string
	ttls       []time.Duration
}

// dnsAnalyzer pairs queries with responses and writes each record once
// it is answered (or given up on); queue holds the pending ones in query
// order.
type dnsAnalyzer struct {
	w       *Writer
	err     error
	pending map[dnsKey]*dnsRecord
	queue   []*dnsRecord
}

func (a *dnsAnalyzer) Packet(p *capture.Packet) {
	m := p.DNS
	if a.err != nil || p.Layers&capture.LayerDNS == 0 || m == nil || p.Flow == nil {
		return
	}
	k := dnsKey{p.Flow, m.ID}
	if !m.QR {
		if old := a.pending[k]; old != nil {
			delete(a.pending, k)
			a.write(old)
		}
		if len(a.pending) >= dnsMaxPending {
			a.evictOldest()
		}
		r := &dnsRecord{flow: p.Flow, ts: p.Time, id: m.ID, query: question(m), rd: m.RD}
		a.pending[k] = r
		a.queue = append(a.queue, r)
		return
	}
	r := a.pending[k]
	if r != nil {
		delete(a.pending, k)
		r.rtt, r.paired = p.Time.Sub(r.ts), true
	} else {
		r = &dnsRecord{flow: p.Flow, ts: p.Time, id: m.ID, query: question(m), rd: m.RD}
	}
	r.answered = true
	r.resp = reply(m)
	a.write(r)
}

// evictOldest writes the oldest pending query, unanswered.
func (a *dnsAnalyzer) evictOldest() {
	for len(a.queue) > 0 {
		r := a.queue[0]
		a.queue[0] = nil
		a.queue = a.queue[1:]
		if !r.done {
			delete(a.pending, dnsKey{r.flow, r.id})
			a.write(r)
			return
		}
	}
}

func (a *dnsAnalyzer) write(r *dnsRecord) {
	r.done = true
	if a.err == nil {
		a.err = a.w.Write(r.values())
	}
	// The queue drops written records from its front; compact it when
	// they fill half of it, so it stays as long as the pending set.
	if len(a.queue) > 1024 && len(a.pending) < len(a.queue)/2 {
		kept := make([]*dnsRecord, 0, len(a.pending)+1)
		for _, q := range a.queue {
			if !q.done {
				kept = append(kept, q)
			}
		}
		a.queue = kept
	}
}

// finish writes the queries still unanswered, in query order.
func (a *dnsAnalyzer) finish() error {
	for _, r := range a.queue {
		if !r.done {
			a.write(r)
		}
	}
	a.queue, a.pending = nil, nil
	return a.err
}

func question(m *layers.DNS) *dnsQuestion {
	if len(m.Questions) == 0 {
		return nil
	}
	q := m.Questions[0]
	return &dnsQuestion{name: string(q.Name), class: uint16(q.Class), qtype: uint16(q.Type)}
}

func reply(m *layers.DNS) dnsReply {
	r := dnsReply{aa: m.AA, tc: m.TC, ra: m.RA, z: m.Z, rcode: uint8(m.ResponseCode)}
	for _, rr := range m.Answers {
		if len(r.answers) == dnsMaxAnswers {
			break
		}
		r.answers = append(r.answers, answerData(&rr))
		r.ttls = append(r.ttls, time.Duration(rr.TTL)*time.Second)
	}
	if r.answers == nil {
		r.answers, r.ttls = []string{}, []time.Duration{}
	}
	return r
}

// answerData is an answer's data as Zeek writes it in answers.
func answerData(rr *layers.DNSResourceRecord) string {
	switch rr.Type {
	case layers.DNSTypeA, layers.DNSTypeAAAA:
		if rr.IP != nil {
			return rr.IP.String()
		}
	case layers.DNSTypeCNAME:
		return string(rr.CNAME)
	case layers.DNSTypeNS:
		return string(rr.NS)
	case layers.DNSTypePTR:
		return string(rr.PTR)
	case layers.DNSTypeMX:
		return string(rr.MX.Name)
	case layers.DNSTypeSOA:
		return string(rr.SOA.MName)
	case layers.DNSTypeSRV:
		return string(rr.SRV.Name)
	case layers.DNSTypeTXT:
		s := "TXT"
		for _, t := range rr.TXTs {
			s += " " + strconv.Itoa(len(t)) + " " + string(t)
		}
		return s
	}
	return fmt.Sprintf("<unknown type=%d>", uint16(rr.Type))
}

func (r *dnsRecord) values() Values {
	f := r.flow
	v := Values{r.ts, UID(f), f.Client.Addr(), f.Client.Port(), f.Server.Addr(), f.Server.Port(),
		protoName(f.Proto), uint64(r.id), nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, r.rd, nil, nil, nil, nil}
	if q := r.query; q != nil {
		v[9], v[10], v[11], v[12], v[13] = q.name, uint64(q.class), qclassName(q.class), uint64(q.qtype), qtypeName(q.qtype)
	}
	if r.answered {
		s := r.resp
		if r.paired {
			v[8] = r.rtt
		}
		v[14], v[15] = uint64(s.rcode), rcodeName(s.rcode)
		v[16], v[17], v[19], v[20] = s.aa, s.tc, s.ra, uint64(s.z)
		v[21], v[22] = s.answers, s.ttls
	}
	return v
}

// qclassName is Zeek's name of a query class.
func qclassName(c uint16) string {
	switch c &^ 0x8000 { // mDNS's unicast-response bit
	case 1:
		return "C_INTERNET"
	case 3:
		return "C_CHAOS"
	case 4:
		return "C_HESIOD"
	case 254:
		return "C_NONE"
	case 255:
		return "C_ANY"
	}
	return fmt.Sprintf("qclass-%d", c)
}

// qtypeName names a query type as Zeek does (A, AAAA, ...).
func qtypeName(t uint16) string {
	switch t {
	case 65:
		return "HTTPS"
	case 64:
		return "SVCB"
	case 255:
		return "*"
	case 252:
		return "AXFR"
	case 251:
		return "IXFR"
	}
	if n := layers.DNSType(t).String(); n != "" && n != "Unknown" {
		return n
	}
	return fmt.Sprintf("query-%d", t)
}

// rcodeName is Zeek's name of a response code.
func rcodeName(c uint8) string {
	names := [...]string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"}
	if int(c) < len(names) {
		return names[c]
	}
	return fmt.Sprintf("rcode-%d", c)
}

func writeDNS(ctx context.Context, path string, w *Writer) ([]string, error) {
	a := &dnsAnalyzer{w: w, pending: map[dnsKey]*dnsRecord{}}
	c, err := capture.Scan(ctx, path, a)
	if c == nil || ctx.Err() != nil {
		return nil, err
	}
	if werr := a.finish(); werr != nil {
		return c.Warnings, werr
	}
	return c.Warnings, err
}
