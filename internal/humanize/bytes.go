package humanize

import "strconv"

// Integer is any integer type a byte count is kept in.
type Integer interface {
	~int | ~int32 | ~int64 | ~uint | ~uint32 | ~uint64
}

// Bytes writes a byte count in SI units (1 kB = 1000 bytes, as network
// tools and link speeds count): "999 bytes", "1.5 kB", "4.00 MB",
// "2.50 GB", "1.20 TB". Kilobytes get one decimal and larger units two: a
// scan's few kilobytes need no more, an upload's megabytes are compared
// against thresholds. A negative count, which no real count is, is written
// as it is in bytes.
func Bytes[T Integer](n T) string {
	f := float64(n)
	switch {
	case f >= 1e12:
		return strconv.FormatFloat(f/1e12, 'f', 2, 64) + " TB"
	case f >= 1e9:
		return strconv.FormatFloat(f/1e9, 'f', 2, 64) + " GB"
	case f >= 1e6:
		return strconv.FormatFloat(f/1e6, 'f', 2, 64) + " MB"
	case f >= 1e3:
		return strconv.FormatFloat(f/1e3, 'f', 1, 64) + " kB"
	}
	if n < 0 {
		return strconv.FormatInt(int64(n), 10) + " bytes"
	}
	return strconv.FormatUint(uint64(n), 10) + " bytes"
}

// Count writes n with word, plural when n is not 1: "1 packet",
// "3 packets". Words whose plural is not word+"s" are not its business.
func Count(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
