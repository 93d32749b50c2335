#!/usr/bin/env python3
"""Tiny HTTP sink used only by record.sh: accepts POST/PUT bodies of any size,
reads them completely, discards them, answers 200. It runs inside a network
namespace that plays an "external" server; it is not part of the library."""
import http.server
import sys


class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _drain(self):
        left = int(self.headers.get("Content-Length", "0"))
        got = 0
        while left > 0:
            chunk = self.rfile.read(min(left, 65536))
            if not chunk:
                break
            got += len(chunk)
            left -= len(chunk)
        body = ("stored %d bytes\n" % got).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = _drain
    do_PUT = _drain

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))


if __name__ == "__main__":
    addr, port = sys.argv[1], int(sys.argv[2])
    http.server.ThreadingHTTPServer((addr, port), Sink).serve_forever()
