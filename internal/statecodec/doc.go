// Package statecodec encodes a graph of Go values, unexported fields
// included, to bytes and back: deterministically (the same values give
// the same bytes, whatever the order maps are iterated in), keeping
// pointer sharing (two pointers to one value decode to two pointers to
// one value), and into values that already exist, so that fields the
// encoding skips keep what their constructor gave them.
//
// It is how an accumulated analysis (detectors.Partial) travels between
// processes and machines. The analyzers keep their state in unexported
// fields of plain data, and writing a wire type for each of dozens of
// them would be a second copy of every struct to keep in step; instead
// the codec walks the values by reflection:
//
//   - booleans, integers, floats, strings, arrays, slices, structs,
//     pointers and maps, with their unexported fields;
//   - types that implement encoding.BinaryMarshaler and
//     encoding.BinaryUnmarshaler (time.Time, netip.Addr, netip.AddrPort,
//     netip.Prefix) through those methods;
//   - struct fields tagged `partial:"-"`, and fields of func, chan,
//     interface or unsafe pointer type, are skipped: they are derived,
//     configured or not state.
//
// Map entries are written in the order of their keys' encoding; a map
// keyed by pointers is ordered by what the pointers point to, so that the
// numbering of shared pointers does not depend on iteration order.
//
// The encoding has no type information: Decode must be given values of
// the types Encode was. Callers put a version in front of the bytes.
package statecodec
