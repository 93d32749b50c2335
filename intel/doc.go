// Package intel looks indicators (IP addresses and domains) up in threat
// intelligence sources and merges the answers into one verdict.
//
// A Provider answers for one source: a local List of indicators (files of
// IPs, CIDR prefixes and domains, text or CSV, matched in memory with no
// network), AbuseIPDB (IP addresses) and VirusTotal (IP addresses and
// domains). A Checker, built by New from a Config, asks every provider at
// once and returns a Result: one ProviderResult per provider (a Verdict, an
// error, or why it was skipped) and an overall Level with the highest score.
// Results marshal to bounded snake_case JSON for the CLI and MCP tools.
//
// What never leaves the machine: private, loopback, link-local, multicast,
// unspecified, CGNAT, reserved, documentation and unique-local addresses,
// and names that are not public DNS names (one label, .local, .internal,
// .lan, .home.arpa, .test, .example, .invalid, .localhost, unknown
// top-level domains, ...). Local lists still match them; online providers
// are listed as skipped, and refuse them with ErrNotPublic if called alone.
//
// The online providers need API keys, taken from Config or, only when the
// Config field is empty, from ABUSEIPDB_API_KEY and VIRUSTOTAL_API_KEY. A
// provider without a key is skipped and says so. Keys travel in headers
// only and are never logged or put in errors. Each online provider has a
// token-bucket rate limit (VirusTotal's public 4 a minute by default),
// pauses for a 429's Retry-After with bounded retries, and times each
// request out (10 s by default); the Checker caches verdicts (an hour by
// default) and shares one request among concurrent identical lookups.
//
//	c, err := intel.New(intel.Config{IndicatorFiles: []string{"blocklist.txt"}})
//	if err != nil { ... }
//	res, err := c.CheckIP(ctx, "185.220.101.4")
//	if err != nil { ... } // *InputError: not an address
//	fmt.Println(res.Verdict, res.Score)
//
// Errors: *InputError for invalid input; providers' failures wrap
// ErrUnauthorized (key refused), ErrRateLimited, context.DeadlineExceeded
// (timeouts) or are an *APIError, and reach the caller in
// ProviderResult.Err, with ErrorCode for JSON readers.
package intel
