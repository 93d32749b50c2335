package capture

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agents-of-shield/reconpcap/internal/statecodec"
	"github.com/agents-of-shield/reconpcap/internal/testfiles"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// recorder notes every packet handed to it, and apart its frame number
// (a part numbers its frames from 1).
type recorder struct {
	got []string
	idx []int
}

// numbered is what r noted, each with its frame number, sorted.
func (r *recorder) numbered() []string {
	out := make([]string, len(r.got))
	for i, g := range r.got {
		out[i] = fmt.Sprintf("#%d %s", r.idx[i], g)
	}
	slices.Sort(out)
	return out
}

func (r *recorder) Packet(p *Packet) {
	r.idx = append(r.idx, p.Index)
	r.got = append(r.got, fmt.Sprintf("%s len=%d/%d layers=%b %v>%v proto=%d ports=%d>%d flags=%x frags=%d payload=%d",
		p.Time.UTC().Format(time.RFC3339Nano), p.Length, p.CaptureLength, p.Layers, p.Src, p.Dst, p.Proto, p.SrcPort, p.DstPort, p.TCPFlags, p.Fragments, p.PayloadLen))
}

// captureFacts is what a capture says of its packets, fragments and
// flows, for comparing a merge with one pass.
type captureFacts struct {
	Packets           int
	Bytes, Captured   int64
	Start, End        time.Time
	Fragments         FragmentStats
	Overlaps          []FragmentOverlap
	Warnings          []string
	Flows             []Flow
	Pending, Recorded int
}

func factsOf(c *Capture, r *recorder) captureFacts {
	f := captureFacts{Packets: c.Packets, Bytes: c.Bytes, Captured: c.Captured, Start: c.Start, End: c.End,
		Fragments: c.Fragments, Overlaps: c.FragmentOverlaps(), Warnings: c.Warnings, Pending: c.Pending(), Recorded: len(r.got)}
	for _, fl := range c.Flows() {
		f.Flows = append(f.Flows, *fl)
	}
	slices.SortFunc(f.Flows, func(x, y Flow) int { return compareKeys(keyOf(&x), keyOf(&y)) })
	return f
}

// scanParts scans each file alone, keeping its pending datagrams, with
// its own recorder; each part's capture goes through the state encoding
// and back, as a partial travels between machines.
func scanParts(t *testing.T, files []string, workers int) ([]*Capture, []*recorder) {
	t.Helper()
	var cs []*Capture
	var rs []*recorder
	for _, f := range files {
		c, r := scanPart(t, f, workers)
		e := statecodec.NewEncoder()
		if err := e.Encode(c); err != nil {
			t.Fatal(err)
		}
		// The same file scanned again encodes to the same bytes,
		// pending datagrams included.
		again, _ := scanPart(t, f, workers)
		e2 := statecodec.NewEncoder()
		if err := e2.Encode(again); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(e.Bytes(), e2.Bytes()) {
			t.Errorf("%s: two scans encoded differently", filepath.Base(f))
		}
		var back Capture
		d := statecodec.NewDecoder(e.Bytes())
		if err := d.Decode(&back); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, &back)
		rs = append(rs, r)
	}
	return cs, rs
}

// scanPart scans the file f alone, keeping its pending datagrams, by
// one goroutine or by workers sharing its packets by address pair.
func scanPart(t *testing.T, f string, workers int) (*Capture, *recorder) {
	t.Helper()
	src := []Source{{Name: f, Path: f}}
	r := &recorder{}
	if workers <= 1 {
		c, err := ScanFiles(context.Background(), src, Config{KeepPending: true}, r)
		if err != nil {
			t.Fatal(err)
		}
		return c, r
	}
	// Each worker records apart; the part's recorder is theirs joined,
	// as detectors join the workers' analyzers.
	ws := make([]*recorder, workers)
	c, err := ScanSharded(context.Background(), src, Config{KeepPending: true}, workers, func(i int) []Analyzer {
		ws[i] = &recorder{}
		return []Analyzer{ws[i]}
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		r.got = append(r.got, w.got...)
		r.idx = append(r.idx, w.idx...)
	}
	return c, r
}

// mergeParts merges the parts in the order given, as detectors do: the
// captures join, the recorders (the analyzers) join, the joined
// datagrams are handed to the merged recorder, and what is left is
// settled.
func mergeParts(cs []*Capture, rs []*recorder, order []int, handEach bool) (*Capture, *recorder) {
	c, r := cs[order[0]], &recorder{got: slices.Clone(rs[order[0]].got), idx: slices.Clone(rs[order[0]].idx)}
	for _, i := range order[1:] {
		c.Merge(cs[i])
		r.got = append(r.got, rs[i].got...)
		r.idx = append(r.idx, rs[i].idx...)
		if handEach {
			c.HandPending(r)
		}
	}
	c.HandPending(r)
	c.Settle(r)
	return c, r
}

// wholeScan is one pass over the files as one capture, fragments held.
func wholeScan(t *testing.T, files []string) (*Capture, *recorder) {
	t.Helper()
	var srcs []Source
	for _, f := range files {
		srcs = append(srcs, Source{Name: f, Path: f})
	}
	r := &recorder{}
	c, err := ScanFiles(context.Background(), srcs, Config{HoldFragments: true}, r)
	if err != nil {
		t.Fatal(err)
	}
	return c, r
}

func checkMergeIsWhole(t *testing.T, files []string) (*Capture, *recorder) {
	t.Helper()
	whole, wr := wholeScan(t, files)
	want := factsOf(whole, wr)
	wantNumbered := wr.numbered()
	slices.Sort(wr.got)
	fwd := make([]int, len(files))
	for i := range fwd {
		fwd[i] = i
	}
	rev := slices.Clone(fwd)
	slices.Reverse(rev)
	var last *Capture
	// Odd parts first, then even ones, every capture merged before the
	// joined datagrams are handed: a datagram of three parts joins across
	// groups.
	var oddEven []int
	for _, start := range []int{1, 0} {
		for i := start; i < len(files); i += 2 {
			oddEven = append(oddEven, i)
		}
	}
	for _, tc := range []struct {
		name     string
		order    []int
		workers  int
		handEach bool
		numbered bool
	}{{"forward", fwd, 1, true, false}, {"reverse", rev, 1, true, false}, {"two workers each, forward", fwd, 2, true, false},
		{"odd then even, handed at the end", oddEven, 1, false, false}, {"reverse, frames numbered on", rev, 1, true, true}} {
		name, order := tc.name, tc.order
		cs, rs := scanParts(t, files, tc.workers)
		if tc.numbered {
			// Frame numbers run on across the parts, as MergePartials
			// numbers them: what each part handed and what it holds.
			off := 0
			for i, c := range cs {
				c.ShiftFrames(off)
				for j := range rs[i].idx {
					rs[i].idx[j] += off
				}
				off += c.Read
			}
		}
		c, r := mergeParts(cs, rs, order, tc.handEach)
		if tc.numbered {
			if got := r.numbered(); !slices.Equal(got, wantNumbered) {
				for i := range min(len(got), len(wantNumbered)) {
					if got[i] != wantNumbered[i] {
						t.Errorf("%s: packet %d handed as\n %s\nwant\n %s", name, i, got[i], wantNumbered[i])
						break
					}
				}
			}
		}
		got := factsOf(c, r)
		gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
		for i := range gv.NumField() {
			if g, w := gv.Field(i).Interface(), wv.Field(i).Interface(); !reflect.DeepEqual(g, w) {
				if gf, ok := g.([]Flow); ok {
					wf := w.([]Flow)
					for j := range min(len(gf), len(wf)) {
						if gf[j] != wf[j] {
							g, w = gf[j], wf[j]
							break
						}
					}
				}
				t.Errorf("%s merge of %d files: %s\n %+v\nwant\n %+v", name, len(files), gv.Type().Field(i).Name, g, w)
			}
		}
		slices.Sort(r.got)
		if !slices.Equal(r.got, wr.got) {
			for i := range min(len(r.got), len(wr.got)) {
				if r.got[i] != wr.got[i] {
					t.Errorf("%s merge: packet %d handed as\n %s\nwant\n %s", name, i, r.got[i], wr.got[i])
					break
				}
			}
		}
		last = c
	}
	return last, wr
}

// tsharkCount counts the frames of path that display filter expr keeps.
func tsharkCount(t *testing.T, path, expr string) int {
	t.Helper()
	out, err := exec.Command("tshark", "-r", path, "-Y", expr, "-T", "fields", "-e", "frame.number").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	return strings.Count(string(out), "\n")
}

const fragmentFilter = "ip.flags.mf == 1 || ip.frag_offset > 0 || ipv6.fraghdr"

// tsharkDatagrams counts the fragmented datagrams of path: the distinct
// (source, destination, identification) of its fragments.
func tsharkDatagrams(t *testing.T, path string) int {
	t.Helper()
	out, err := exec.Command("tshark", "-r", path, "-Y", fragmentFilter, "-T", "fields",
		"-e", "ip.src", "-e", "ip.dst", "-e", "ip.id", "-e", "ipv6.src", "-e", "ipv6.dst", "-e", "ipv6.fraghdr.ident").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	slices.Sort(lines)
	return len(slices.Compact(lines))
}

func editcapCut(t *testing.T, path string, packets, n int) []string {
	t.Helper()
	per := max(1, (packets+n-1)/n)
	dir := t.TempDir()
	if b, err := exec.Command("editcap", "-c", strconv.Itoa(per), path, filepath.Join(dir, "part.pcap")).CombinedOutput(); err != nil {
		t.Fatalf("editcap: %v: %s", err, b)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "part_*"))
	slices.Sort(files)
	return files
}

// TestFragmentsAcrossFiles: a capture of fragmented datagrams cut into
// 2, 5 and 20 files, each scanned alone keeping its pending datagrams,
// merged forward and backward, gives what one pass gives: every packet
// handed once as the same view, the same counts, fragment statistics and
// flows; and tshark's count of reassembled datagrams.
func TestFragmentsAcrossFiles(t *testing.T) {
	for _, tool := range []string{"tshark", "editcap", "capinfos"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	paths := []string{filepath.Join("..", "testdata", "scan_frag.pcap")}
	if testfiles.CorpusDir() != "" {
		paths = append(paths, testfiles.Corpus(t, "zeek/testing/btest/Traces/ipv6-fragmented-dns.pcap"))
	}
	for _, path := range paths {
		out, err := exec.Command("capinfos", "-c", "-M", "-T", path).Output()
		if err != nil {
			t.Fatal(err)
		}
		fields := strings.Split(strings.TrimSpace(string(out)), "\n")
		packets, err := strconv.Atoi(strings.TrimSpace(strings.Split(fields[len(fields)-1], "\t")[1]))
		if err != nil {
			t.Fatal(err)
		}
		reassembled := tsharkCount(t, path, "ip.fragments || ipv6.fragments")
		fragments := tsharkCount(t, path, fragmentFilter)
		incomplete := tsharkDatagrams(t, path) - reassembled
		if reassembled == 0 {
			t.Fatalf("%s: tshark reassembles nothing", path)
		}
		for _, n := range []int{2, 5, 20} {
			t.Run(fmt.Sprintf("%s/%d", filepath.Base(path), n), func(t *testing.T) {
				files := editcapCut(t, path, packets, n)
				c, _ := checkMergeIsWhole(t, files)
				st := c.Fragments
				if st.Reassembled != reassembled || st.Packets != fragments || st.Incomplete != incomplete || c.Packets != packets {
					t.Errorf("merged: %d packets, %+v; tshark: %d packets, %d fragments, %d reassembled, %d incomplete", c.Packets, st, packets, fragments, reassembled, incomplete)
				}
			})
		}
	}
}

// fragWriter writes raw IPv4 packets to pcap files.
type fragWriter struct {
	t   *testing.T
	dir string
}

// ipv4Frag is one IPv4 fragment from 10.0.0.1 to 10.0.0.2 of datagram id,
// proto, at offset bytes, carrying data.
func ipv4Frag(id uint16, proto uint8, offset int, more bool, data []byte) []byte {
	h := make([]byte, 20, 20+len(data))
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(data)))
	binary.BigEndian.PutUint16(h[4:], id)
	fo := uint16(offset / 8)
	if more {
		fo |= 0x2000
	}
	binary.BigEndian.PutUint16(h[6:], fo)
	h[8], h[9] = 64, proto
	copy(h[12:], []byte{10, 0, 0, 1})
	copy(h[16:], []byte{10, 0, 0, 2})
	return append(h, data...)
}

type rawPkt struct {
	at   time.Duration
	data []byte
}

func (w fragWriter) file(name string, pkts ...rawPkt) string {
	path := filepath.Join(w.dir, name)
	f, err := os.Create(path)
	if err != nil {
		w.t.Fatal(err)
	}
	defer f.Close()
	pw := pcapgo.NewWriter(f)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		w.t.Fatal(err)
	}
	base := time.Unix(1_700_000_000, 0)
	for _, p := range pkts {
		ci := gopacket.CaptureInfo{Timestamp: base.Add(p.at), CaptureLength: len(p.data), Length: len(p.data)}
		if err := pw.WritePacket(ci, p.data); err != nil {
			w.t.Fatal(err)
		}
	}
	return path
}

// TestFragmentsAcrossFilesCases: datagrams a file boundary separates,
// written by the test: completed (a UDP datagram, whose flow must be the
// one pass's), timed out between the files (FragTimeout), overlapping
// with other bytes across the files, and never completed. The truth is
// what the test wrote; the merge must also equal one pass.
func TestFragmentsAcrossFilesCases(t *testing.T) {
	udp := make([]byte, 8+24) // a UDP header and 24 bytes of payload
	binary.BigEndian.PutUint16(udp[0:], 40000)
	binary.BigEndian.PutUint16(udp[2:], 53)
	binary.BigEndian.PutUint16(udp[4:], uint16(len(udp)))
	for i := 8; i < len(udp); i++ {
		udp[i] = byte(i)
	}
	other := slices.Clone(udp[16:32])
	for i := range other {
		other[i] ^= 0xff
	}
	cases := []struct {
		name  string
		files [][]rawPkt
		want  FragmentStats
		flows int
	}{
		{"completed", [][]rawPkt{
			{{0, ipv4Frag(1, 17, 0, true, udp[:16])}},
			{{time.Second, ipv4Frag(1, 17, 16, false, udp[16:])}},
		}, FragmentStats{Packets: 2, Reassembled: 1}, 1},
		{"completed, last fragment first", [][]rawPkt{
			{{0, ipv4Frag(2, 17, 16, false, udp[16:])}},
			{{time.Second, ipv4Frag(2, 17, 8, true, udp[8:16])}},
			{{2 * time.Second, ipv4Frag(2, 17, 0, true, udp[:8])}},
		}, FragmentStats{Packets: 3, Reassembled: 1}, 1},
		{"timed out between the files", [][]rawPkt{
			{{0, ipv4Frag(3, 17, 0, true, udp[:16])}},
			{{FragTimeout + time.Second, ipv4Frag(3, 17, 16, false, udp[16:])}},
		}, FragmentStats{Packets: 2, Incomplete: 2}, 0},
		{"overlapping with other bytes", [][]rawPkt{
			{{0, ipv4Frag(4, 17, 0, true, udp[:24])}},
			{{time.Second, ipv4Frag(4, 17, 16, false, other)}},
		}, FragmentStats{Packets: 2, Overlapping: 1, Conflicting: 1}, 0},
		{"dropped in the first file, a fragment more in the second", [][]rawPkt{
			{{0, ipv4Frag(6, 17, 0, true, udp[:24])}, {time.Second, ipv4Frag(6, 17, 16, true, other)}},
			{{2 * time.Second, ipv4Frag(6, 17, 24, false, udp[24:])}},
		}, FragmentStats{Packets: 3, Overlapping: 1, Conflicting: 1}, 0},
		{"never completed", [][]rawPkt{
			{{0, ipv4Frag(5, 17, 0, true, udp[:8])}},
			{{time.Second, ipv4Frag(5, 17, 16, false, udp[16:])}},
		}, FragmentStats{Packets: 2, Incomplete: 1}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := fragWriter{t, t.TempDir()}
			var files []string
			for i, pk := range tc.files {
				files = append(files, w.file(fmt.Sprintf("f%d.pcap", i), pk...))
			}
			c, r := checkMergeIsWhole(t, files)
			if c.Fragments != tc.want {
				t.Errorf("fragments %+v, want %+v", c.Fragments, tc.want)
			}
			if len(c.Flows()) != tc.flows {
				t.Fatalf("%d flows, want %d", len(c.Flows()), tc.flows)
			}
			if tc.flows == 1 {
				f := c.Flows()[0]
				if f.Packets[0] != 1 || f.Fragmented[0] != 1 || f.Server.Port() != 53 || f.Payload[0] != 24 {
					t.Errorf("flow %+v, want one fragmented packet of 24 bytes to port 53", *f)
				}
			}
			n := 0
			for _, f := range tc.files {
				n += len(f)
			}
			if len(r.got) != n {
				t.Errorf("%d packets handed, want %d", len(r.got), n)
			}
		})
	}
}

// tcpOnly keeps TCP packets: a datagram's fragments no, the datagram yes.
type tcpOnly struct{}

func (tcpOnly) Match(p *Packet, _ int) bool { return p.Layers&LayerTCP != 0 }

// TestHeldFragmentsFiltered: with a filter that refuses fragments and
// keeps their datagrams, holding fragments (in one pass, and in parts
// merged) hands the analyzers what handing them at once does.
func TestHeldFragmentsFiltered(t *testing.T) {
	if _, err := exec.LookPath("editcap"); err != nil {
		t.Skip("editcap is not installed")
	}
	path := filepath.Join("..", "testdata", "scan_frag.pcap")
	ctx := context.Background()
	scan := func(files []string, cfg Config) (*Capture, []string) {
		var srcs []Source
		for _, f := range files {
			srcs = append(srcs, Source{Name: f, Path: f})
		}
		r := &recorder{}
		c, err := ScanFiles(ctx, srcs, cfg, r)
		if err != nil {
			t.Fatal(err)
		}
		return c, r.got
	}
	want, wantGot := scan([]string{path}, Config{Filter: tcpOnly{}})
	slices.Sort(wantGot)
	if want.Fragments.Reassembled == 0 || want.Packets >= want.Read {
		t.Fatalf("the filter keeps %d of %d packets, %d datagrams reassembled", want.Packets, want.Read, want.Fragments.Reassembled)
	}
	held, heldGot := scan([]string{path}, Config{Filter: tcpOnly{}, HoldFragments: true})
	slices.Sort(heldGot)
	if held.Packets != want.Packets || !slices.Equal(heldGot, wantGot) {
		t.Errorf("held: %d packets handed, want %d", held.Packets, want.Packets)
	}
	files := editcapCut(t, path, want.Read, 5)
	var c *Capture
	var got []string
	for _, f := range files {
		p, pg := scan([]string{f}, Config{Filter: tcpOnly{}, KeepPending: true})
		got = append(got, pg...)
		r := &recorder{}
		if c == nil {
			c = p
		} else {
			c.Merge(p)
		}
		c.HandPending(r)
		got = append(got, r.got...)
	}
	r := &recorder{}
	c.Settle(r)
	got = append(got, r.got...)
	slices.Sort(got)
	if c.Packets != want.Packets || !slices.Equal(got, wantGot) || c.Fragments != want.Fragments {
		t.Errorf("5 parts merged: %d packets handed, %+v; want %d, %+v", c.Packets, c.Fragments, want.Packets, want.Fragments)
	}
}
