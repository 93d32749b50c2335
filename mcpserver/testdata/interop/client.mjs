// Interoperability check: the official MCP TypeScript SDK client drives
// `reconpcap mcp` over stdio.
//
//	node client.mjs BINARY ROOT_DIR [CAPTURE]
//
// It starts `BINARY mcp --root ROOT_DIR`, lists the tools, calls
// read_pcap_summary and detect_port_scanning (threshold 10) on CAPTURE
// (default scan_syn.pcap, relative to ROOT_DIR), list_tls on
// tls_handshakes.pcap, and a tool with a path that
// escapes the root, then prints one JSON object with what it got on stdout.
// Any failure (a missing tool, a protocol error, a structured result the
// SDK finds invalid against the tool's output schema, a bad path that is
// not a tool error, bytes on the server's stdout that are not JSON-RPC) is
// reported on stderr and the exit status is 1. mcpserver/binary_test.go
// runs it and checks the values.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const EXPECTED_TOOLS = [
  "read_pcap_summary",
  "detect_port_scanning",
  "detect_http_anomalies",
  "detect_data_exfiltration",
  "get_traffic_timeline",
  "list_findings",
  "analyze_dns",
  "list_http_requests",
  "get_conversations",
  "list_tls",
];

const [bin, root, capture = "scan_syn.pcap", outDir = ""] = process.argv.slice(2);
if (!bin || !root) {
  console.error("usage: node client.mjs BINARY ROOT_DIR [CAPTURE [OUT_DIR]]");
  process.exit(2);
}

// A hung server must not hang the caller: the Go test has its own timeout,
// but a person running this by hand has none.
const watchdog = setTimeout(() => {
  console.error("interop: timed out after 30s");
  process.exit(1);
}, 30_000);
watchdog.unref();

function fail(msg) {
  throw new Error(msg);
}

// textOf joins the text content blocks of a tool result.
function textOf(result) {
  return (result.content ?? [])
    .filter((c) => c.type === "text")
    .map((c) => c.text)
    .join("\n");
}

// structured returns a successful tool result's structured content. The SDK
// has already validated it against the tool's outputSchema; the text block
// must carry the same JSON for clients that read only text.
function structured(name, result) {
  if (result.isError) fail(`${name}: tool error: ${textOf(result)}`);
  const sc = result.structuredContent;
  if (!sc || typeof sc !== "object") fail(`${name}: no structuredContent`);
  let fromText;
  try {
    fromText = JSON.parse(textOf(result));
  } catch (e) {
    fail(`${name}: text content is not JSON: ${e.message}`);
  }
  if (JSON.stringify(fromText) !== JSON.stringify(sc)) {
    fail(`${name}: text content and structuredContent differ`);
  }
  return sc;
}

const transportErrors = [];
const transport = new StdioClientTransport({
  command: bin,
  args: outDir ? ["mcp", "--root", root, "--output-schemas", "--out", outDir] : ["mcp", "--root", root, "--output-schemas"],
  stderr: "pipe", // the server's logs; shown only on failure
});
let serverStderr = "";
transport.stderr?.on("data", (d) => {
  serverStderr += d.toString();
});
// A line on the server's stdout that is not JSON-RPC surfaces here.
transport.onerror = (err) => transportErrors.push(String(err?.message ?? err));

const client = new Client({ name: "reconpcap-interop", version: "1.0.0" });

async function main() {
  await client.connect(transport);
  const server = client.getServerVersion();
  if (!server?.name) fail("initialize: no serverInfo name");
  if (!client.getServerCapabilities()?.tools) fail("initialize: server declares no tools capability");

  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name).sort();
  const missing = EXPECTED_TOOLS.filter((n) => !names.includes(n));
  if (missing.length) fail(`tools/list: missing ${missing.join(", ")}`);
  for (const t of tools) {
    if (!t.description) fail(`tool ${t.name}: no description`);
    if (t.inputSchema?.type !== "object") fail(`tool ${t.name}: input schema is not an object schema`);
  }

  const summary = structured(
    "read_pcap_summary",
    await client.callTool({ name: "read_pcap_summary", arguments: { pcap_file: capture } }),
  );
  const scan = structured(
    "detect_port_scanning",
    await client.callTool({ name: "detect_port_scanning", arguments: { pcap_file: capture, threshold: 10 } }),
  );

  // The packet-level tools, each result checked by the SDK against the
  // tool's output schema.
  const packetTools = {};
  for (const [name, args] of [
    ["list_captures", { limit: 1000 }],
    ["find_packets", { pcap_file: capture, flags: "syn,!ack", limit: 5 }],
    ["get_packet", { pcap_file: capture, frame: 3 }],
    ["list_dns_queries", { pcap_file: "benign_dns.pcapng", limit: 5 }],
    ["get_protocol_hierarchy", { pcap_file: capture }],
    ["get_endpoints", { pcap_file: capture, level: "tcp", limit: 5 }],
    ["get_conversations", { pcap_file: capture, level: "tcp", limit: 5 }],
  ]) {
    packetTools[name] = structured(name, await client.callTool({ name, arguments: args }));
  }
  // The recorded TLS handshakes (testdata/tls_handshakes.pcap).
  const tls = structured(
    "list_tls",
    await client.callTool({ name: "list_tls", arguments: { pcap_file: "tls_handshakes.pcap" } }),
  );
  // With an output directory, finding 1's evidence as list_findings
  // numbers it, exported to a file.
  let evidence = null;
  if (outDir) {
    const findings = structured(
      "list_findings",
      await client.callTool({ name: "list_findings", arguments: { pcap_file: capture } }),
    );
    const first = findings.findings?.[0];
    if (!first?.index) fail("list_findings: the first finding has no index");
    const exp = structured(
      "export_evidence",
      await client.callTool({ name: "export_evidence", arguments: { pcap_file: capture, finding: first.index } }),
    );
    evidence = { frames: first.frames, display_filter: first.display_filter, mitre: first.mitre, export: exp };
  }

  const bad = await client.callTool({
    name: "read_pcap_summary",
    arguments: { pcap_file: "../../etc/passwd" },
  });
  if (bad.isError !== true) fail(`bad path: isError is ${bad.isError}, want true`);
  const badText = textOf(bad);
  if (!badText) fail("bad path: empty error message");
  if (badText.includes("root:x:0:0")) fail("bad path: the answer contains /etc/passwd");

  // Each capture under the root is a resource; reading the one asked
  // about gives its summary. The investigate_capture prompt sets a
  // client's model up as reconpcap's agent is.
  const { resources } = await client.listResources();
  const res = resources.find((r) => r.name === capture);
  if (!res) fail(`resources/list: no resource named ${capture} among ${resources.map((r) => r.name).join(", ")}`);
  const read = await client.readResource({ uri: res.uri });
  const resSummary = JSON.parse(read.contents[0].text);
  const { prompts } = await client.listPrompts();
  const prompt = await client.getPrompt({ name: "investigate_capture", arguments: { pcap_file: capture } });
  const promptText = prompt.messages.map((m) => m.content.text).join("\n");

  if (transportErrors.length) fail(`transport errors: ${transportErrors.join("; ")}`);

  const out = {
    resource: {
      uri: res.uri,
      mime: read.contents[0].mimeType,
      total_packets: resSummary.total_packets,
      unique_ips: resSummary.unique_ips,
    },
    prompt: { names: prompts.map((p) => p.name), role: prompt.messages[0].role, text: promptText },
    server: { name: server.name, version: server.version },
    tools: names,
    summary: { total_packets: summary.total_packets, unique_ips: summary.unique_ips },
    port_scan: {
      port_scan_detected: scan.port_scan_detected,
      suspicious_activity: scan.suspicious_activity ?? [],
    },
    port_scan_structured: scan,
    bad_path: { isError: bad.isError, message: badText },
    packet_tools: {
      captures: packetTools.list_captures.captures.map((c) => c.name),
      find_packets: { total: packetTools.find_packets.total, first: packetTools.find_packets.packets[0]?.number },
      get_packet: { number: packetTools.get_packet.number, layers: packetTools.get_packet.layers.map((l) => l.name) },
      list_dns_queries: { total: packetTools.list_dns_queries.total, returned: packetTools.list_dns_queries.returned },
      get_protocol_hierarchy: packetTools.get_protocol_hierarchy.protocols.map((p) => p.path),
      get_endpoints: packetTools.get_endpoints.total,
      get_conversations: packetTools.get_conversations.total,
    },
    tls: { total: tls.total, snis: tls.handshakes.map((h) => h.sni), ja4: tls.handshakes.map((h) => h.ja4) },
    evidence,
  };
  process.stdout.write(JSON.stringify(out) + "\n");
}

let status = 0;
try {
  await main();
} catch (err) {
  console.error(`interop: ${err?.message ?? err}`);
  if (serverStderr) console.error(`server stderr:\n${serverStderr}`);
  status = 1;
}
try {
  await client.close();
} catch (err) {
  console.error(`interop: close: ${err?.message ?? err}`);
  status = 1;
}
process.exit(status);
