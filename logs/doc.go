// Package logs writes per-record logs, one record per connection, DNS
// query, HTTP request or TLS handshake, the way Zeek's conn.log, dns.log,
// http.log and ssl.log hold them, in four formats:
//
//   - zeek: Zeek's TSV with its #separator, #fields and #types header and
//     #close footer, so zeek-cut and other Zeek tooling read it;
//   - ndjson: one JSON object per line with Zeek's flat dotted keys
//     (id.orig_h), as Zeek's own JSON logs;
//   - csv and tsv: a header row of field names, then one row per record.
//
// A log's Schema names its fields and their Zeek types; field names
// follow Zeek's where Zeek has the field. Values come from captures and
// are attacker-controlled: the zeek and tsv formats escape separators and
// non-printable bytes as \xNN (Zeek's rule), and csv guards cells that a
// spreadsheet would run as a formula.
//
// Lookup returns one of the logs (conn, dns, http, tls); its Write reads a
// capture once and writes the records to a Writer:
//
//	l, _ := logs.Lookup("conn")
//	w, _ := logs.NewWriter(os.Stdout, logs.FormatZeek, l.Schema)
//	warnings, err := l.Write(ctx, "traffic.pcap", w)
//	...
//	w.Close()
//
// Every record of one connection carries the same uid (UID), so the logs
// join on it. ConnSchema, DNSSchema, HTTPSchema and SSLSchema say what
// each field holds and what is left out. Memory is bounded: conn keeps a
// few counters per connection (as the capture's flow table does), dns
// the queries awaiting their answer (65,536 at most), http and tls at
// most 100,000 records.
package logs
