// Package bench compares `reconpcap analyze` with tshark on generated
// captures of about 100 MB and 1 GB: wall time, MB/s, packets/s and peak
// RSS of each process, and a bare gopacket decoding loop as the floor.
//
// It runs only when asked, as the 1 GB case takes a minute and needs
// tshark and several GB of disk:
//
//	RECONPCAP_BENCH=1 go test ./bench -run TestCompare -v -timeout 30m
//
// (or bench/run.sh). The captures are made by internal/pcapgen under
// testdata/big/ (git-ignored) and reused while their size matches;
// RECONPCAP_BENCH_SIZES=100MB,1GB chooses the sizes, RECONPCAP_BENCH_RUNS=3
// the runs per tool (the median counts). The results table
// is printed and written to bench/out/results.md.
package bench
