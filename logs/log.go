package logs

import (
	"context"
	"fmt"
	"strings"
)

// Log is one kind of per-record log: its schema and the pass over a
// capture that makes its records.
type Log struct {
	// Name is the log's name on the command line (conn, dns, http, tls);
	// Schema.Path is Zeek's name for it (ssl for tls).
	Name   string
	Schema Schema
	write  func(ctx context.Context, path string, w *Writer) ([]string, error)
}

// Write reads the capture at path once and writes the log's records to
// w; it does not close w. The warnings say what the capture or the
// bounds left out (a truncated file, records beyond a bound). A capture
// damaged part-way gives the records of the packets before the damage
// and the capture's error.
func (l Log) Write(ctx context.Context, path string, w *Writer) (warnings []string, err error) {
	if l.write == nil {
		return nil, fmt.Errorf("logs: the zero Log writes nothing")
	}
	return l.write(ctx, path, w)
}

// Names lists the logs Lookup knows.
var Names = []string{"conn", "dns", "http", "tls"}

// Lookup returns the log called name ("ssl", Zeek's name, is tls).
func Lookup(name string) (Log, error) {
	switch name {
	case "conn":
		return Log{Name: name, Schema: ConnSchema, write: writeConn}, nil
	case "dns":
		return Log{Name: name, Schema: DNSSchema, write: writeDNS}, nil
	case "http":
		return Log{Name: name, Schema: HTTPSchema, write: writeHTTP}, nil
	case "tls", "ssl":
		return Log{Name: "tls", Schema: SSLSchema, write: writeSSL}, nil
	}
	return Log{}, fmt.Errorf("logs: unknown log %q (want %s)", name, strings.Join(Names, ", "))
}

// idFields are the connection's four fields every log starts with,
// after ts and uid.
var idFields = []Field{
	{"ts", "time"}, {"uid", "string"},
	{"id.orig_h", "addr"}, {"id.orig_p", "port"}, {"id.resp_h", "addr"}, {"id.resp_p", "port"},
}

func withID(fields ...Field) []Field { return append(append([]Field{}, idFields...), fields...) }

// protoName is Zeek's transport_proto for an IP protocol number.
func protoName(p uint8) string {
	switch p {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	}
	return "unknown_transport"
}
