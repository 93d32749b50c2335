package intel_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/agents-of-shield/reconpcap/intel"
)

// A local blocklist, no network: Offline keeps the online providers out
// even where their keys are in the environment.
func Example() {
	list := intel.NewList("blocklist")
	err := list.Read("c2.txt", strings.NewReader(`# command and control
198.51.100.23
10.66.0.0/16   # lab botnet range
evil-updates.com
`))
	if err != nil {
		log.Fatal(err)
	}
	c, err := intel.New(intel.Config{Providers: []intel.Provider{list}, Offline: true})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	for _, ind := range []string{"10.66.4.2", "cdn.evil-updates.com", "192.0.2.1"} {
		res, err := c.Check(ctx, ind)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %s (score %d)\n", res.Indicator, res.Verdict, res.Score)
		for _, p := range res.Providers {
			switch p.Status {
			case intel.StatusOK:
				if p.Verdict.Found {
					fmt.Printf("  %s: matched %s at %s\n", p.Provider, p.Verdict.Details["matched"], p.Verdict.Details["source"])
				}
			case intel.StatusSkipped:
				fmt.Printf("  %s: skipped (%s)\n", p.Provider, p.Skipped)
			}
		}
	}
	// Output:
	// 10.66.4.2: malicious (score 100)
	//   abuseipdb: skipped (offline: online providers not consulted)
	//   virustotal: skipped (offline: online providers not consulted)
	//   blocklist: matched 10.66.0.0/16 at c2.txt:3
	// cdn.evil-updates.com: malicious (score 100)
	//   abuseipdb: skipped (offline: online providers not consulted)
	//   virustotal: skipped (offline: online providers not consulted)
	//   blocklist: matched evil-updates.com at c2.txt:4
	// 192.0.2.1: unknown (score 0)
	//   abuseipdb: skipped (offline: online providers not consulted)
	//   virustotal: skipped (offline: online providers not consulted)
}
