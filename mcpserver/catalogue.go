package mcpserver

import "github.com/mark3labs/mcp-go/server"

// ToolNames lists every tool the server offers, in catalogue order. The
// names and their arguments are a contract (see doc.go): they only grow.
var ToolNames = []string{
	"read_pcap_summary",
	"detect_port_scanning",
	"detect_http_anomalies",
	"detect_data_exfiltration",
	"get_traffic_timeline",
	"list_findings",
	"analyze_dns",
	"list_http_requests",
	"get_conversations",
	"check_addresses",
	"extract_tcp_stream",
	"lookup_threat_intel",
	"find_packets",
	"get_packet",
	"list_dns_queries",
	"get_protocol_hierarchy",
	"get_endpoints",
	"list_captures",
	"list_tls",
	"export_evidence",
}

// tools builds the catalogue.
func (s *Server) tools() []server.ServerTool {
	return []server.ServerTool{
		typedTool(s, s.summaryTool()),
		typedTool(s, s.portScanTool()),
		typedTool(s, s.httpAnomaliesTool()),
		typedTool(s, s.exfilTool()),
		typedTool(s, s.timelineTool()),
		typedTool(s, s.listFindingsTool()),
		typedTool(s, s.dnsTool()),
		typedTool(s, s.httpRequestsTool()),
		typedTool(s, s.conversationsTool()),
		typedTool(s, s.checkAddressesTool()),
		typedTool(s, s.streamTool()),
		s.intelTool(),
		typedTool(s, s.findPacketsTool()),
		typedTool(s, s.getPacketTool()),
		typedTool(s, s.dnsQueriesTool()),
		typedTool(s, s.hierarchyTool()),
		typedTool(s, s.endpointsTool()),
		typedTool(s, s.listCapturesTool()),
		typedTool(s, s.tlsTool()),
		s.exportEvidenceTool(),
	}
}
