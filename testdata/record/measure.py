#!/usr/bin/env python3
"""measure.py: measures the ground truth of the real-tool captures with tshark and
writes testdata/ground_truth.json (merging: entries for other files are kept).

Usage: measure.py [--print] [FILE...]   (default: every capture named in EXPECTED)

Every number comes from tshark/capinfos over the capture itself; only the
"expected" verdicts are written by hand here, following the project's rules:
  port scan: 10+ distinct dst ports from one source to one target, medium < 50, high >= 50;
             one port on 20+ hosts (horizontal sweep): target "multiple_targets".
  HTTP enumeration: scanner user agent = high; else 50+ requests or 20+ unique paths = medium.
  exfiltration: bytes sent by a connection's initiator, summed per (source, destination):
             >= 1,000,000 medium, >= 10,000,000 high; downloads do not count.
  DNS tunnelling: many unique long high-entropy labels under one domain = high.
  confidence: written only where a finding is meant to be below high (internal staging: low);
             a finding of low confidence or low severity is a note and decides no verdict.
"""
import collections
import json
import math
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.dirname(HERE)


def scan(technique, target="10.66.0.20", sev="high"):
    return [{"type": "port_scan", "technique": technique, "source": "10.66.0.10",
             "target": target, "severity": sev}]


EXPECTED = {
    "scan_syn.pcap": scan("syn"),
    "scan_connect.pcap": scan("connect"),
    "scan_fin.pcap": scan("fin"),
    "scan_xmas.pcap": scan("xmas"),
    "scan_null.pcap": scan("null"),
    "scan_udp.pcap": scan("udp"),
    "sweep_syn.pcap": [{"type": "port_scan", "technique": "horizontal_syn", "source": "10.66.0.10",
                        "target": "multiple_targets", "severity": "high"}],
    "http_gobuster.pcap": [{"type": "http_enumeration", "technique": "scanner_user_agent",
                            "source": "10.66.0.10", "target": "10.66.0.20", "severity": "high"}],
    "http_ffuf.pcap": [{"type": "http_enumeration", "technique": "scanner_user_agent",
                        "source": "10.66.0.10", "target": "10.66.0.20", "severity": "high"}],
    "http_sqlmap.pcap": [{"type": "http_enumeration", "technique": "scanner_user_agent",
                          "source": "10.66.0.10", "target": "10.66.0.20", "severity": "high"}],
    "http_injection_ua.pcap": [],
    "exfil_medium.pcap": [{"type": "data_exfiltration", "technique": "outbound_upload",
                           "source": "10.66.0.10", "target": "203.0.113.50", "severity": "medium"}],
    "exfil_high.pcap": [{"type": "data_exfiltration", "technique": "outbound_upload",
                         "source": "10.66.0.10", "target": "203.0.113.50", "severity": "high"}],
    "exfil_internal.pcap": [{"type": "data_exfiltration", "technique": "internal_staging",
                             "source": "10.66.0.10", "target": "10.66.0.20", "severity": "medium",
                             "confidence": "low"}],
    "download_large.pcap": [],
    "dns_tunnel.pcap": [{"type": "dns_tunneling", "technique": "iodine_null_base128",
                         "source": "10.66.0.10", "target": "10.66.0.54", "severity": "high",
                         "domain": "exfil-test.example"}],
    "dns_tunnel_b32.pcap": [{"type": "dns_tunneling", "technique": "base32_labels",
                             "source": "10.66.0.10", "target": "10.66.0.53", "severity": "high",
                             "domain": "exfil-test.example"}],
    "benign_browse.pcap": [],
    "benign_dns.pcapng": [],
}

NOTES = {
    "http_injection_ua.pcap": "benign traffic, but two requests carry a fake instruction to a language model and "
                              "control characters (ESC, BEL, CR LF) in User-Agent, Referer and the URL: a test that "
                              "packet strings are escaped and treated as data",
    "exfil_internal.pcap": "internal to internal (staging): reported with lower confidence",
    "download_large.pcap": "15 MB download from an external server: bytes flow to the initiator, not exfiltration",
    "sweep_syn.pcap": "masscan; 63 of 64 addresses never answer, 10.77.0.7 answers RST",
}


def fields(path, flt, *names):
    cmd = ["tshark", "-n", "-r", path, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=f"]
    if flt:
        cmd += ["-Y", flt]
    for n in names:
        cmd += ["-e", n]
    out = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=True).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split("\t")
        parts += [""] * (len(names) - len(parts))
        rows.append(parts)
    return rows


def total_packets(path):
    out = subprocess.run(["capinfos", "-c", "-M", path], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if "Number of packets" in line:
            return int(line.split()[-1])
    raise RuntimeError("no packet count for " + path)


def measure(path):
    m = {}
    m["total_packets"] = total_packets(path)
    m["file_bytes"] = os.path.getsize(path)
    # Outermost IP header only (occurrence=f): ICMP errors quote an inner header.
    pk = fields(path, "", "ip.src", "ip.dst", "ip.proto", "tcp.srcport", "tcp.dstport",
                "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.reset", "tcp.flags.fin", "tcp.len",
                "udp.srcport", "udp.dstport", "icmp.type", "icmp.code", "tcp.stream", "udp.length")
    ips = set()
    for r in pk:
        for a in r[0:2]:
            if a:
                ips.add(a)
    m["unique_ips"] = len(ips)
    m["ips"] = sorted(ips)

    # Ports each (src, dst) pair touched, from TCP/UDP packets whose OUTER protocol is TCP/UDP.
    pair_ports = collections.defaultdict(set)
    synack_ports = collections.defaultdict(set)
    rst_ports = collections.defaultdict(set)
    icmp_unreach = collections.Counter()
    for r in pk:
        src, dst, proto = r[0], r[1], r[2]
        if proto == "6" and r[4]:
            pair_ports[(src, dst, "tcp")].add(int(r[4]))
            if r[5] == "1" and r[6] == "1":
                synack_ports[(src, dst)].add(int(r[3]))
            if r[7] == "1":
                rst_ports[(src, dst)].add(int(r[3]))
        elif proto == "17" and r[11]:
            pair_ports[(src, dst, "udp")].add(int(r[11]))
        elif proto == "1" and r[12] == "3" and r[13] == "3":
            icmp_unreach[(src, dst)] += 1
    top = sorted(pair_ports.items(), key=lambda kv: -len(kv[1]))
    m["top_port_pairs"] = [{"source": k[0], "destination": k[1], "proto": k[2], "distinct_dst_ports": len(v)}
                           for k, v in top[:3]]
    m["open_ports_synack"] = {f"{k[0]}": sorted(v) for k, v in synack_ports.items() if v}
    m["rst_from"] = {k[0]: len(v) for k, v in rst_ports.items()}
    if icmp_unreach:
        m["icmp_port_unreachable"] = {f"{k[0]}->{k[1]}": n for k, n in icmp_unreach.items()}

    # Horizontal: per (src, dst port), distinct destination hosts and how many answered.
    hosts_by_port = collections.defaultdict(set)
    answered = collections.defaultdict(set)
    for r in pk:
        if r[2] == "6" and r[5] == "1" and r[6] == "0":
            hosts_by_port[(r[0], int(r[4]))].add(r[1])
        if r[2] == "6" and (r[5] == "1" and r[6] == "1" or r[7] == "1"):
            answered[(r[1], int(r[3]))].add(r[0])
    sweeps = [(k, v) for k, v in hosts_by_port.items() if len(v) >= 20]
    if sweeps:
        m["sweeps"] = [{"source": k[0], "dst_port": k[1], "hosts": len(v),
                        "hosts_answered": len(answered.get(k, set()) & v)} for k, v in sweeps]

    # TCP payload per connection, by the side that sent the first SYN.
    init = {}
    up = collections.Counter()
    down = collections.Counter()
    for r in pk:
        if r[2] != "6" or not r[14]:
            continue
        s = r[14]
        if s not in init and r[5] == "1" and r[6] == "0":
            init[s] = (r[0], r[1])
        n = int(r[9] or 0)
        if s in init:
            if (r[0], r[1]) == init[s]:
                up[init[s]] += n
            else:
                down[init[s]] += n
    flows = sorted(set(up) | set(down), key=lambda k: -(up[k] + down[k]))
    if flows and any(up[k] + down[k] > 0 for k in flows):
        m["tcp_payload_by_initiator"] = [{"source": k[0], "destination": k[1], "uploaded_bytes": up[k],
                                          "downloaded_bytes": down[k]} for k in flows[:5]]
        m["tcp_connections"] = len(init)

    # HTTP.
    req = fields(path, "http.request", "ip.src", "ip.dst", "http.request.method", "http.request.uri",
                 "http.user_agent", "http.host")
    if req:
        resp = fields(path, "http.response", "http.response.code", "http.response_for.uri")
        codes = collections.Counter(r[0] for r in resp)
        m["http"] = {
            "requests": len(req),
            "unique_paths": len({r[3].split("?")[0] for r in req}),
            "unique_uris": len({r[3] for r in req}),
            "methods": dict(collections.Counter(r[2] for r in req)),
            "user_agents": sorted({r[4] for r in req}),
            "hosts": sorted({r[5] for r in req}),
            "responses": len(resp),
            "response_codes": dict(sorted(codes.items())),
            "share_404": round(codes.get("404", 0) / len(resp), 3) if resp else None,
            "sources": dict(collections.Counter(r[0] for r in req)),
        }
        ok = sorted({urlpath(r[1]) for r in resp if r[0] == "200"})
        if len(ok) <= 12:
            m["http"]["paths_200"] = ok

    # DNS.
    q = fields(path, "dns.flags.response == 0", "ip.src", "ip.dst", "dns.qry.name", "dns.qry.type")
    if q:
        a = fields(path, "dns.flags.response == 1", "dns.flags.rcode")
        names = [r[2] for r in q]
        by_suffix = collections.defaultdict(set)
        for n in names:
            labels = n.rstrip(".").split(".")
            by_suffix[".".join(labels[-2:])].add(n)
        longest = max((max(len(l) for l in n.split(".")) for n in names), default=0)
        m["dns"] = {
            "queries": len(q),
            "responses": len(a),
            "distinct_names": len(set(names)),
            "clients": sorted({r[0] for r in q}),
            "servers": sorted({r[1] for r in q}),
            "qtypes": dict(collections.Counter(qtype_name(r[3]) for r in q)),
            "rcodes": dict(collections.Counter(rcode_name(r[0]) for r in a)),
            "names_per_domain": {k: len(v) for k, v in sorted(by_suffix.items(), key=lambda kv: -len(kv[1]))},
            "longest_label": longest,
            "mean_query_name_length": round(sum(len(n) for n in names) / len(names), 1),
        }
    return m


QTYPES = {"1": "A", "28": "AAAA", "15": "MX", "16": "TXT", "10": "NULL", "5": "CNAME", "2": "NS",
          "6": "SOA", "12": "PTR", "33": "SRV", "255": "ANY", "41": "OPT"}
RCODES = {"0": "NOERROR", "1": "FORMERR", "2": "SERVFAIL", "3": "NXDOMAIN", "4": "NOTIMP", "5": "REFUSED"}


def urlpath(uri):
    """The path of an absolute URI as tshark prints http.response_for.uri."""
    if "://" in uri:
        uri = "/" + uri.split("://", 1)[1].split("/", 1)[-1] if "/" in uri.split("://", 1)[1] else "/"
    return uri


def qtype_name(v):
    return QTYPES.get(v, v)


def rcode_name(v):
    return RCODES.get(v, v)


def main(argv):
    show = "--print" in argv
    files = [a for a in argv if not a.startswith("--")] or sorted(EXPECTED)
    gt_path = os.path.join(TESTDATA, "ground_truth.json")
    gt = {}
    if os.path.exists(gt_path):
        with open(gt_path) as f:
            gt = json.load(f)
    for name in files:
        path = os.path.join(TESTDATA, name)
        if not os.path.exists(path):
            print(f"measure.py: skip {name}: not recorded", file=sys.stderr)
            continue
        m = measure(path)
        entry = {"total_packets": m.pop("total_packets"), "unique_ips": m.pop("unique_ips"),
                 "expected": EXPECTED.get(name, [])}
        if name in NOTES:
            entry["note"] = NOTES[name]
        entry["origin"] = "real tool, recorded by testdata/record/record.sh"
        entry["measured"] = m
        gt[name] = entry
        if show:
            print(name, json.dumps(entry, indent=1))
    with open(gt_path, "w") as f:
        json.dump(gt, f, indent=2, sort_keys=True, ensure_ascii=True)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
