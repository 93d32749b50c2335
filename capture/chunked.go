package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// A sharded scan of a plain pcap file reads it in large chunks with
// pread and frames the records where they lie: the workers read each
// packet's bytes in the chunk, so the reader copies nothing but what the
// kernel copies into the chunk, and checks each record as pcapFramer and
// gopacket's reader check it, giving the same errors.

// chunkSize is what one read takes; a record (at most MaxRecordSize and
// its header) always fits, so every read frames at least one.
const chunkSize = 4 << 20

// chunkPool is how many chunks a scan has in flight.
const chunkPool = 6

// fileChunk is a chunk of the file and the batches that still read it.
type fileChunk struct {
	buf  []byte
	refs atomic.Int32
	free chan *fileChunk
}

func (ch *fileChunk) hold() { ch.refs.Add(1) }

// release drops one reader of ch; the last gives it back.
func (ch *fileChunk) release() {
	if ch.refs.Add(-1) == 0 {
		ch.free <- ch
	}
}

// runChunked is run for a sharded scan of a plain pcap file.
func (c *Capture) runChunked(ctx context.Context, r *captureReader, ps *pass) error {
	sh := ps.shards
	if sh.chunks == nil {
		sh.chunks = make(chan *fileChunk, chunkPool)
		for range chunkPool {
			sh.chunks <- &fileChunk{buf: make([]byte, chunkSize), free: sh.chunks}
		}
	}
	order := r.order
	factor := int64(1000)
	if r.nanosecond {
		factor = 1
	}
	lt := r.linkTypes[0]
	off := int64(pcapHeaderLen)
	for n := 0; ; {
		if ctx.Err() != nil {
			return c.stop(ctx, r)
		}
		r.counter.n = off
		ps.report(r)
		ch := <-sh.chunks
		ch.refs.Store(1) // the reader's
		got, rerr := r.f.ReadAt(ch.buf, off)
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			ch.release()
			return c.readError(r, rerr)
		}
		buf := ch.buf[:got]
		pos := 0
		var ferr error
		for {
			rest := buf[pos:]
			if len(rest) < pcapRecordHeaderLen {
				if got < len(ch.buf) { // the end of the file
					switch {
					case len(rest) == 0:
						ferr = io.EOF
					default:
						ferr = io.ErrUnexpectedEOF // a header cut short
					}
				}
				break
			}
			caplen := order.Uint32(rest[8:12])
			if caplen > MaxRecordSize {
				ferr = &frameError{fmt.Sprintf("record of %d bytes exceeds the %d-byte limit", caplen, MaxRecordSize)}
				break
			}
			length := order.Uint32(rest[12:16])
			if caplen > length {
				ferr = fmt.Errorf("capture length exceeds original packet length: %d > %d", caplen, length)
				break
			}
			end := pcapRecordHeaderLen + int(caplen)
			if len(rest) < end {
				if got < len(ch.buf) {
					ferr = io.ErrUnexpectedEOF // the record's data cut short
				}
				break
			}
			ts := time.Unix(int64(order.Uint32(rest[0:4])), int64(order.Uint32(rest[4:8]))*factor).UTC()
			c.Read++
			rec := shardRec{index: c.Read, time: c.timestamp(ts), length: int(length), caplen: int(caplen), lt: lt,
				off: pos + pcapRecordHeaderLen, end: pos + end}
			sh.addIn(sh.route(lt, rest[pcapRecordHeaderLen:end]), rec, ch)
			pos += end
			if n++; n%ctxCheckEvery == 0 && ctx.Err() != nil {
				break
			}
		}
		off += int64(pos)
		// The batches of this chunk go now, so the chunk comes back once
		// they are done.
		for _, w := range sh.workers {
			if w.cur != nil && w.cur.chunk == ch {
				sh.flush(w)
			}
		}
		ch.release()
		if ferr != nil {
			r.counter.n = off
			return c.readError(r, ferr)
		}
	}
}
