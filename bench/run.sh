#!/bin/sh
# Compare reconpcap analyze with tshark on generated 100 MB and 1 GB
# captures (see bench/doc.go). Extra arguments go to go test.
set -e
cd "$(dirname "$0")/.."
RECONPCAP_BENCH=1 exec go test ./bench -run TestCompare -v -count 1 -timeout 60m "$@"
