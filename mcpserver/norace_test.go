//go:build !race

package mcpserver

// raceDetector is true in a -race build, where decoding JSON runs many
// times slower: tests that push megabytes through mcp-go scale down.
const raceDetector = false
