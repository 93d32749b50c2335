package logs

import "testing"

// TestConnState plays segments through the endpoint states and checks
// conn_state against the meaning Zeek's documentation gives each state.
func TestConnState(t *testing.T) {
	const (
		S = 0x02
		A = 0x10
		F = 0x01
		R = 0x04
	)
	type seg struct {
		orig  bool
		flags uint8
		n     int
	}
	o := func(f uint8, n int) seg { return seg{true, f, n} }
	r := func(f uint8, n int) seg { return seg{false, f, n} }
	handshake := []seg{o(S, 0), r(S|A, 0), o(A, 0)}
	with := func(tail ...seg) []seg { return append(append([]seg{}, handshake...), tail...) }
	tests := []struct {
		name string
		segs []seg
		want string
	}{
		{"attempt, no reply", []seg{o(S, 0), o(S, 0)}, "S0"},
		{"established, not terminated", with(o(A, 10), r(A, 20)), "S1"},
		{"normal close", with(o(A, 10), r(A, 20), o(F|A, 0), r(F|A, 0), o(A, 0)), "SF"},
		{"normal close, then a RST", with(o(F|A, 0), r(F|A, 0), o(R, 0)), "SF"},
		{"rejected", []seg{o(S, 0), r(R|A, 0)}, "REJ"},
		{"originator closes, no reply", with(o(F|A, 0)), "S2"},
		{"responder closes, no reply", with(r(F|A, 0)), "S3"},
		{"originator aborts", with(o(A, 5), o(R, 0)), "RSTO"},
		{"half-open scan probe", []seg{o(S, 0), r(S|A, 0), o(R, 0)}, "RSTO"},
		{"responder aborts", with(o(A, 5), r(R|A, 0)), "RSTR"},
		{"SYN then RST, no SYN-ACK", []seg{o(S, 0), o(R, 0)}, "RSTOS0"},
		{"SYN-ACK then RST, no SYN", []seg{r(S|A, 0), r(R, 0)}, "RSTRH"},
		{"SYN then FIN, no SYN-ACK", []seg{o(S, 0), o(F, 0)}, "SH"},
		{"SYN-ACK then FIN, no SYN", []seg{r(S|A, 0), r(F, 0)}, "SHR"},
		{"midstream", []seg{o(A, 100), r(A, 0), o(A|0x08, 100)}, "OTH"},
		{"midstream, RST", []seg{o(A, 100), o(R, 0)}, "OTH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e tcpEndpoints
			var size [2]uint64
			for _, s := range tt.segs {
				e.packet(s.orig, s.flags, s.n)
				if s.orig {
					size[0] += uint64(s.n)
				} else {
					size[1] += uint64(s.n)
				}
			}
			if got := e.connState(size[0], size[1]); got != tt.want {
				t.Errorf("conn_state %s, want %s (states %v)", got, tt.want, e.state)
			}
		})
	}
}

// TestSeqSpan: retransmissions count once, a missed segment counts, the
// 32-bit sequence space wraps, and empty segments (the ACK after a FIN)
// add nothing.
func TestSeqSpan(t *testing.T) {
	type seg struct {
		seq uint32
		syn bool
		n   int
	}
	tests := []struct {
		name string
		segs []seg
		want uint64
	}{
		{"syn, data, fin ack", []seg{{100, true, 0}, {101, false, 10}, {111, false, 5}, {116, false, 0}, {117, false, 0}}, 15},
		{"retransmission", []seg{{100, true, 0}, {101, false, 10}, {101, false, 10}, {111, false, 5}}, 15},
		{"a segment missed", []seg{{100, true, 0}, {101, false, 10}, {121, false, 5}}, 25},
		{"out of order", []seg{{101, false, 10}, {121, false, 5}, {111, false, 10}}, 25},
		{"wraps", []seg{{0xfffffff0, true, 0}, {0xfffffff1, false, 0x20}, {0x11, false, 0x10}}, 0x30},
		{"midstream", []seg{{5000, false, 100}, {5100, false, 100}}, 200},
	}
	for _, tt := range tests {
		var s seqSpan
		for _, g := range tt.segs {
			s.segment(g.seq, g.syn, g.n)
		}
		if s.size != tt.want {
			t.Errorf("%s: %d bytes, want %d", tt.name, s.size, tt.want)
		}
	}
}
