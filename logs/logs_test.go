package logs_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/agents-of-shield/reconpcap/logs"
)

var schema = logs.Schema{Path: "test", Fields: []logs.Field{
	{"ts", "time"}, {"uid", "string"}, {"id.orig_h", "addr"}, {"id.orig_p", "port"},
	{"duration", "interval"}, {"orig_bytes", "count"}, {"answers", "vector[string]"}, {"query", "string"}, {"rejected", "bool"},
}}

var ts = time.Date(2026, 12, 6, 21, 0, 0, 123456000, time.UTC)

var records = []logs.Values{
	{ts, "C1", netip.MustParseAddr("10.0.0.5"), uint16(53), 1500 * time.Millisecond, int64(42), []string{"1.2.3.4", "a,b"}, "example.com", false},
	// Hostile and edge values: separators, newlines, a lone "-", invalid
	// UTF-8, a bidi override, a formula, nothing at all.
	{ts, "C2\tx", netip.Addr{}, uint16(0), time.Duration(0), uint64(0), []string{}, "=cmd|' /C calc'!A0", true},
	{time.Time{}, "", netip.MustParseAddr("2001:db8::1"), uint16(443), time.Duration(0), int64(-1), nil, "-", nil},
	{ts, "C4", netip.MustParseAddr("10.0.0.6"), uint16(1), time.Second, 0, []string{"x"}, "bad\xff\n\u202eevil", true},
}

// readZeek parses Zeek TSV by its header, as zeek-cut does: the
// separator from #separator, the columns from #fields, "-" unset,
// "(empty)" empty.
func readZeek(t *testing.T, data []byte) (fields, types []string, rows []map[string]string) {
	t.Helper()
	sep := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#separator ") {
			if v := strings.TrimPrefix(line, "#separator "); v != `\x09` {
				t.Fatalf("separator %q", v)
			}
			sep = "\t"
			continue
		}
		if strings.HasPrefix(line, "#") {
			parts := strings.Split(line, sep)
			switch parts[0] {
			case "#fields":
				fields = parts[1:]
			case "#types":
				types = parts[1:]
			}
			continue
		}
		cols := strings.Split(line, sep)
		if len(cols) != len(fields) {
			t.Fatalf("row %q has %d columns for %d fields", line, len(cols), len(fields))
		}
		row := map[string]string{}
		for i, c := range cols {
			row[fields[i]] = c
		}
		rows = append(rows, row)
	}
	return fields, types, rows
}

func write(t *testing.T, f logs.Format) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := logs.NewWriter(&buf, f, schema, logs.WithClock(func() time.Time { return ts }))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range records {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestZeekFormat(t *testing.T) {
	out := write(t, logs.FormatZeek)
	fields, types, rows := readZeek(t, out)
	if len(fields) != len(schema.Fields) || fields[2] != "id.orig_h" || types[6] != "vector[string]" {
		t.Fatalf("fields %v types %v", fields, types)
	}
	if len(rows) != len(records) {
		t.Fatalf("%d rows, want %d:\n%s", len(rows), len(records), out)
	}
	want := []map[string]string{
		{"ts": "1796590800.123456", "id.orig_h": "10.0.0.5", "id.orig_p": "53", "duration": "1.500000", "answers": `1.2.3.4,a\x2cb`, "rejected": "F"},
		{"uid": `C2\x09x`, "id.orig_h": "-", "answers": "(empty)", "query": "=cmd|' /C calc'!A0", "rejected": "T"},
		{"ts": "-", "uid": "(empty)", "query": `\x2d`, "answers": "-", "rejected": "-"},
		{"query": `bad\xff\x0a\xe2\x80\xaeevil`},
	}
	for i, w := range want {
		for k, v := range w {
			if rows[i][k] != v {
				t.Errorf("row %d %s = %q, want %q", i, k, rows[i][k], v)
			}
		}
	}
	if !bytes.HasSuffix(out, []byte("#close\t2026-12-06-21-00-00\n")) {
		t.Errorf("no #close line:\n%s", out)
	}
}

func TestNDJSONFormat(t *testing.T) {
	out := write(t, logs.FormatNDJSON)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(records) {
		t.Fatalf("%d lines", len(lines))
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first["ts"] != 1796590800.123456 || first["id.orig_h"] != "10.0.0.5" || first["id.orig_p"] != float64(53) || first["duration"] != 1.5 {
		t.Errorf("first record %v", first)
	}
	var third map[string]any
	if err := json.Unmarshal([]byte(lines[2]), &third); err != nil {
		t.Fatal(err)
	}
	if _, ok := third["ts"]; ok {
		t.Errorf("an unset ts is written: %v", third)
	}
	if third["query"] != "-" {
		t.Errorf("query %v", third["query"])
	}
}

func TestCSVAndTSVFormats(t *testing.T) {
	rows, err := csv.NewReader(bytes.NewReader(write(t, logs.FormatCSV))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(records)+1 || rows[0][0] != "ts" || rows[0][2] != "id.orig_h" {
		t.Fatalf("rows %v", rows)
	}
	if rows[1][0] != "2026-12-06T21:00:00.123456Z" || rows[1][6] != "1.2.3.4,a,b" {
		t.Errorf("row 1 %v", rows[1])
	}
	if rows[2][7] != "'=cmd|' /C calc'!A0" {
		t.Errorf("a formula is not guarded: %q", rows[2][7])
	}
	if rows[3][5] != "-1" {
		t.Errorf("a negative number was guarded: %q", rows[3][5])
	}
	tsv := strings.Split(strings.TrimSpace(string(write(t, logs.FormatTSV))), "\n")
	if len(tsv) != len(records)+1 {
		t.Fatalf("%d TSV lines", len(tsv))
	}
	for _, l := range tsv {
		if n := strings.Count(l, "\t"); n != len(schema.Fields)-1 {
			t.Errorf("TSV line %q has %d tabs", l, n)
		}
	}
}

func TestEmptyLogNamesItsFields(t *testing.T) {
	var buf bytes.Buffer
	w, _ := logs.NewWriter(&buf, logs.FormatZeek, schema)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if fields, _, rows := readZeek(t, buf.Bytes()); len(fields) != len(schema.Fields) || len(rows) != 0 {
		t.Errorf("fields %v rows %v", fields, rows)
	}
	if err := w.Write(records[0]); err == nil {
		t.Error("a write after Close succeeded")
	}
	if _, err := logs.NewWriter(&buf, "xml", schema); err == nil {
		t.Error("format xml accepted")
	}
	w, _ = logs.NewWriter(&buf, logs.FormatCSV, schema)
	if err := w.Write(logs.Values{1}); err == nil {
		t.Error("a short record accepted")
	}
}
