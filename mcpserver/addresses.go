package mcpserver

import (
	"context"
	"net/netip"

	"github.com/agents-of-shield/reconpcap/internal/textsafe"
)

// maxCheckAddresses bounds one check_addresses call.
const maxCheckAddresses = 100

// CheckAddressesArgs are check_addresses' arguments.
type CheckAddressesArgs struct {
	Target
	Addresses []string `json:"addresses,omitempty" jsonschema:"IP addresses to look for (up to 100; none gives an empty answer)."`
}

// CheckAddressesResult is check_addresses' answer.
type CheckAddressesResult struct {
	CaptureInfo
	// Present maps each address asked for (in its canonical form) to
	// whether it occurs in an IP header of the capture.
	Present map[string]bool `json:"present"`
	// Invalid lists the arguments that are not IP addresses.
	Invalid []string `json:"invalid"`
}

func (r *CheckAddressesResult) shrink(keep float64) bool { return false }

func (s *Server) checkAddressesTool() toolSpec[CheckAddressesArgs, CheckAddressesResult] {
	return toolSpec[CheckAddressesArgs, CheckAddressesResult]{
		name:  "check_addresses",
		title: "Do these addresses occur in the capture?",
		desc: "Whether each IP address given occurs in any packet of the capture. " +
			"Call it before naming an address as a target or in evidence." + untrusted,
		extra: targetExtra,
		args:  func() CheckAddressesArgs { return CheckAddressesArgs{} },
		run:   s.checkAddresses,
	}
}

func (s *Server) checkAddresses(ctx context.Context, args CheckAddressesArgs) (*CheckAddressesResult, error) {
	if len(args.Addresses) > maxCheckAddresses {
		return nil, badArg("%d addresses: at most %d in one call", len(args.Addresses), maxCheckAddresses)
	}
	l, err := s.load(ctx, args.Target)
	if err != nil {
		return nil, err
	}
	res := &CheckAddressesResult{CaptureInfo: l.info, Present: map[string]bool{}, Invalid: []string{}}
	want := map[string]bool{}
	for _, v := range args.Addresses {
		a, err := netip.ParseAddr(v)
		if err != nil {
			res.Invalid = append(res.Invalid, textsafe.Escape(v, 64))
			continue
		}
		key := a.Unmap().String()
		want[key] = true
		res.Present[key] = false
	}
	for _, t := range l.a.Talkers() {
		if want[t.IP] {
			res.Present[t.IP] = true
		}
	}
	return res, nil
}
