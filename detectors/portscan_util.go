package detectors

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Small helpers of the port scan detector, shared by the other detectors.

func sortedKeys[K interface {
	comparable
	cmp.Ordered
}, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func sortedAddrs[V any](m map[netip.Addr]V) []netip.Addr {
	out := make([]netip.Addr, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

func portStrings(ports []uint16, n int) []string {
	ports = head(ports, n)
	out := make([]string, len(ports))
	for i, p := range ports {
		out[i] = strconv.Itoa(int(p))
	}
	return out
}

func addrStrings(addrs []netip.Addr, n int) []string {
	addrs = head(addrs, n)
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out
}

// joinPorts lists up to n ports, saying how many more there are.
func joinPorts(ports []uint16, n int) string {
	s := strings.Join(portStrings(ports, n), ", ")
	if len(ports) > n {
		s += fmt.Sprintf(" and %d more", len(ports)-n)
	}
	return s
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
