package capture

import (
	"context"
	"encoding/binary"
	"net/netip"
	"sync"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Sharded scanning: one goroutine reads, several decode and analyse.
//
// The reader frames each record, numbers it and gives it its timestamp,
// then hands it to the worker its pair of addresses belongs to (both
// directions, every port, ICMP, IP fragments and ARP between two
// addresses land on one worker; packets without addresses on the first).
// So every flow, every connection and every fragmented datagram is
// followed whole by one worker, and what the workers keep per host joins
// after the pass (Capture.Merge, and each analyzer's merge).

// shardBatch is the number of packets the reader hands a worker at once.
const shardBatch = 256

// shardQueue is how many batches each worker has in flight: enough that
// neither side waits on the other for long, few enough to stay small.
const shardQueue = 8

type shardRec struct {
	index          int
	time           time.Time
	length, caplen int
	lt             layers.LinkType
	off, end       int
}

type shardBatchBuf struct {
	recs []shardRec
	slab []byte
	// chunk, when not nil, is what slab is: a chunk of the file the
	// records lie in (chunked.go), released when the batch is done.
	chunk *fileChunk
}

// shardWorker is one worker: its capture (flows, counts), decoder and
// analyzers.
type shardWorker struct {
	c         *Capture
	dec       *decoder
	analyzers []Analyzer
	full      chan *shardBatchBuf
	free      chan *shardBatchBuf
	cur       *shardBatchBuf
}

// sharder is what the reader of a sharded scan keeps.
type sharder struct {
	workers []*shardWorker
	filter  Filter
	rdec    *decoder // decodes, to route them, the frames route cannot read
	wg      sync.WaitGroup
	chunks  chan *fileChunk // chunked.go: the chunks of plain pcap files, made once
}

// ScanSharded is ScanFiles with the decoding and analysis spread over n
// workers (n < 1 means 1): the files are read by one goroutine, and each
// packet is decoded, counted, put in its flow and analysed by the worker
// its pair of addresses belongs to. analyzers(i) returns the analyzers of
// worker i; each sees only its own packets, in file order, and an
// analyzer's state must be merged with the others' after the scan (what
// the workers' analyzers keep per host, per port, per name is spread
// among them). The Capture returned is the merge of the workers' (its
// flows are theirs: the *Flow values the analyzers saw).
//
// The Filter, if any, is called from every worker at once and must be
// safe for that. Each worker's flow table holds Config.MaxFlows / n flows.
func ScanSharded(ctx context.Context, srcs []Source, cfg Config, n int, analyzers func(worker int) []Analyzer) (*Capture, error) {
	n = max(n, 1)
	sh := &sharder{filter: cfg.Filter, rdec: newDecoder()}
	per := max(1, (cfg.maxFlows()+n-1)/n)
	for i := range n {
		an := analyzers(i)
		w := &shardWorker{
			c:         cfg.fragMode(&Capture{flows: newFlowTable(per)}),
			dec:       newDecoder(),
			analyzers: an,
			full:      make(chan *shardBatchBuf, shardQueue),
			free:      make(chan *shardBatchBuf, shardQueue+1),
		}
		w.c.flows.onEvict = evictTo(an)
		for range shardQueue + 1 {
			w.free <- &shardBatchBuf{recs: make([]shardRec, 0, shardBatch)}
		}
		sh.workers = append(sh.workers, w)
		sh.wg.Add(1)
		go sh.work(w)
	}
	return scanFiles(ctx, srcs, cfg, sh, nil)
}

func (sh *sharder) work(w *shardWorker) {
	defer sh.wg.Done()
	var p Packet
	for b := range w.full {
		for _, r := range b.recs {
			p = Packet{Index: r.index, Time: r.time, Length: r.length, CaptureLength: r.caplen, LinkType: r.lt, Data: b.slab[r.off:r.end]}
			w.c.handle(&p, w.dec, sh.filter, w.analyzers)
		}
		if b.chunk != nil {
			b.chunk.release()
			b.chunk, b.slab = nil, nil
		}
		b.recs, b.slab = b.recs[:0], b.slab[:0]
		w.free <- b
	}
}

// add queues one packet for its worker, copying its data.
func (sh *sharder) add(i int, rec shardRec, data []byte) {
	w := sh.workers[i]
	if w.cur != nil && w.cur.chunk != nil {
		sh.flush(w)
	}
	if w.cur == nil {
		w.cur = <-w.free
	}
	b := w.cur
	rec.off = len(b.slab)
	b.slab = append(b.slab, data...)
	rec.end = len(b.slab)
	b.recs = append(b.recs, rec)
	if len(b.recs) == shardBatch {
		w.full <- b
		w.cur = nil
	}
}

// addIn queues one packet for its worker: rec.off and rec.end locate its
// data in ch, which the batch keeps until the worker is done with it.
func (sh *sharder) addIn(i int, rec shardRec, ch *fileChunk) {
	w := sh.workers[i]
	if w.cur != nil && w.cur.chunk != ch {
		sh.flush(w)
	}
	if w.cur == nil {
		w.cur = <-w.free
		w.cur.chunk, w.cur.slab = ch, ch.buf
		ch.hold()
	}
	b := w.cur
	b.recs = append(b.recs, rec)
	if len(b.recs) == shardBatch {
		sh.flush(w)
	}
}

// flush hands w's current batch over, if it has one.
func (sh *sharder) flush(w *shardWorker) {
	if w.cur == nil {
		return
	}
	if len(w.cur.recs) == 0 && w.cur.chunk == nil {
		return
	}
	w.full <- w.cur
	w.cur = nil
}

// finish hands the last batches over, waits for the workers and merges
// their captures into c.
func (sh *sharder) finish(c *Capture) {
	for _, w := range sh.workers {
		sh.flush(w)
		close(w.full)
	}
	sh.wg.Wait()
	for _, w := range sh.workers {
		w.c.finishDefrag(w.analyzers)
		w.c.settle(nil)
		c.Merge(w.c)
	}
}

// route returns the worker of a frame: by its pair of addresses, or the
// first for a frame without.
func (sh *sharder) route(lt layers.LinkType, data []byte) int {
	n := len(sh.workers)
	if n == 1 {
		return 0
	}
	h, ok := framePairHash(lt, data)
	if !ok {
		// A frame the quick reading does not know: the decoder says.
		var p Packet
		p.LinkType = lt
		sh.rdec.decode(&p, data)
		switch {
		case p.HasIP():
			h = pairHash(p.Src, p.Dst)
		case p.Layers&LayerARP != 0 && p.ARP != nil:
			a, _ := netip.AddrFromSlice(p.ARP.SourceProtAddress)
			b, _ := netip.AddrFromSlice(p.ARP.DstProtAddress)
			h = pairHash(a, b)
		default:
			return 0
		}
	}
	return int(h % uint64(n))
}

// pairHash hashes an unordered pair of addresses as framePairHash hashes
// them from raw headers: IPv4 (and IPv4-mapped IPv6) addresses by their 4
// bytes, IPv6 by their 16.
func pairHash(a, b netip.Addr) uint64 {
	a, b = a.Unmap(), b.Unmap()
	if a.Is4() && b.Is4() {
		x, y := a.As4(), b.As4()
		return hash4(x[:], y[:])
	}
	x, y := a.As16(), b.As16()
	return hash16(x[:], y[:])
}

// hash4 hashes the unordered pair of IPv4 addresses x and y.
func hash4(x, y []byte) uint64 {
	u, v := uint64(binary.BigEndian.Uint32(x)), uint64(binary.BigEndian.Uint32(y))
	if u > v {
		u, v = v, u
	}
	return mix64(u<<32 | v)
}

// hash16 hashes the unordered pair of 16-byte addresses x and y.
func hash16(x, y []byte) uint64 {
	xh, xl := binary.BigEndian.Uint64(x), binary.BigEndian.Uint64(x[8:])
	yh, yl := binary.BigEndian.Uint64(y), binary.BigEndian.Uint64(y[8:])
	if xh > yh || (xh == yh && xl > yl) {
		xh, xl, yh, yl = yh, yl, xh, xl
	}
	return mix64(mix64(mix64(xh)^xl)^yh) ^ yl
}

// mix64 is the splitmix64 finalizer.
func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// framePairHash hashes the pair of addresses of an IP packet or an ARP
// message read from a frame of the link types the decoder reads, without
// decoding it. ok is false when it cannot tell (the caller decodes); a
// frame it can tell carries neither hashes to 0, one worker.
func framePairHash(lt layers.LinkType, d []byte) (uint64, bool) {
	var etype uint16
	switch lt {
	case layers.LinkTypeEthernet:
		if len(d) < 14 {
			return 0, false
		}
		etype, d = binary.BigEndian.Uint16(d[12:]), d[14:]
		for etype == 0x8100 || etype == 0x88a8 { // 802.1Q, 802.1ad
			if len(d) < 4 {
				return 0, false
			}
			etype, d = binary.BigEndian.Uint16(d[2:]), d[4:]
		}
	case layers.LinkTypeLinuxSLL:
		if len(d) < 16 {
			return 0, false
		}
		etype, d = binary.BigEndian.Uint16(d[14:]), d[16:]
	case layers.LinkTypeLinuxSLL2:
		if len(d) < 20 {
			return 0, false
		}
		etype, d = binary.BigEndian.Uint16(d[0:]), d[20:]
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		if len(d) < 4 {
			return 0, false
		}
		return ipPairHash(d[4:])
	case layers.LinkTypeIPv4, layers.LinkTypeIPv6, layers.LinkTypeRaw, 12, 14:
		return ipPairHash(d)
	default:
		return 0, true // not read by the decoder either
	}
	switch etype {
	case 0x0800, 0x86dd:
		return ipPairHash(d)
	case 0x0806:
		// ARP for IPv4 over Ethernet: sender at 14, target at 24.
		if len(d) < 28 || binary.BigEndian.Uint16(d[2:]) != 0x0800 || d[4] != 6 || d[5] != 4 {
			return 0, false
		}
		return hash4(d[14:18], d[24:28]), true
	}
	return 0, false
}

var v4InV6 = [12]byte{10: 0xff, 11: 0xff}

// ipPairHash hashes the addresses of the IP header d starts with.
func ipPairHash(d []byte) (uint64, bool) {
	if len(d) == 0 {
		return 0, false
	}
	switch d[0] >> 4 {
	case 4:
		if len(d) < 20 {
			return 0, false
		}
		return hash4(d[12:16], d[16:20]), true
	case 6:
		if len(d) < 40 {
			return 0, false
		}
		s, t := d[8:24], d[24:40]
		if [12]byte(s[:12]) == v4InV6 || [12]byte(t[:12]) == v4InV6 {
			return 0, false // IPv4-mapped: the decoder's addresses say how
		}
		return hash16(s, t), true
	}
	return 0, false
}
