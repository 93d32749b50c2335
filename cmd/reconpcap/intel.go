package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/agents-of-shield/reconpcap/intel"
	"github.com/agents-of-shield/reconpcap/internal/textsafe"
)

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func runIntel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("intel", stderr)
	var ips, domains, lists stringList
	fs.Var(&ips, "ip", "an IP address to look up (repeatable)")
	fs.Var(&domains, "domain", "a domain to look up (repeatable)")
	fs.Var(&lists, "indicators", "a local indicator list: IPs, CIDRs and domains, one per line or CSV (repeatable)")
	offline := fs.Bool("offline", false, "consult only the local lists: nothing leaves the machine")
	format := fs.String("format", "text", "output format: json or text")
	timeout := fs.Duration("timeout", 60*time.Second, "bound on all lookups together")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := checkFormat(*format); err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("intel takes no file argument (got %q): use --ip, --domain and --indicators", rest[0])
	}
	if len(ips)+len(domains) == 0 {
		return usagef("intel needs at least one --ip or --domain")
	}
	c, err := intel.New(intel.Config{IndicatorFiles: lists, Offline: *offline})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	var results []*intel.Result
	lookups := []struct {
		values []string
		check  func(context.Context, string) (*intel.Result, error)
	}{{ips, c.CheckIP}, {domains, c.CheckDomain}}
	for _, l := range lookups {
		for _, v := range l.values {
			r, err := l.check(ctx, v)
			if err != nil {
				var ie *intel.InputError
				if errors.As(err, &ie) {
					return usagef("%v", err)
				}
				if r == nil {
					return err
				}
			}
			results = append(results, r)
		}
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\tscore %d\n", r.Indicator, strings.ToUpper(string(r.Verdict)), r.Score)
		for _, p := range r.Providers {
			line := string(p.Status)
			switch {
			case p.Skipped != "":
				line += ": " + p.Skipped
			case p.Error != "":
				line += ": " + p.Error
			case p.Verdict != nil:
				line = fmt.Sprintf("found=%v malicious=%v score %d", p.Verdict.Found, p.Verdict.Malicious, p.Verdict.Score)
				if len(p.Verdict.Categories) > 0 {
					line += " (" + strings.Join(p.Verdict.Categories, ", ") + ")"
				}
			}
			fmt.Fprintf(tw, "  %s\t%s\n", p.Provider, textsafe.Escape(line, 300))
		}
	}
	return tw.Flush()
}
