package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version describes the binary: the module version, the commit it was
// built from (with "dirty" when the tree had changes) and its time, and
// the Go version. A build outside a module or a checkout says what it
// knows.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "reconpcap (no build information) " + runtime.Version()
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, when, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = " dirty"
			}
		}
	}
	out := "reconpcap " + v
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		out += fmt.Sprintf(" (commit %s%s", rev, dirty)
		if when != "" {
			out += ", " + when
		}
		out += ")"
	}
	return out + " " + runtime.Version()
}

func runVersion(args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return usagef("version takes no arguments")
	}
	fmt.Fprintln(stdout, version())
	return nil
}
