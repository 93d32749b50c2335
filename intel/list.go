package intel

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// List is a local indicator list: IP addresses, CIDR prefixes and domains
// loaded from files, looked up in memory and never over the network. It is
// a Provider (and an OfflineProvider, so it also sees private addresses and
// internal names). A match is a malicious verdict with score 100: lists are
// blocklists. A domain entry matches the domain and all its subdomains; a
// prefix matches every address in it.
//
// A List is safe for concurrent use; loading while looking up is allowed.
type List struct {
	name string

	mu       sync.RWMutex
	addrs    map[netip.Addr]listEntry
	prefixes map[netip.Prefix]listEntry
	bits4    []int // prefix lengths present, longest first
	bits6    []int
	domains  map[string]listEntry
	skipped  int
}

type listEntry struct {
	value  string // the entry as normalised: "10.0.0.0/8", "evil.example.com"
	source string // "file.txt:12"
	labels []string
}

// NewList returns an empty list whose provider name is name ("local" if
// empty).
func NewList(name string) *List {
	if name == "" {
		name = "local"
	}
	return &List{
		name:     name,
		addrs:    make(map[netip.Addr]listEntry),
		prefixes: make(map[netip.Prefix]listEntry),
		domains:  make(map[string]listEntry),
	}
}

// Name returns the name given to NewList.
func (l *List) Name() string { return l.name }

// Offline returns true: a List never sends anything anywhere.
func (l *List) Offline() bool { return true }

// Len returns the number of distinct entries.
func (l *List) Len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.addrs) + len(l.prefixes) + len(l.domains)
}

// Skipped returns the number of lines or cells that held no indicator (CSV
// headers, address ranges, junk) over everything loaded.
func (l *List) Skipped() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.skipped
}

// LoadFile reads the list file at path; see Read for the formats.
func (l *List) LoadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("intel: loading indicators: %w", err)
	}
	defer f.Close()
	return l.Read(path, f)
}

// Read adds the indicators in r. source names the input in match details
// ("source": "feodo.csv:12") and its base name without extension labels
// the matches. Two formats are read:
//
//   - Text, one indicator per line: an IP address, a CIDR prefix, a domain
//     ("*.evil.example" and ".evil.example" mean the same), or a URL (its
//     host counts). "#" and ";" start comments; blank lines are ignored;
//     further words on a line are ignored; hosts-file lines
//     ("0.0.0.0 evil.example") give their names.
//   - CSV, chosen by a .csv extension, or whatever the name by a comma on
//     the first data line when reading it as CSV finds at least as many
//     indicators as reading it as text:
//     the columns named ip, ip_address, dst_ip, indicator, ioc, domain,
//     host, hostname, fqdn, url, cidr, ... in a header row, else the first
//     column holding an indicator. A column named category, threat,
//     threat_type, malware or tags labels the matches. Quotes and "#"
//     comment lines are tolerated.
//
// Entries that hold no indicator are counted in Skipped. Read fails on an
// input that has lines but not a single indicator, which is a wrong file
// rather than an empty list.
func (l *List) Read(source string, r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("intel: reading %s: %w", source, err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	label := strings.TrimSuffix(filepath.Base(source), filepath.Ext(source))
	var added, skipped int
	if isCSV(source, data) && (strings.EqualFold(filepath.Ext(source), ".csv") || csvReadsMore(source, label, data)) {
		added, skipped, err = l.readCSV(source, label, data)
	} else {
		added, skipped, err = l.readText(source, label, data)
	}
	l.mu.Lock()
	l.skipped += skipped
	l.mu.Unlock()
	if err != nil {
		return err
	}
	if added == 0 && skipped > 0 {
		return fmt.Errorf("intel: %s: no indicators found (%d entries skipped)", source, skipped)
	}
	return nil
}

// Add adds one indicator (IP, CIDR, domain or URL) with source as its
// provenance. It returns an *InputError if s is none of these.
func (l *List) Add(s, source string) error {
	if !l.addToken(s, source, nil) {
		return newInputError("", s, "not an IP address, CIDR prefix, domain or URL")
	}
	return nil
}

// isCSV says whether a list is CSV: by a .csv extension, else by its
// content (a comma on the first data line), whatever the name says: feeds
// are often saved as .txt.
func isCSV(source string, data []byte) bool {
	if strings.EqualFold(filepath.Ext(source), ".csv") {
		return true
	}
	for line := range bytes.Lines(data) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' || line[0] == ';' {
			continue
		}
		return bytes.IndexByte(line, ',') >= 0
	}
	return false
}

// csvReadsMore settles a list whose content suggests CSV but whose name
// does not: a text list can have a comma on its first line too
// ("1.2.3.4 scanner, seen twice"). It reads the data both ways into
// scratch lists and says whether CSV finds at least as many indicators.
func csvReadsMore(source, label string, data []byte) bool {
	asCSV, _, err := NewList("").readCSV(source, label, data)
	if err != nil {
		return false
	}
	asText, _, _ := NewList("").readText(source, label, data)
	return asCSV >= asText
}

// hostsAddrs start hosts-file lines that block names by sinking them.
var hostsAddrs = map[string]bool{"0.0.0.0": true, "127.0.0.1": true, "::": true, "::1": true, "0": true}

// hostsNames are the names every hosts file maps, not indicators.
var hostsNames = map[string]bool{
	"localhost": true, "localhost.localdomain": true, "local": true, "broadcasthost": true,
	"ip6-localhost": true, "ip6-loopback": true, "0.0.0.0": true,
}

func (l *List) readText(source, label string, data []byte) (added, skipped int, err error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	labels := []string{label}
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		at := fmt.Sprintf("%s:%d", source, n)
		if len(fields) > 1 && hostsAddrs[fields[0]] {
			for _, f := range fields[1:] {
				if hostsNames[strings.ToLower(f)] {
					continue
				}
				if l.addToken(f, at, labels) {
					added++
				} else {
					skipped++
				}
			}
			continue
		}
		if l.addToken(fields[0], at, labels) {
			added++
		} else {
			skipped++
		}
	}
	if err := sc.Err(); err != nil {
		return added, skipped, fmt.Errorf("intel: reading %s: %w", source, err)
	}
	return added, skipped, nil
}

// Header names, lower case, of columns that hold indicators and labels.
var (
	indicatorColumns = map[string]bool{
		"ip": true, "ip_address": true, "ipaddress": true, "ip_addr": true, "ipv4": true, "ipv6": true,
		"address": true, "addr": true, "dst_ip": true, "src_ip": true, "cidr": true, "network": true,
		"prefix": true, "indicator": true, "ioc": true, "ioc_value": true, "value": true,
		"domain": true, "hostname": true, "host": true, "fqdn": true, "url": true,
	}
	labelColumns = map[string]bool{
		"category": true, "categories": true, "threat": true, "threat_type": true,
		"malware": true, "malware_family": true, "tags": true, "label": true,
	}
)

func headerName(s string) string {
	s = strings.ToLower(strings.TrimSpace(strings.Trim(strings.TrimSpace(s), `"'`)))
	return strings.NewReplacer(" ", "_", "-", "_").Replace(s)
}

func (l *List) readCSV(source, label string, data []byte) (added, skipped int, err error) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.TrimLeadingSpace = true
	var (
		cols     []int // indicator columns; nil until known
		labelCol = -1
		first    = true
	)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return added, skipped, fmt.Errorf("intel: reading %s: %w", source, err)
		}
		line, _ := cr.FieldPos(0)
		at := fmt.Sprintf("%s:%d", source, line)
		if first {
			first = false
			var hc []int
			for i, c := range rec {
				switch name := headerName(c); {
				case indicatorColumns[name]:
					hc = append(hc, i)
				case labelColumns[name] && labelCol < 0:
					labelCol = i
				}
			}
			if len(hc) > 0 {
				cols = hc
				continue
			}
			labelCol = -1
		}
		labels := []string{label}
		if labelCol >= 0 && labelCol < len(rec) {
			if s := strings.TrimSpace(rec[labelCol]); s != "" {
				labels = append(labels, s)
			}
		}
		if cols == nil {
			// No header: the first cell that holds an indicator decides the
			// column for the rest of the file.
			found := false
			for i, c := range rec {
				if l.addToken(c, at, labels) {
					cols, found = []int{i}, true
					added++
					break
				}
			}
			if !found {
				skipped++
			}
			continue
		}
		for _, i := range cols {
			if i >= len(rec) || strings.TrimSpace(rec[i]) == "" {
				continue
			}
			if l.addToken(rec[i], at, labels) {
				added++
			} else {
				skipped++
			}
		}
	}
	return added, skipped, nil
}

// addToken parses one list entry and stores it; false if it is none.
func (l *List) addToken(tok, source string, labels []string) bool {
	tok = strings.TrimSpace(strings.Trim(strings.TrimSpace(tok), `"'`))
	if tok == "" {
		return false
	}
	if strings.Contains(tok, "://") {
		u, err := url.Parse(tok)
		if err != nil || u.Hostname() == "" {
			return false
		}
		tok = u.Hostname()
	}
	e := listEntry{source: source, labels: labels}
	if p, err := netip.ParsePrefix(tok); err == nil {
		p = unmapPrefix(p).Masked()
		if p.Bits() == p.Addr().BitLen() {
			return l.putAddr(p.Addr(), e)
		}
		e.value = p.String()
		l.mu.Lock()
		defer l.mu.Unlock()
		if _, dup := l.prefixes[p]; !dup {
			l.prefixes[p] = e
			if p.Addr().Is4() {
				l.bits4 = addBits(l.bits4, p.Bits())
			} else {
				l.bits6 = addBits(l.bits6, p.Bits())
			}
		}
		return true
	}
	if a, err := netip.ParseAddr(strings.Trim(tok, "[]")); err == nil {
		return l.putAddr(a, e)
	}
	if ap, err := netip.ParseAddrPort(tok); err == nil {
		return l.putAddr(ap.Addr(), e)
	}
	tok = strings.TrimPrefix(strings.TrimPrefix(tok, "*"), ".")
	name, err := normalizeDomain(tok)
	if err != nil || !plausibleListDomain(name) {
		return false
	}
	e.value = name
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, dup := l.domains[name]; !dup {
		l.domains[name] = e
	}
	return true
}

// plausibleListDomain keeps CSV cells like dates and ids from being taken
// for host names: a list domain has a dot and a top-level label with a
// letter in it.
func plausibleListDomain(name string) bool {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return false
	}
	return strings.ContainsAny(name[i+1:], "abcdefghijklmnopqrstuvwxyz")
}

func (l *List) putAddr(a netip.Addr, e listEntry) bool {
	a = a.Unmap().WithZone("")
	e.value = a.String()
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, dup := l.addrs[a]; !dup {
		l.addrs[a] = e
	}
	return true
}

// unmapPrefix turns ::ffff:10.0.0.0/104 into 10.0.0.0/8, so that it
// matches the unmapped addresses lookups use.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p
}

func addBits(bits []int, b int) []int {
	if slices.Contains(bits, b) {
		return bits
	}
	bits = append(bits, b)
	slices.Sort(bits)
	slices.Reverse(bits)
	return bits
}

// LookupIP matches addr against the addresses and prefixes, most specific
// first: one map look-up per prefix length present.
func (l *List) LookupIP(ctx context.Context, addr netip.Addr) (*Verdict, error) {
	addr = addr.Unmap().WithZone("")
	l.mu.RLock()
	defer l.mu.RUnlock()
	var matches []listEntry
	if e, ok := l.addrs[addr]; ok {
		matches = append(matches, e)
	}
	bits := l.bits6
	if addr.Is4() {
		bits = l.bits4
	}
	for _, b := range bits {
		p, err := addr.Prefix(b)
		if err != nil {
			continue
		}
		if e, ok := l.prefixes[p]; ok {
			matches = append(matches, e)
		}
	}
	return listVerdict(matches), nil
}

// LookupDomain matches the name and each parent domain, most specific
// first.
func (l *List) LookupDomain(ctx context.Context, domain string) (*Verdict, error) {
	name, err := normalizeDomain(domain)
	if err != nil {
		return nil, err
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	var matches []listEntry
	for {
		if e, ok := l.domains[name]; ok {
			matches = append(matches, e)
		}
		i := strings.IndexByte(name, '.')
		if i < 0 {
			break
		}
		name = name[i+1:]
	}
	return listVerdict(matches), nil
}

func listVerdict(matches []listEntry) *Verdict {
	if len(matches) == 0 {
		return &Verdict{}
	}
	v := &Verdict{
		Found:     true,
		Malicious: true,
		Score:     100,
		Reports:   len(matches),
		Details: map[string]string{
			"matched": matches[0].value,
			"source":  matches[0].source,
		},
	}
	var all []string
	for _, m := range matches {
		v.Categories = append(v.Categories, m.labels...)
		all = append(all, m.value+" ("+m.source+")")
	}
	if len(all) > 1 {
		v.Details["matches"] = strings.Join(all, ", ")
	}
	return v
}
