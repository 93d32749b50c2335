#!/usr/bin/env python3
"""udp_noise.py: used only by record.sh (benign_udp_noise).

  udp_noise.py ntp-server ADDR            answers NTP client requests (mode 3) with the time
  udp_noise.py clients SECONDS SRC...     from every SRC address: NTP polls, mDNS and LLMNR
                                          queries, at the irregular pace of real clients

The queries are what desktops send all day: mDNS PTR queries for services (_googlecast,
_ipp, _airplay...) and A queries for .local names to 224.0.0.251:5353, LLMNR queries for
single-label names to 224.0.0.252:5355, NTP polls to one server."""
import random
import socket
import struct
import sys
import time

NTP_EPOCH = 2208988800


def ntp_server(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 123))
    while True:
        req, peer = s.recvfrom(512)
        if len(req) < 48 or req[0] & 7 != 3:
            continue
        now = time.time() + NTP_EPOCH
        sec, frac = int(now), int((now % 1) * 2**32)
        resp = struct.pack(">BBbb", 0x24, 2, req[2], -20) + struct.pack(">II", 0x200, 0x300)
        resp += socket.inet_aton("192.0.2.1")
        resp += struct.pack(">II", sec - 30, 0) + req[40:48] + struct.pack(">IIII", sec, frac, sec, frac)
        s.sendto(resp, peer)


def dns_query(name, qtype, qid=0, unicast_response=False):
    q = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\x00"
    return struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + q + struct.pack(">HH", qtype, 0x8001 if unicast_response else 1)


def ntp_request():
    now = time.time() + NTP_EPOCH
    return struct.pack(">BBbb", 0x23, 0, 6, -20) + b"\x00" * 36 + struct.pack(">II", int(now), int((now % 1) * 2**32))


def clients(seconds, srcs, ntp_server_addr="203.0.113.123"):
    r = random.Random(12)
    socks = {}
    for src in srcs:
        mdns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        mdns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        mdns.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src))
        mdns.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
        mdns.bind((src, 5353))
        ll = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        ll.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src))
        ll.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        ll.bind((src, 0))
        ntp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        ntp.bind((src, 0))
        ntp.settimeout(0.5)
        socks[src] = (mdns, ll, ntp)
    services = ["_googlecast._tcp.local", "_ipp._tcp.local", "_airplay._tcp.local", "_spotify-connect._tcp.local",
                "_printer._tcp.local", "_companion-link._tcp.local", "_hap._tcp.local", "_raop._tcp.local"]
    hosts = ["printer-2nd-floor.local", "nas.local", "meeting-room-tv.local", "laptop-jane.local"]
    single = ["fileserver", "wpad", "printer", "nas", "intranet", "sharepoint", "isatap"]
    end = time.time() + seconds
    next_ntp = {s: time.time() + r.uniform(0, 5) for s in srcs}
    while time.time() < end:
        src = r.choice(srcs)
        mdns, ll, ntp = socks[src]
        kind = r.random()
        if kind < 0.45:
            mdns.sendto(dns_query(r.choice(services), 12), ("224.0.0.251", 5353))
        elif kind < 0.65:
            mdns.sendto(dns_query(r.choice(hosts), 1, unicast_response=True), ("224.0.0.251", 5353))
        else:
            ll.sendto(dns_query(r.choice(single), r.choice([1, 1, 28]), qid=r.randrange(0x10000)), ("224.0.0.252", 5355))
        for s, t in next_ntp.items():
            if time.time() >= t:
                socks[s][2].sendto(ntp_request(), (ntp_server_addr, 123))
                try:
                    socks[s][2].recv(512)
                except socket.timeout:
                    pass
                next_ntp[s] = time.time() + r.uniform(14, 20)
        time.sleep(r.uniform(0.3, 2.0))


def main():
    if sys.argv[1] == "ntp-server":
        ntp_server(sys.argv[2])
    else:
        clients(float(sys.argv[2]), sys.argv[3:])


if __name__ == "__main__":
    main()
