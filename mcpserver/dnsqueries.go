package mcpserver

import (
	"context"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/inspect"
)

// DNSQueriesArgs are list_dns_queries' arguments.
type DNSQueriesArgs struct {
	Target
	PageArgs
}

// DNSQueriesResult is list_dns_queries' answer.
type DNSQueriesResult struct {
	CaptureInfo
	// Queries is this page of the capture's DNS queries in frame order,
	// each with the response that answered it.
	Queries []inspect.DNSQuery `json:"queries"`
	Page
	Truncated bool `json:"truncated"`
}

func (r *DNSQueriesResult) shrink(keep float64) bool {
	return cutPage(&r.Queries, &r.Page, &r.Truncated, keep)
}

func (s *Server) dnsQueriesTool() toolSpec[DNSQueriesArgs, DNSQueriesResult] {
	return toolSpec[DNSQueriesArgs, DNSQueriesResult]{
		name:  "list_dns_queries",
		title: "List DNS queries",
		desc: "Every DNS query in frame order with its answer: frame, time, client, server, ID, name, type, response frame, rcode and answer records. Use it to read what a host looked up; analyze_dns gives the statistics. Paged." +
			rereadNote + untrusted,
		extra: merge(targetExtra, pageExtra),
		args:  func() DNSQueriesArgs { return DNSQueriesArgs{} },
		run:   s.dnsQueries,
	}
}

func (s *Server) dnsQueries(ctx context.Context, args DNSQueriesArgs) (*DNSQueriesResult, error) {
	offset, limit, err := pageArgs(args.PageArgs)
	if err != nil {
		return nil, err
	}
	src, err := s.openSource(args.Target)
	if err != nil {
		return nil, err
	}
	defer src.File.Close()
	path := src.Path
	list, err := inspect.DNSQueries(ctx, src, offset, limit)
	c := capOfDNS(list)
	info, err := rereadInfo(path, list != nil, c, err)
	if err != nil {
		return nil, err
	}
	res := &DNSQueriesResult{CaptureInfo: info, Queries: list.Queries, Page: pageOf(list.Total, min(offset, list.Total), len(list.Queries))}
	if res.Queries == nil {
		res.Queries = []inspect.DNSQuery{}
	}
	return res, nil
}

func capOfDNS(l *inspect.DNSList) *capture.Capture {
	if l == nil {
		return nil
	}
	return l.Capture
}
