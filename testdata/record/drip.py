#!/usr/bin/env python3
"""drip.py: used only by record.sh (exfil_drip). One TCP connection that sends a small
block of random bytes at a fixed interval: the slow exfiltration a volume threshold
never sees.

Usage: drip.py SOURCE_IP HOST PORT BLOCK_BYTES INTERVAL_S COUNT"""
import os
import socket
import sys
import time


def main():
    src, host, port, block, interval, count = sys.argv[1:7]
    s = socket.create_connection((host, int(port)), source_address=(src, 0))
    for _ in range(int(count)):
        s.sendall(os.urandom(int(block)))
        time.sleep(float(interval))
    s.close()


if __name__ == "__main__":
    main()
