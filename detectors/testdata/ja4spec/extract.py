#!/usr/bin/env python3
"""extract.py: builds hellos.json, the JA4 test vectors from FoxIO's JA4 repository.

Usage: extract.py JA4_REPO_CHECKOUT > hellos.json

For each TLS-over-TCP capture in the repository's pcap/ that FoxIO's own Rust
implementation fingerprints (rust/ja4/src/snapshots/ja4__insta@<pcap>.snap), it
takes every ClientHello tshark dissects (the handshake message's bytes as
tshark reassembled them: tls.handshake_raw) and pairs it, by tcp.stream, with
the ja4 value of FoxIO's snapshot and the JA4_r value of FoxIO's Python test
output (python/test/testdata/<pcap>.json) where it has one. At most three
distinct hellos are kept per fingerprint. Nothing here comes from reconpcap: the bytes are tshark's, the expected values FoxIO's.
"""
import json
import os
import re
import subprocess
import sys

PCAPS = ["tls12.pcap", "tls-alpn-h2.pcap", "tls-non-ascii-alpn.pcapng", "badcurveball.pcap",
         "browsers-x509.pcapng", "latest.pcapng", "https-connect.pcap", "socks-https-example.pcap",
         "ipv6.pcapng", "tls-sni.pcapng", "tls-handshake.pcapng", "tls3.pcapng"]


def snapshot(repo, pcap):
    """stream -> [ja4, ...] from the Rust snapshot (a YAML list)."""
    out, stream = {}, None
    with open(os.path.join(repo, "rust/ja4/src/snapshots", f"ja4__insta@{pcap}.snap")) as f:
        for line in f:
            m = re.match(r"^- stream: (\d+)", line)
            if m:
                stream = int(m.group(1))
            m = re.match(r"^  ja4: (\S+)", line)
            if m and stream is not None:
                out.setdefault(stream, []).append(m.group(1))
    return out


def python_raw(repo, pcap):
    """stream -> {ja4: ja4_r} from FoxIO's Python test output."""
    path = os.path.join(repo, "python/test/testdata", f"{pcap}.json")
    out = {}
    if not os.path.exists(path):
        return out
    for rec in json.load(open(path)):
        for k, v in rec.items():
            m = re.match(r"^JA4\.(\d+)$", k)
            if m and f"JA4_r.{m.group(1)}" in rec:
                out.setdefault(int(rec["stream"]), {})[v] = rec[f"JA4_r.{m.group(1)}"]
    return out


def hellos(path):
    """[(stream, frame, hex)] of every ClientHello, in frame order."""
    js = subprocess.run(["tshark", "-r", path, "-Y", "tcp && tls.handshake.type==1", "-T", "json", "-x"],
                        capture_output=True, check=True, text=True).stdout
    out = []

    def walk(node, found):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "tls.handshake_raw":
                    found.append(v)
                else:
                    walk(v, found)
        elif isinstance(node, list):
            for v in node:
                walk(v, found)

    for pkt in json.loads(js):
        layers = pkt["_source"]["layers"]
        stream = int(layers["tcp"]["tcp.stream"])
        frame = int(layers["frame"]["frame.number"])
        found = []
        walk(layers.get("tls"), found)
        for raw in found:
            # A raw field is [hex, offset, length, bitmask, type]; a list of them when repeated.
            items = raw if isinstance(raw[0], list) else [raw]
            for it in items:
                if it[0].startswith("01"):
                    out.append((stream, frame, it[0]))
    return out


def main():
    repo = sys.argv[1]
    vectors = []
    for pcap in PCAPS:
        ja4s = snapshot(repo, pcap)
        raws = python_raw(repo, pcap)
        seen = {}
        for stream, frame, hx in hellos(os.path.join(repo, "pcap", pcap)):
            i = seen.get(stream, 0)
            seen[stream] = i + 1
            want = ja4s.get(stream, [])
            if i >= len(want):
                continue  # FoxIO lists no JA4 for this hello (not TLS over TCP to it)
            vectors.append({"pcap": pcap, "stream": stream, "frame": frame, "ja4": want[i],
                            "ja4_r": raws.get(stream, {}).get(want[i], ""), "hello": hx})
    # Keep the file small: at most three distinct hellos per fingerprint.
    kept, per = [], {}
    for v in vectors:
        group = per.setdefault(v["ja4"], set())
        if v["hello"] in group or len(group) >= 3:
            continue
        group.add(v["hello"])
        kept.append(v)
    json.dump(kept, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
