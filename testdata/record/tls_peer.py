#!/usr/bin/env python3
"""TLS server and client used only by record.sh for tls_handshakes.pcap; they run
inside the network namespaces record.sh creates and are not part of the library.

  tls_peer.py server ADDR PORT CERT KEY
      accepts TLS 1.2 and 1.3, selects h2 or http/1.1 by ALPN, answers each
      connection with a short HTTP/1.1 response and closes it.
  tls_peer.py client ADDR PORT SNI ALPN[,ALPN...] MAXSEG [tls1.2|tls1.3]
      one connection with TCP_MAXSEG=MAXSEG set before connecting, so that the
      ClientHello leaves in several segments (as a hello with a post-quantum key
      share does); sends a GET, reads the answer.
"""
import socket
import ssl
import sys
import threading


def serve(addr, port, cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(16)

    def handle(conn):
        try:
            with ctx.wrap_socket(conn, server_side=True) as s:
                s.settimeout(3)
                try:
                    s.recv(4096)
                except (OSError, ssl.SSLError):
                    pass
                s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
        except (OSError, ssl.SSLError) as e:
            print("handshake:", e, file=sys.stderr)

    while True:
        conn, _ = ls.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def client(addr, port, sni, alpn, maxseg, version=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(alpn.split(","))
    if version == "tls1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    elif version == "tls1.3":
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    s = socket.socket()
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, maxseg)
    s.connect((addr, port))
    with ctx.wrap_socket(s, server_hostname=sni) as t:
        t.sendall(b"GET / HTTP/1.1\r\nHost: " + sni.encode() + b"\r\n\r\n")
        t.settimeout(3)
        try:
            while t.recv(4096):
                pass
        except (OSError, ssl.SSLError):
            pass


if __name__ == "__main__":
    if sys.argv[1] == "server":
        serve(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
    else:
        client(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], int(sys.argv[6]), *sys.argv[7:8])
