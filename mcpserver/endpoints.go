package mcpserver

import (
	"context"
	"slices"

	"github.com/agents-of-shield/reconpcap/inspect"
)

// EndpointsArgs are get_endpoints' arguments.
type EndpointsArgs struct {
	Target
	Level string `json:"level,omitempty" jsonschema:"ip: addresses; tcp or udp: address and port pairs. Default ip."`
	IP    string `json:"ip,omitempty" jsonschema:"Only this address's endpoints. Default: every address."`
	PageArgs
}

// EndpointsResult is get_endpoints' answer.
type EndpointsResult struct {
	CaptureInfo
	Level string `json:"level"`
	// Endpoints is this page, most bytes first; Tx is what an endpoint
	// sent, Rx what it received.
	Endpoints []inspect.Endpoint `json:"endpoints"`
	Page
	Truncated bool `json:"truncated"`
}

func (r *EndpointsResult) shrink(keep float64) bool {
	return cutPage(&r.Endpoints, &r.Page, &r.Truncated, keep)
}

func (s *Server) endpointsTool() toolSpec[EndpointsArgs, EndpointsResult] {
	return toolSpec[EndpointsArgs, EndpointsResult]{
		name:  "get_endpoints",
		title: "Endpoints",
		desc: "Every address (level ip) or address and port (level tcp or udp) with packets and bytes sent and received, largest first, like tshark -z endpoints. Use it to find the busiest hosts or services. Paged." +
			untrusted,
		extra: merge(targetExtra, pageExtra, schemaExtra{"level": {"enum": []string{"ip", "tcp", "udp"}, "default": "ip"}}),
		args:  func() EndpointsArgs { return EndpointsArgs{Level: "ip"} },
		run:   s.endpoints,
	}
}

func (s *Server) endpoints(ctx context.Context, args EndpointsArgs) (*EndpointsResult, error) {
	offset, limit, err := pageArgs(args.PageArgs)
	if err != nil {
		return nil, err
	}
	proto, err := levelProto(args.Level)
	if err != nil {
		return nil, err
	}
	ip, err := parseIPArg(args.IP)
	if err != nil {
		return nil, err
	}
	l, err := s.load(ctx, args.Target)
	if err != nil {
		return nil, err
	}
	var eps []inspect.Endpoint
	if proto == 0 {
		eps = inspect.IPEndpoints(l.a.Talkers())
	} else {
		eps = inspect.TransportEndpoints(l.a.Capture().Flows(), proto)
	}
	if ip != "" {
		eps = slices.DeleteFunc(eps, func(e inspect.Endpoint) bool { return e.Address != ip })
	}
	res := &EndpointsResult{CaptureInfo: l.info, Level: args.Level}
	if res.Level == "" {
		res.Level = "ip"
	}
	res.Endpoints, res.Page = page(eps, offset, limit)
	return res, nil
}
