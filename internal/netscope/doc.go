// Package netscope says what kind of network an address belongs to, once
// for the whole module: whether it is internal (a host of ours, for the
// exfiltration detector's direction of travel) and whether it names a host
// on the public Internet at all (for intel, which must never send anything
// else out).
//
// Internal is the narrower question: documentation, benchmarking and
// reserved ranges are not internal (captures and tests use 203.0.113.0/24
// as the outside world), but they are not public either, so Class names
// them.
package netscope
