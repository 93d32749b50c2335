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
package logs
