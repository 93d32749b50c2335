package pcapgen

// The edge cases kept in testdata/ (see testdata/README.md, "Generated
// captures"). Regenerate them with go generate ./internal/pcapgen; the
// tests check that the committed files are what these commands write.

//go:generate go run ../../cmd/pcapgen -q -edge gen_edge_pcapng_multi.pcapng -o ../../testdata/gen_edge_pcapng_multi.pcapng
//go:generate go run ../../cmd/pcapgen -q -edge gen_nanosecond.pcap -o ../../testdata/gen_nanosecond.pcap
//go:generate go run ../../cmd/pcapgen -q -edge gen_vlan_qinq.pcap -o ../../testdata/gen_vlan_qinq.pcap
//go:generate go run ../../cmd/pcapgen -q -edge gen_traffic.pcap.gz -o ../../testdata/gen_traffic.pcap.gz
//go:generate go run ../../cmd/pcapgen -q -edge gen_truncated.pcap -o ../../testdata/gen_truncated.pcap
//go:generate go run ../../cmd/pcapgen -q -edge gen_corrupt_len.pcap -o ../../testdata/gen_corrupt_len.pcap
//go:generate go run ../../cmd/pcapgen -q -edge gen_not_a_capture.txt -o ../../testdata/gen_not_a_capture.txt
//go:generate go run ../../cmd/pcapgen -q -edge gen_empty.pcap -o ../../testdata/gen_empty.pcap
//go:generate go run ../../cmd/pcapgen -q -edge gen_zero.pcap -o ../../testdata/gen_zero.pcap
