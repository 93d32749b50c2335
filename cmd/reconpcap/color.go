package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/agents-of-shield/reconpcap/report"
)

// colorMode is --color: auto (colour on a terminal, unless NO_COLOR is set
// or TERM is dumb), always, never.
type colorMode string

func (m *colorMode) String() string { return string(*m) }

func (m *colorMode) Set(s string) error {
	switch s {
	case "auto", "always", "never":
		*m = colorMode(s)
		return nil
	}
	return fmt.Errorf("want auto, always or never")
}

// registerColor adds --color to fs.
func registerColor(fs *flag.FlagSet) *colorMode {
	m := colorMode("auto")
	fs.Var(&m, "color", "colour severities in text output: auto (on a terminal, unless NO_COLOR is set), always or never")
	return &m
}

// palette colours text output; its zero value colours nothing.
type palette struct{ on bool }

// paletteFor decides, for output to w, whether mode colours it.
func paletteFor(mode *colorMode, w io.Writer) palette {
	if mode == nil {
		return palette{}
	}
	switch *mode {
	case "always":
		return palette{on: true}
	case "never":
		return palette{}
	}
	return palette{on: os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb" && isTerminal(w)}
}

// severity colours text by the severity it states: critical bold red,
// high red, medium yellow, low unchanged. Only text the program wrote
// goes through it; capture strings are escaped before they reach a line.
func (p palette) severity(s report.Severity, text string) string {
	if !p.on {
		return text
	}
	code := ""
	switch s {
	case report.SeverityCritical:
		code = "1;31"
	case report.SeverityHigh:
		code = "31"
	case report.SeverityMedium:
		code = "33"
	default:
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}
