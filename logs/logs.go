package logs

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Format is an output format.
type Format string

// The formats.
const (
	FormatZeek   Format = "zeek"
	FormatNDJSON Format = "ndjson"
	FormatCSV    Format = "csv"
	FormatTSV    Format = "tsv"
)

// Formats lists every format, the default first.
var Formats = []Format{FormatNDJSON, FormatCSV, FormatTSV, FormatZeek}

// ParseFormat returns the format named s.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("logs: unknown format %q (want ndjson, csv, tsv or zeek)", s)
}

// Field is one column of a log: its name and its Zeek type (time, string,
// addr, port, enum, interval, count, int, double, bool, vector[string],
// set[string]).
type Field struct {
	Name string
	Type string
}

// Schema is one log's layout: Path is Zeek's log name (conn, dns, http,
// ssl).
type Schema struct {
	Path   string
	Fields []Field
}

// Values are one record's values, in the schema's field order. A value
// is one of: time.Time, time.Duration, string, netip.Addr, uint16 (a
// port), int, int64, uint64, float64, bool, []string, []time.Duration
// (Zeek's vector[interval]); nil (or a zero
// time, or an invalid address) is unset.
type Values []any

// Writer writes one log's records in one format.
type Writer struct {
	format Format
	schema Schema
	bw     *bufio.Writer
	csv    *csv.Writer
	now    func() time.Time
	wrote  bool
	closed bool
}

// Option configures a Writer.
type Option func(*Writer)

// WithClock sets the clock the zeek format's #open and #close lines read
// (tests fix it); the zero Writer uses time.Now.
func WithClock(now func() time.Time) Option { return func(w *Writer) { w.now = now } }

// NewWriter returns a Writer of schema's records to w in format.
func NewWriter(w io.Writer, format Format, schema Schema, opts ...Option) (*Writer, error) {
	if _, err := ParseFormat(string(format)); err != nil {
		return nil, err
	}
	lw := &Writer{format: format, schema: schema, bw: bufio.NewWriterSize(w, 64<<10), now: time.Now}
	for _, o := range opts {
		o(lw)
	}
	if format == FormatCSV {
		lw.csv = csv.NewWriter(lw.bw)
	}
	return lw, nil
}

// header writes what comes before the first record.
func (w *Writer) header() error {
	w.wrote = true
	names := make([]string, len(w.schema.Fields))
	for i, f := range w.schema.Fields {
		names[i] = f.Name
	}
	switch w.format {
	case FormatZeek:
		types := make([]string, len(w.schema.Fields))
		for i, f := range w.schema.Fields {
			types[i] = f.Type
		}
		fmt.Fprintf(w.bw, "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t%s\n#open\t%s\n#fields\t%s\n#types\t%s\n",
			w.schema.Path, w.now().UTC().Format(zeekStamp), strings.Join(names, "\t"), strings.Join(types, "\t"))
	case FormatTSV:
		_, err := w.bw.WriteString(strings.Join(names, "\t") + "\n")
		return err
	case FormatCSV:
		return w.csv.Write(names)
	}
	return nil
}

// zeekStamp is the time format of Zeek's #open and #close lines.
const zeekStamp = "2006-01-02-15-04-05"

// Write writes one record. It has as many values as the schema has
// fields.
func (w *Writer) Write(v Values) error {
	if w.closed {
		return fmt.Errorf("logs: write after Close")
	}
	if len(v) != len(w.schema.Fields) {
		return fmt.Errorf("logs: %s record has %d values for %d fields", w.schema.Path, len(v), len(w.schema.Fields))
	}
	if !w.wrote {
		if err := w.header(); err != nil {
			return err
		}
	}
	switch w.format {
	case FormatNDJSON:
		return w.writeJSON(v)
	case FormatCSV:
		row := make([]string, len(v))
		for i, x := range v {
			row[i] = csvCell(plain(x))
		}
		return w.csv.Write(row)
	case FormatTSV:
		row := make([]string, len(v))
		for i, x := range v {
			row[i] = escape(plain(x), false)
		}
		_, err := w.bw.WriteString(strings.Join(row, "\t") + "\n")
		return err
	default: // zeek
		row := make([]string, len(v))
		for i, x := range v {
			row[i] = zeekValue(x)
		}
		_, err := w.bw.WriteString(strings.Join(row, "\t") + "\n")
		return err
	}
}

// Close writes what ends the log (the header when no record came, so an
// empty log still names its fields; zeek's #close) and flushes.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if !w.wrote {
		if err := w.header(); err != nil {
			return err
		}
	}
	if w.format == FormatZeek {
		fmt.Fprintf(w.bw, "#close\t%s\n", w.now().UTC().Format(zeekStamp))
	}
	if w.csv != nil {
		w.csv.Flush()
		if err := w.csv.Error(); err != nil {
			return err
		}
	}
	return w.bw.Flush()
}

// writeJSON writes one record as a flat JSON object with Zeek's keys; an
// unset value is left out, as Zeek's JSON logs do.
func (w *Writer) writeJSON(v Values) error {
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for i, x := range v {
		j, ok := jsonValue(x)
		if !ok {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		name, _ := json.Marshal(w.schema.Fields[i].Name)
		b.Write(name)
		b.WriteByte(':')
		b.WriteString(j)
	}
	b.WriteString("}\n")
	_, err := w.bw.WriteString(b.String())
	return err
}

// unset reports whether x is a missing value.
func unset(x any) bool {
	switch v := x.(type) {
	case nil:
		return true
	case time.Time:
		return v.IsZero()
	case netip.Addr:
		return !v.IsValid()
	}
	return false
}

// epoch prints a time as Zeek does: seconds since 1970 with six decimals.
func epoch(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMicro())/1e6, 'f', 6, 64)
}

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 6, 64) }

// durations joins intervals in seconds with commas.
func durations(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = seconds(d)
	}
	return strings.Join(parts, ",")
}

func jsonValue(x any) (string, bool) {
	if unset(x) {
		return "", false
	}
	var v any
	switch t := x.(type) {
	case time.Time:
		return epoch(t), true
	case time.Duration:
		return seconds(t), true
	case netip.Addr:
		v = t.String()
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return "", false
		}
		v = t
	case []string:
		if t == nil {
			t = []string{}
		}
		v = t
	case []time.Duration:
		secs := make([]json.Number, len(t))
		for i, d := range t {
			secs[i] = json.Number(seconds(d))
		}
		v = secs
	default:
		v = t
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// plain is a value as csv and tsv print it: times in RFC 3339 (UTC,
// microseconds), durations in seconds, lists joined by commas, unset
// empty.
func plain(x any) string {
	if unset(x) {
		return ""
	}
	switch t := x.(type) {
	case time.Time:
		return t.UTC().Format("2006-01-02T15:04:05.000000Z")
	case time.Duration:
		return seconds(t)
	case []string:
		return strings.Join(t, ",")
	case []time.Duration:
		return durations(t)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	}
	return fmt.Sprint(x)
}

// zeekValue prints a value in Zeek's TSV: "-" unset, "(empty)" for an
// empty string or list, escapes per element.
func zeekValue(x any) string {
	if unset(x) {
		return "-"
	}
	switch t := x.(type) {
	case time.Time:
		return epoch(t)
	case time.Duration:
		return seconds(t)
	case bool:
		if t {
			return "T"
		}
		return "F"
	case []string:
		if len(t) == 0 {
			return "(empty)"
		}
		parts := make([]string, len(t))
		for i, s := range t {
			parts[i] = escape(s, true)
		}
		return strings.Join(parts, ",")
	case []time.Duration:
		if len(t) == 0 {
			return "(empty)"
		}
		return durations(t)
	case string:
		switch t {
		case "":
			return "(empty)"
		case "-":
			return `\x2d` // Zeek's escape of a value that reads as unset
		}
		return escape(t, false)
	}
	return escape(fmt.Sprint(x), false)
}

// escape writes non-printable bytes, invalid UTF-8, backslashes and the
// separators (tab; comma inside a list) as \xNN, Zeek's escaping.
func escape(s string, inList bool) string {
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || c == '\\' || c >= 0x80 || (inList && c == ',') {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		c := s[i]
		switch {
		case r == utf8.RuneError && size <= 1, c < 0x20, c == 0x7f, c == '\\', inList && c == ',':
			fmt.Fprintf(&b, `\x%02x`, c)
			i++
		case r >= 0x80 && (r < 0xa0 || r == 0x2028 || r == 0x2029 || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)):
			// C1 controls and bidirectional overrides move a terminal's
			// cursor or reorder text: escape their bytes.
			for j := range size {
				fmt.Fprintf(&b, `\x%02x`, s[i+j])
			}
			i += size
		default:
			b.WriteString(s[i : i+size])
			i += size
		}
	}
	return b.String()
}

// csvCell guards a cell a spreadsheet would evaluate: one that starts with
// =, +, -, @, tab or carriage return gets a leading apostrophe (OWASP's
// advice against CSV injection); numbers are left alone.
func csvCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return s
		}
		return "'" + escape(s, false)
	}
	return escape(s, false)
}
