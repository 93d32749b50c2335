package filter

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseOptions reads Options from a line of key=value words, the form a
// command line's --filter takes:
//
//	host=10.0.0.5 proto=tcp dport=22 flags=syn,!ack
//
// Keys: host, src, dst (an address or a network), port, sport, dport,
// proto, flags, payload (yes), since, until (RFC 3339 or Unix seconds),
// frames (N, N-M, N- or -M), domain. A key may appear once.
func ParseOptions(s string) (Options, error) {
	var o Options
	seen := map[string]bool{}
	for _, word := range strings.Fields(s) {
		k, v, ok := strings.Cut(word, "=")
		if !ok || v == "" {
			return Options{}, fmt.Errorf("%q: want key=value", word)
		}
		k = strings.ToLower(k)
		if seen[k] {
			return Options{}, fmt.Errorf("%s given twice", k)
		}
		seen[k] = true
		var err error
		switch k {
		case "host":
			o.Host = v
		case "src":
			o.Src = v
		case "dst":
			o.Dst = v
		case "port":
			o.Port, err = ParsePort(v)
		case "sport", "srcport":
			o.SrcPort, err = ParsePort(v)
		case "dport", "dstport":
			o.DstPort, err = ParsePort(v)
		case "proto":
			o.Proto = v
		case "flags":
			o.Flags = v
		case "payload":
			o.Payload, err = strconv.ParseBool(v)
			if v == "yes" {
				o.Payload, err = true, nil
			}
		case "since":
			o.Since, err = ParseTime(v)
		case "until":
			o.Until, err = ParseTime(v)
		case "frames":
			o.FirstFrame, o.LastFrame, err = ParseFrames(v)
		case "domain":
			o.Domain = v
		default:
			return Options{}, fmt.Errorf("unknown key %q: want host, src, dst, port, sport, dport, proto, flags, payload, since, until, frames or domain", k)
		}
		if err != nil {
			return Options{}, fmt.Errorf("%s: %w", k, err)
		}
	}
	return o, nil
}

// ParsePort reads a port, 1 to 65535.
func ParsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%q is not a port (1 to 65535)", s)
	}
	return uint16(n), nil
}

// ParseTime reads an RFC 3339 time or Unix seconds with up to nine
// decimals ("1795437071.708167").
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	sec, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || len(frac) > 9 || n < 0 || n > math.MaxInt64/1_000_000_000-1 {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor Unix seconds", s)
	}
	var ns int64
	if frac != "" {
		f, err := strconv.ParseUint(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor Unix seconds", s)
		}
		ns = int64(f)
	}
	return time.Unix(n, ns).UTC(), nil
}

// ParseFrames reads a frame range: "N", "N-M", "N-" or "-M".
func ParseFrames(s string) (first, last int, err error) {
	a, b, isRange := strings.Cut(s, "-")
	num := func(x string) (int, error) {
		if x == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(x)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("%q is not a frame number (1 or more)", x)
		}
		return n, nil
	}
	if first, err = num(a); err != nil {
		return 0, 0, err
	}
	if !isRange {
		if first == 0 {
			return 0, 0, fmt.Errorf("%q is not a frame range", s)
		}
		return first, first, nil
	}
	if last, err = num(b); err != nil {
		return 0, 0, err
	}
	if first == 0 && last == 0 {
		return 0, 0, fmt.Errorf("%q is not a frame range", s)
	}
	return first, last, nil
}
