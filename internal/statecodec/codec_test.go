package statecodec

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

type node struct {
	name  string
	n     int64
	peers map[netip.Addr]*leaf
}

type leaf struct {
	when  time.Time
	count uint32
	flags [2]uint8
	data  []byte
	ratio float64
}

type graph struct {
	nodes    []*node
	byName   map[string]*node // shares the nodes
	byLeaf   map[*leaf]string // keyed by pointers into the nodes' maps
	limit    int              `partial:"-"`
	callback func()
	empty    map[string]int
	nilMap   map[string]int
	port     netip.AddrPort
}

func sample(limit int) *graph {
	t0 := time.Date(2026, 12, 7, 1, 2, 3, 456789000, time.UTC)
	l1 := &leaf{when: t0, count: 3, flags: [2]uint8{1, 2}, data: []byte("ab"), ratio: 0.25}
	l2 := &leaf{when: t0.Add(time.Second), count: 7}
	a := &node{name: "a", n: -5, peers: map[netip.Addr]*leaf{netip.MustParseAddr("10.0.0.1"): l1, netip.MustParseAddr("::1"): l2}}
	b := &node{name: "b", peers: map[netip.Addr]*leaf{netip.MustParseAddr("10.0.0.2"): l1}}
	return &graph{
		nodes:    []*node{a, b},
		byName:   map[string]*node{"a": a, "b": b},
		byLeaf:   map[*leaf]string{l1: "one", l2: "two"},
		limit:    limit,
		callback: func() {},
		empty:    map[string]int{},
		port:     netip.MustParseAddrPort("[2001:db8::1]:443"),
	}
}

func encode(t *testing.T, g *graph) []byte {
	t.Helper()
	e := NewEncoder()
	if err := e.Encode(g); err != nil {
		t.Fatal(err)
	}
	return e.Bytes()
}

func TestRoundTrip(t *testing.T) {
	g := sample(99)
	b := encode(t, g)
	for range 20 { // map iteration order changes from run to run
		if again := encode(t, sample(99)); !bytes.Equal(b, again) {
			t.Fatal("the same values gave different bytes")
		}
	}
	got := &graph{limit: 42}
	d := NewDecoder(b)
	if err := d.Decode(got); err != nil {
		t.Fatal(err)
	}
	if len(d.Rest()) != 0 {
		t.Errorf("%d bytes left", len(d.Rest()))
	}
	if got.callback != nil {
		t.Error("a func field was decoded into")
	}
	if got.limit != 42 {
		t.Errorf("a skipped field was overwritten: %d", got.limit)
	}
	got.limit = g.limit
	// Maps keyed by pointers compare by identity: compare the rest deeply
	// and the whole by its encoding.
	if !reflect.DeepEqual(got.nodes, g.nodes) || !reflect.DeepEqual(got.byName, g.byName) || got.port != g.port {
		t.Errorf("decoded %+v, want %+v", got, g)
	}
	if !bytes.Equal(encode(t, got), b) {
		t.Error("the decoded values encode to other bytes")
	}
	// Sharing is kept: the node in the slice is the node in the map,
	// and a leaf reached twice is one leaf.
	if got.nodes[0] != got.byName["a"] {
		t.Error("a shared node came back as two")
	}
	l1 := got.nodes[0].peers[netip.MustParseAddr("10.0.0.1")]
	if l1 != got.nodes[1].peers[netip.MustParseAddr("10.0.0.2")] || got.byLeaf[l1] != "one" {
		t.Error("a shared leaf came back as two")
	}
	if got.nilMap != nil || got.empty == nil {
		t.Error("nil and empty maps were not told apart")
	}
}

func TestCorruptInput(t *testing.T) {
	b := encode(t, sample(1))
	for _, cut := range []int{0, 1, len(b) / 2, len(b) - 1} {
		err := NewDecoder(b[:cut]).Decode(&graph{})
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("cut at %d: %v, want ErrCorrupt", cut, err)
		}
	}
	// A huge length is refused before anything is allocated.
	huge := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}
	if err := NewDecoder(huge).Decode(&graph{}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("huge length: %v", err)
	}
}
