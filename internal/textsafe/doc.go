// Package textsafe makes strings that came from a capture safe to show: to
// a model inside a tool result (mcpserver) or to a person on a terminal
// (cmd/reconpcap). Everything in a packet is chosen by whoever sent it, so
// a user agent, a path or a DNS name may carry terminal escapes, invalid
// UTF-8, or bidirectional overrides that make "exe.txt" read as "txt.exe".
//
// Escape is the one sanitiser: it keeps printable text as it is and writes
// every other byte as \xNN, so nothing from the capture can move a cursor,
// reorder what follows, or pass for an escape of our own.
package textsafe
