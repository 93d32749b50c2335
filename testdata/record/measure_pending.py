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
    "exfil_tls.pcap": (
        [finding("data_exfiltration", "outbound_upload", "high", target="203.0.113.90")],
        "tls_exfiltration",
        "15 MB sent in one TLS connection to port 443 of one external address (curl -T); the content is "
        "encrypted, so bytes and shape decide: 15,000,000+ bytes up, under 2 kB down"),
    "exfil_split.pcap": (
        [finding("data_exfiltration", "split_upload", "medium", target="203.0.113.95")],
        "split_exfiltration",
        "4.5 MB cut into 300 POSTs of 15 kB, each its own connection, to one external address within "
        "a minute: no connection is large, the sum per (source, destination) is 4.55 MB (>= 1 MB: medium)"),
    "exfil_drip.pcap": (
        [finding("data_exfiltration", "slow_drip", "low", target="203.0.113.99")],
        "slow_drip_exfiltration",
        "one TCP connection to port 443 of an external host (not TLS) carrying 1 kB of random data "
        "every second for 3 minutes: 184 kB, steady and one way; low, as the issue says"),
    "scan_slow.pcap": (
        [finding("port_scan", "syn", "medium")],
        "slow_scan",
        "41 ports (20-60), one SYN probe every 4 s over about 3 minutes: no burst, but 10+ ports from one "
        "source to one target (< 50 ports: medium)"),
    "scan_srcport.pcap": (
        [finding("port_scan", "syn", "high")],
        "source_port_53_scan",
        "a 200-port SYN scan whose every probe comes from source port 53 (looks like DNS answers to a "
        "port-based rule)"),
    "scan_version.pcap": (
        [finding("port_scan", "version_scan", "medium")],
        "service_version_scan",
        "nmap -sV on 3 ports: SYN probes, then 55 completed connections carrying service probes (GET/OPTIONS "
        "/, SIP OPTIONS, 'nice ports' Trinity, RTSP, TLS hellos, ...) to 22, 80 and 8080, and 8 requests "
        "with the Nmap Scripting Engine user agent (/HNAP1, /evox/about, /sdk, /nmaplowercheck...): too few "
        "ports for a port scan, the probes mark it (the issue: low to medium); one finding, the NSE "
        "requests belong to it"),
    "http_vhost_fuzz.pcap": (
        [finding("http_enumeration", "vhost_fuzzing", "high")],
        "vhost_fuzzing",
        "ffuf: one path (/), 165 Host values under corp.example, 160 answered 404, 5 existing virtual "
        "hosts answered 200; user agent Fuzz Faster U Fool"),
    "http_lowrate_browser.pcap": (
        [finding("http_enumeration", "directory_bruteforce", "medium")],
        "low_rate_browser_agent_enumeration",
        "gobuster with a Firefox user agent, one request at a time 300 ms apart: 200+ wordlist paths "
        "(.env, .git/config, phpmyadmin, ...) mostly answered 404; no scanner agent, so the paths and the "
        "404 share decide (medium by the rule: 20+ unique paths)"),
    "http_odd_port.pcap": (
        [finding("http_enumeration", "scanner_user_agent", "high")],
        "http_on_non_http_port",
        "gobuster against the site served on TCP 4444: HTTP found by content, not by port"),
    "benign_cdn_dns.pcap": (
        [],
        "benign_cdn_names",
        "a browser's lookups (A and AAAA) of 414 names with long random-looking labels (CloudFront ids, "
        "hashes, shards) spread over 60 registered domains, every answer NOERROR with an address"),
    "benign_backup_rsync.pcap": (
        [],
        "benign_internal_backup",
        "a nightly-style rsync over SSH of 24 MB to the internal server's port 22: an internal transfer "
        "to a backup service, low at most with no other signal"),
    "benign_saas_upload.pcap": (
        [],
        "benign_saas_use",
        "a user on two HTTPS SaaS sites: pages and 4 downloads, and 5 uploads of 1.1-3.6 MB (under 10 MB "
        "per site) interleaved with downloads; volume alone, nothing hostile: low at most"),
    "benign_healthcheck.pcap": (
        [],
        "benign_health_polling",
        "a monitor polling GET /health every 0.5-1 s (and /metrics every tenth time) for 150 s with curl: "
        "hundreds of requests, two paths, all 200"),
    "benign_crawler.pcap": (
        [],
        "benign_crawler",
        "wget -r -l 3 mirroring a wiki: 150+ existing pages answered 200 (some 301 first), robots.txt read"),
    "benign_udp_noise.pcap": (
        [],
        "benign_udp_noise",
        "NTP polls, mDNS service queries and LLMNR queries from three hosts for 90 s: many UDP "
        "destinations and multicast groups, nothing scanned"),
    "benign_tls_browse.pcap": (
        [],
        "benign_tls_browsing",
        "browsing three sites over HTTPS with a Firefox user agent (names through the resolver)"),
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

    # Per source: pure SYNs, ACK-only packets without payload (the probes of -sA/-sW, but
    # also every ordinary ACK of a connection) and the MACs the source used.
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
                "ack_only_no_payload_packets": v["bare_ack"],
                "top_src_ports": [[int(p), n] for p, n in v["src_ports"].most_common(2) if p]}
            for k, v in sorted(by_src.items())}

    # Who the answers (SYN-ACK or RST) go to: a decoy scan's real source is the one answered.
    answers = collections.Counter(r[1] for r in probes if (r[3] == "1" and r[4] == "1") or r[5] == "1")
    if answers:
        e["tcp_synack_or_rst_packets_to"] = dict(sorted(answers.items()))

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
