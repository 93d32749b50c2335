#!/usr/bin/env python3
"""measure_pending.py: measures the issue-10 recordings (evasions and ordinary traffic
that fools naive rules) with tshark and writes testdata/record/pending_truth.json.

Usage: measure_pending.py [--print] [FILE...]   (default: every capture named in PENDING)

Same schema as testdata/ground_truth.json (total_packets, unique_ips, expected, measured),
plus the technique and a one-line why. These entries are kept apart from
ground_truth.json on purpose: that file's test requires today's detectors to pass every
entry, and these files are the ones the detectors do not handle yet. An entry moves to
ground_truth.json when its detector handles it.

measure.py's numbers (packets, addresses, ports, TCP payload per initiator, HTTP, DNS)
come first; the extra numbers below are the ones these evasions turn on (fragments,
decoy sources and their MAC addresses, probe flags, ICMP payload, DNS label alphabet,
TLS server names, timing). Every number is tshark's; only "expected", "technique" and
"why" are written by hand, following the rules in measure.py and issue 10.
"""
import collections
import json
import os
import statistics
import subprocess
import sys

from measure import HERE, fields, measure

PENDING_PATH = os.path.join(HERE, "pending_truth.json")


def finding(typ, technique, sev, source="10.66.0.10", target="10.66.0.20", **extra):
    f = {"type": typ, "technique": technique, "source": source, "target": target, "severity": sev}
    f.update(extra)
    return f


# name -> (expected findings, technique of the capture, why)
PENDING = {
    "scan_frag.pcap": (
        [finding("port_scan", "syn", "high")],
        "ip_fragmented_syn_scan",
        "every SYN probe arrives as IP fragments; after reassembly it is a 200-port SYN scan"),
    "scan_decoy.pcap": (
        [finding("port_scan", "syn", "high", decoys=["10.66.0.31", "10.66.0.32", "10.66.0.33", "10.66.0.34"])],
        "decoy_scan",
        "five sources probe the same 200 ports from one MAC; only 10.66.0.10 gets answers "
        "(the decoys exist nowhere), so it is the one scanner and the four others are decoys in its finding"),
    "scan_ack.pcap": (
        [finding("port_scan", "ack", "high")],
        "ack_scan",
        "200 bare-ACK probes with no connection behind them (firewall mapping), RST from every port"),
    "scan_window.pcap": (
        [finding("port_scan", "window", "high")],
        "window_scan",
        "200 bare-ACK probes (nmap -sW reads the RST window), RST from every port"),
    "http_bruteforce.pcap": (
        [finding("http_enumeration", "credential_bruteforce", "high")],
        "credential_bruteforce",
        "hydra: 200 POSTs of username/password to the one path /login, each answered by the same "
        "200 failure page (plus the GET hydra sends before each), user agent Mozilla/5.0 (Hydra)"),
    "http_sqlmap_random_agent.pcap": (
        [finding("http_enumeration", "sql_injection", "high")],
        "sql_injection_browser_agent",
        "sqlmap with --random-agent: one path, tens of URIs carrying SQL injection (UNION, CASE WHEN, "
        "CHAR(), XMLType...) behind an Opera user agent; injection payloads are high whatever the agent"),
    "exfil_icmp.pcap": (
        [finding("data_exfiltration", "icmp_tunnel", "high", target="203.0.113.77")],
        "icmp_payload_exfiltration",
        "hping3 -E: 1,000,000 random bytes in 1000-byte ICMP echo payloads to an external host "
        "(an ordinary ping carries 56 bytes of fixed pattern); the replies echo them back"),
    "exfil_dns_a.pcap": (
        [finding("dns_tunneling", "a_query_exfiltration", "high", target="10.66.0.53",
                 domain="exfil-test.example")],
        "dns_a_query_exfiltration",
        "a 120 kB file in 60-character hex labels of 4000 plain A queries, all unique, all under "
        "x.exfil-test.example, all NXDOMAIN: data in the names, not in the record type"),
}


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=True).stdout


def duration_seconds(path):
    rows = fields(path, "", "frame.time_relative")
    return round(float(rows[-1][0]), 1) if rows and rows[-1][0] else 0.0


def extra(path):
    """The numbers the issue-10 evasions turn on."""
    e = {"duration_s": duration_seconds(path)}

    # IP fragments: tshark reassembles by default; count the pieces and the datagrams.
    frag = fields(path, "ip.flags.mf == 1 || ip.frag_offset > 0", "ip.src", "ip.id", "ip.proto")
    if frag:
        e["ip_fragments"] = {
            "fragment_packets": len(frag),
            "datagrams": len({(r[0], r[1], r[2]) for r in frag}),
            # The last fragment carries the reassembled datagram's TCP fields.
            "reassembled_tcp_syn_probes": len(fields(
                path, "tcp.flags.syn == 1 && tcp.flags.ack == 0 && ip.frag_offset > 0", "frame.number")),
        }

    # Probes by source: pure SYN, bare ACK (no payload, no handshake) and the MAC they came from.
    probes = fields(path, "tcp", "ip.src", "ip.dst", "eth.src", "tcp.flags.syn", "tcp.flags.ack",
                    "tcp.flags.reset", "tcp.dstport", "tcp.srcport", "tcp.len")
    by_src = collections.defaultdict(lambda: {"macs": set(), "syn": 0, "syn_ports": set(),
                                              "bare_ack": 0, "src_ports": collections.Counter()})
    for r in probes:
        s = by_src[r[0]]
        s["macs"].add(r[2])
        s["src_ports"][r[7]] += 1
        if r[3] == "1" and r[4] == "0":
            s["syn"] += 1
            s["syn_ports"].add(r[6])
        if r[3] == "0" and r[4] == "1" and r[5] == "0" and (r[8] or "0") == "0":
            s["bare_ack"] += 1
    if by_src:
        e["tcp_by_source"] = {
            k: {"macs": sorted(v["macs"]), "syn_packets": v["syn"], "syn_distinct_dst_ports": len(v["syn_ports"]),
                "bare_ack_packets": v["bare_ack"],
                "top_src_ports": [[int(p), n] for p, n in v["src_ports"].most_common(2) if p]}
            for k, v in sorted(by_src.items())}

    # ICMP echo: requests, replies and the data they carry.
    # Data length from the IP header (ip.len - header - 8), not data.len: random bytes
    # sometimes match a heuristic dissector (HiPerConTracer) and then no "data" exists.
    icmp = fields(path, "icmp.type == 8 || icmp.type == 0", "ip.src", "ip.dst", "icmp.type", "ip.len", "ip.hdr_len")
    if icmp:
        icmp = [r[:3] + [str(int(r[3]) - int(r[4]) - 8)] for r in icmp]
        per = collections.defaultdict(lambda: [0, 0])
        for r in icmp:
            if r[2] == "8":
                per[(r[0], r[1])][0] += 1
                per[(r[0], r[1])][1] += int(r[3] or 0)
        e["icmp_echo"] = {
            "requests": sum(1 for r in icmp if r[2] == "8"),
            "replies": sum(1 for r in icmp if r[2] == "0"),
            "request_data_bytes_by_pair": {f"{k[0]}->{k[1]}": v[1] for k, v in per.items()},
            "data_len_distinct": sorted({int(r[3] or 0) for r in icmp})[:10],
        }

    # DNS: the alphabet of the longest label of each query name.
    q = fields(path, "dns.flags.response == 0", "dns.qry.name")
    if q:
        hexset = set("0123456789abcdef")
        b32set = set("abcdefghijklmnopqrstuvwxyz234567")
        kinds = collections.Counter()
        for (name,) in ((r[0],) for r in q):
            lab = max(name.split("."), key=len).lower()
            if len(lab) >= 16 and set(lab) <= hexset:
                kinds["hex_16plus"] += 1
            elif len(lab) >= 16 and set(lab) <= b32set:
                kinds["base32_alphabet_16plus"] += 1
            elif len(lab) >= 16:
                kinds["other_16plus"] += 1
            else:
                kinds["shorter_than_16"] += 1
        e["dns_longest_label_alphabet"] = dict(kinds)
        ans = fields(path, "dns.flags.response == 1 && dns.a", "dns.a")
        e["dns_answers_with_a"] = len(ans)

    # TLS: server names and client hellos.
    hello = fields(path, "tls.handshake.type == 1", "ip.dst", "tls.handshake.extensions_server_name")
    if hello:
        e["tls"] = {"client_hellos": len(hello),
                    "server_names": dict(collections.Counter(r[1] for r in hello)),
                    "servers": dict(collections.Counter(r[0] for r in hello))}

    # UDP destination ports other than DNS (NTP, mDNS, LLMNR...).
    udp = fields(path, "udp && !icmp", "ip.src", "ip.dst", "udp.dstport")
    if udp:
        e["udp_dst_ports"] = dict(collections.Counter(r[2] for r in udp).most_common(8))

    # Request timing (health checks, low-rate enumeration): gaps between HTTP requests.
    req = fields(path, "http.request", "frame.time_relative")
    if len(req) > 2:
        t = [float(r[0]) for r in req]
        gaps = [b - a for a, b in zip(t, t[1:])]
        e["http_request_gap_s"] = {"min": round(min(gaps), 3), "median": round(statistics.median(gaps), 3),
                                   "max": round(max(gaps), 3)}
    return e


def main(argv):
    show = "--print" in argv
    files = [a for a in argv if not a.startswith("--")] or sorted(PENDING)
    out = {}
    if os.path.exists(PENDING_PATH):
        with open(PENDING_PATH) as f:
            out = json.load(f)
    testdata = os.path.dirname(HERE)
    for name in files:
        path = os.path.join(testdata, name)
        if not os.path.exists(path):
            print(f"measure_pending.py: skip {name}: not recorded", file=sys.stderr)
            continue
        expected, technique, why = PENDING[name]
        m = measure(path)
        m.update(extra(path))
        entry = {"total_packets": m.pop("total_packets"), "unique_ips": m.pop("unique_ips"),
                 "expected": expected, "technique": technique, "why": why,
                 "origin": "real tool, recorded by testdata/record/record.sh", "measured": m}
        out[name] = entry
        if show:
            print(name, json.dumps(entry, indent=1))
    with open(PENDING_PATH, "w") as f:
        json.dump(out, f, indent=2, sort_keys=True, ensure_ascii=True)
        f.write("\n")


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    main(sys.argv[1:])
