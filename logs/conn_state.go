package logs

import "github.com/agents-of-shield/reconpcap/capture"

// tcpState is one endpoint's state in Zeek's TCP analyzer
// (TCP_ENDPOINT_INACTIVE, ...); conn_state is read from the two.
type tcpState uint8

const (
	tcpInactive tcpState = iota
	tcpSYNSent
	tcpSYNACKSent
	tcpPartial
	tcpEstablished
	tcpClosed
	tcpReset
)

// tcpEndpoints follows both endpoints of one TCP connection through the
// transitions of Zeek's TCPSessionAdapter (UpdateInactiveState,
// UpdateSYN_SentState, UpdateEstablishedState, UpdateClosedState), on the
// flags alone: Zeek's sequence-number checks and its role flips are left
// out. Index 0 is the originator.
type tcpEndpoints struct {
	state, prev [2]tcpState
	// synOnly is true while everything the originator sent was a SYN
	// without ACK, FIN or data, up to its first RST: Zeek's history
	// pattern for RSTOS0 (^?S[^HAFGIQ]*R) without the history string.
	synOnly, origSent, respAnswered bool
}

func (t *tcpEndpoints) set(d int, s tcpState) { t.prev[d], t.state[d] = t.state[d], s }

// packet moves the endpoint that sent a segment with flags and payload
// length n; orig says whether the originator sent it.
func (t *tcpEndpoints) packet(orig bool, flags uint8, n int) {
	d := 1
	if orig {
		d = 0
	}
	syn, ack, fin, rst := flags&capture.FlagSYN != 0, flags&capture.FlagACK != 0, flags&capture.FlagFIN != 0, flags&capture.FlagRST != 0
	if orig {
		if !t.origSent {
			t.origSent, t.synOnly = true, syn && !ack
		}
		if !rst && t.state[0] != tcpReset && (!syn || ack || fin || n > 0) {
			t.synOnly = false
		}
	} else if syn && ack {
		t.respAnswered = true // an H in Zeek's history
	}
	p := 1 - d
	switch t.state[d] {
	case tcpInactive:
		if syn {
			switch {
			case orig && ack:
				t.set(d, tcpSYNACKSent)
			case orig:
				t.set(d, tcpSYNSent)
			default:
				if t.state[p] == tcpSYNSent {
					t.set(p, tcpEstablished)
				}
				t.set(d, tcpEstablished)
			}
		}
		if fin {
			t.set(d, tcpClosed)
		}
		if rst {
			t.set(d, tcpReset)
		}
		if t.state[d] == tcpInactive {
			switch {
			case !orig && n == 0 && t.state[0] == tcpSYNSent:
				// An ACK of the SYN before the SYN-ACK is not a
				// partial connection.
			case ack && t.state[p] == tcpEstablished:
				t.set(d, tcpEstablished) // the SYN was missed
			default:
				t.set(d, tcpPartial)
			}
		}
	case tcpSYNSent, tcpSYNACKSent:
		if fin {
			t.set(d, tcpClosed)
		}
		if rst {
			t.set(d, tcpReset)
		}
	case tcpEstablished, tcpPartial:
		if syn && t.state[d] == tcpPartial && t.state[p] == tcpInactive && !ack {
			t.set(d, tcpSYNSent)
		}
		if fin && !rst {
			t.set(d, tcpClosed)
			if t.state[p] == tcpReset && t.prev[p] == tcpClosed {
				t.set(p, tcpClosed) // a FIN then RST was a normal close
			}
		}
		if rst {
			t.set(d, tcpReset)
		}
	case tcpClosed:
		if rst && t.state[p] != tcpClosed {
			t.set(d, tcpReset)
		}
	}
}

// swap exchanges the roles, when the capture learned late which side
// opened the connection.
func (t *tcpEndpoints) swap() {
	t.state[0], t.state[1] = t.state[1], t.state[0]
	t.prev[0], t.prev[1] = t.prev[1], t.prev[0]
}

// connState is Zeek's conn_state (base/protocols/conn/main.zeek) from
// the endpoint states and the bytes each side sent.
func (t *tcpEndpoints) connState(origBytes, respBytes uint64) string {
	os, rs := t.state[0], t.state[1]
	oInactive := os == tcpInactive || os == tcpPartial
	rInactive := rs == tcpInactive || rs == tcpPartial
	switch {
	case rs == tcpReset:
		switch {
		case os == tcpSYNSent || os == tcpSYNACKSent || (os == tcpReset && origBytes == 0 && respBytes == 0):
			return "REJ"
		case oInactive:
			return "RSTRH"
		}
		return "RSTR"
	case os == tcpReset:
		if rInactive {
			if t.synOnly && !t.respAnswered {
				return "RSTOS0"
			}
			return "OTH"
		}
		return "RSTO"
	case rs == tcpClosed && os == tcpClosed:
		return "SF"
	case os == tcpClosed:
		if rInactive {
			return "SH"
		}
		return "S2"
	case rs == tcpClosed:
		if oInactive {
			return "SHR"
		}
		return "S3"
	case os == tcpSYNSent && rs == tcpInactive:
		return "S0"
	case os == tcpEstablished && rs == tcpEstablished:
		return "S1"
	}
	return "OTH"
}

// udpConnState is conn_state for UDP: which sides sent anything.
func udpConnState(origPkts, respPkts uint64) string {
	switch {
	case origPkts > 0 && respPkts > 0:
		return "SF"
	case origPkts > 0:
		return "S0"
	case respPkts > 0:
		return "SHR"
	}
	return "OTH"
}

// seqSpan counts the bytes one side sent by sequence numbers, as Zeek's
// orig_bytes and resp_bytes do: a retransmission adds nothing, a segment
// the capture missed counts (it is inside the span).
type seqSpan struct {
	started bool
	hiSeq   uint32 // the highest sequence number reached
	size    uint64
}

func (s *seqSpan) segment(seq uint32, syn bool, n int) {
	if syn {
		seq++ // the SYN takes one sequence number and no data
	}
	if !s.started {
		s.started, s.hiSeq = true, seq
	}
	if n == 0 {
		// An empty segment sends nothing: after a FIN its sequence
		// number is one past the data.
		return
	}
	end := seq + uint32(n)
	// A signed distance follows the 32-bit sequence space across its
	// wrap; a jump of 2 GiB or more is no data sent.
	if d := int32(end - s.hiSeq); d > 0 {
		s.size += uint64(d)
		s.hiSeq = end
	}
}
