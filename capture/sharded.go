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
		b.recs, b.slab = b.recs[:0], b.slab[:0]
		w.free <- b
	}
}

// add queues one packet for its worker.
func (sh *sharder) add(i int, rec shardRec, data []byte) {
	w := sh.workers[i]
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

// finish hands the last batches over, waits for the workers and merges
// their captures into c.
func (sh *sharder) finish(c *Capture) {
	for _, w := range sh.workers {
		if w.cur != nil && len(w.cur.recs) > 0 {
			w.full <- w.cur
		}
		w.cur = nil
		close(w.full)
	}
	sh.wg.Wait()
	for _, w := range sh.workers {
		w.c.finishDefrag(w.analyzers)
		w.c.settle(nil)
		c.Merge(w.c)
	}
}

// runSharded is run for a sharded scan: it reads r and hands each packet
// to its worker.
func (c *Capture) runSharded(ctx context.Context, r *captureReader, ps *pass) error {
	sh := ps.shards
	for n := 0; ; n++ {
		if n%ctxCheckEvery == 0 {
			if ctx.Err() != nil {
				return c.stop(ctx, r)
			}
			ps.report(r)
		}
		data, ci, lt, err := r.next()
		if err != nil {
			if ctx.Err() != nil {
				return c.stop(ctx, r)
			}
			return c.readError(r, err)
		}
		c.Read++
		rec := shardRec{index: c.Read, time: c.timestamp(ci.Timestamp), length: ci.Length, caplen: ci.CaptureLength, lt: lt}
		sh.add(sh.route(lt, data), rec, data)
	}
}

// route returns the worker of a frame: by its pair of addresses, or the
// first for a frame without.
func (sh *sharder) route(lt layers.LinkType, data []byte) int {
	n := len(sh.workers)
	if n == 1 {
		return 0
	}
	a, b, ok := frameAddrs(lt, data)
	if !ok {
		// A frame the quick reading does not know: the decoder says.
		var p Packet
		p.LinkType = lt
		sh.rdec.decode(&p, data)
		switch {
		case p.HasIP():
			a, b = p.Src, p.Dst
		case p.Layers&LayerARP != 0 && p.ARP != nil:
			a, _ = netip.AddrFromSlice(p.ARP.SourceProtAddress)
			b, _ = netip.AddrFromSlice(p.ARP.DstProtAddress)
		default:
			return 0
		}
	}
	return int(pairHash(a, b) % uint64(n))
}

// pairHash hashes an unordered pair of addresses (FNV-1a over both, the
// lower first).
func pairHash(a, b netip.Addr) uint64 {
	a, b = a.Unmap(), b.Unmap()
	if a.Compare(b) > 0 {
		a, b = b, a
	}
	x, y := a.As16(), b.As16()
	h := uint64(14695981039346656037)
	for _, c := range x {
		h = (h ^ uint64(c)) * 1099511628211
	}
	for _, c := range y {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h
}

// frameAddrs reads the addresses of an IP packet or an ARP message from a
// frame of the link types the decoder reads, without decoding it. ok is
// false when it cannot tell (the caller decodes); a frame it can tell
// carries neither gives the zero addresses, which route to one worker.
func frameAddrs(lt layers.LinkType, d []byte) (a, b netip.Addr, ok bool) {
	var etype uint16
	switch lt {
	case layers.LinkTypeEthernet:
		if len(d) < 14 {
			return a, b, false
		}
		etype, d = binary.BigEndian.Uint16(d[12:]), d[14:]
		for etype == 0x8100 || etype == 0x88a8 { // 802.1Q, 802.1ad
			if len(d) < 4 {
				return a, b, false
			}
			etype, d = binary.BigEndian.Uint16(d[2:]), d[4:]
		}
	case layers.LinkTypeLinuxSLL:
		if len(d) < 16 {
			return a, b, false
		}
		etype, d = binary.BigEndian.Uint16(d[14:]), d[16:]
	case layers.LinkTypeLinuxSLL2:
		if len(d) < 20 {
			return a, b, false
		}
		etype, d = binary.BigEndian.Uint16(d[0:]), d[20:]
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		if len(d) < 4 {
			return a, b, false
		}
		return ipAddrs(d[4:])
	case layers.LinkTypeIPv4, layers.LinkTypeIPv6, layers.LinkTypeRaw, 12, 14:
		return ipAddrs(d)
	default:
		return a, b, true // not read by the decoder either
	}
	switch etype {
	case 0x0800, 0x86dd:
		return ipAddrs(d)
	case 0x0806:
		// ARP for IPv4 over Ethernet: sender at 14, target at 24.
		if len(d) < 28 || binary.BigEndian.Uint16(d[2:]) != 0x0800 || d[4] != 6 || d[5] != 4 {
			return a, b, false
		}
		return netip.AddrFrom4([4]byte(d[14:18])), netip.AddrFrom4([4]byte(d[24:28])), true
	}
	return a, b, false
}

// ipAddrs reads the addresses of the IP header d starts with.
func ipAddrs(d []byte) (a, b netip.Addr, ok bool) {
	if len(d) == 0 {
		return a, b, false
	}
	switch d[0] >> 4 {
	case 4:
		if len(d) < 20 {
			return a, b, false
		}
		return netip.AddrFrom4([4]byte(d[12:16])), netip.AddrFrom4([4]byte(d[16:20])), true
	case 6:
		if len(d) < 40 {
			return a, b, false
		}
		return netip.AddrFrom16([16]byte(d[8:24])), netip.AddrFrom16([16]byte(d[24:40])), true
	}
	return a, b, false
}
