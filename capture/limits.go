package capture

// Limits on what a capture file may declare. A capture is written by
// whoever made it, so every length in it is checked against these before
// anything is allocated for it: a 4 MB gzip file can otherwise declare a
// 4 GiB record of zeros and have the reader hold it whole.
const (
	// MaxRecordSize is the longest packet record read, in bytes: the limit
	// libpcap (MAXIMUM_SNAPLEN) and Wireshark (WTAP_MAX_PACKET_SIZE_STANDARD)
	// apply. A pcap record or a pcapng packet block declaring more captured
	// bytes makes the capture corrupt at that record.
	MaxRecordSize = 262144

	// MaxBlockSize is the longest pcapng block read into memory: a packet
	// block of MaxRecordSize bytes with its 32 bytes of framing and 128 KiB
	// of options (comments, hashes, verdicts, copied per packet). It applies
	// to section headers, interface descriptions and packet blocks, the
	// blocks whose contents are read. Wireshark 4.0 reads longer blocks
	// (megabytes of comments); captures with them are refused here.
	MaxBlockSize = 32 + MaxRecordSize + 128<<10

	// MaxSkippedBlockSize is the longest pcapng block skipped unread:
	// decryption secrets, name resolution, interface statistics, custom and
	// unknown blocks. Skipping costs no memory, and a TLS key log for a long
	// capture can well exceed MaxBlockSize, so the bound is wider; it only
	// stops a few declared bytes from making the reader skip gigabytes.
	MaxSkippedBlockSize = 16 << 20

	// MaxInterfaces is the most interface description blocks one pcapng
	// section may hold; a section declaring more is corrupt. Every
	// interface is kept for the rest of its section (its packets name it by
	// number), so further ones cannot be dropped without misreading the
	// packets that follow; the obsolete Packet Block numbers interfaces in 16
	// bits, so 65,536 is as many as the format itself expected, and real
	// captures hold a handful.
	MaxInterfaces = 65536

	// MaxInterfaceBytes is the most bytes of interface description blocks
	// one pcapng section may hold: their names, descriptions and filters are
	// kept as long as the section lasts, so without it MaxInterfaces blocks
	// of MaxBlockSize each could hold 25 GiB.
	MaxInterfaceBytes = 16 << 20
)

// frameError is a record or block whose declared framing cannot be read
// within the limits above (or cannot be right), found before anything was
// allocated for it. Callers report it as ErrCorrupt.
type frameError struct{ detail string }

func (e *frameError) Error() string { return e.detail }

// pad4 rounds n up to a multiple of four, as pcapng aligns its fields.
func pad4(n uint64) uint64 { return (n + 3) &^ 3 }
