package detectors

import "bytes"

// Injection kinds, a bit each.
const (
	injSQL = 1 << iota
	injTraversal
	injXSS
)

// injectionMarker is a substring of a decoded, lower-cased URI. Strong
// markers are unambiguous on their own; weak ones ("../", a NUL byte)
// can come from a sloppy client.
type injectionMarker struct {
	s      string
	kind   int
	strong bool
}

var injectionMarkers = []injectionMarker{
	{"union select", injSQL, true},
	{"union all select", injSQL, true},
	{"union distinct select", injSQL, true},
	{"' or '", injSQL, true},
	{"' or 1=1", injSQL, true},
	{"or 1=1", injSQL, false},
	{"xp_cmdshell", injSQL, true},
	{"sleep(", injSQL, false},
	{"benchmark(", injSQL, true},
	{"waitfor delay", injSQL, true},
	{"information_schema", injSQL, true},
	{"extractvalue(", injSQL, true},
	{"updatexml(", injSQL, true},
	{"load_file(", injSQL, true},
	{"into outfile", injSQL, true},
	{"pg_sleep(", injSQL, true},
	{"dbms_pipe.", injSQL, true},
	{"case when", injSQL, true},
	{"concat(0x", injSQL, true},
	{"xmltype(", injSQL, true},
	{"@@version", injSQL, true},
	{";select ", injSQL, true},
	{"; select ", injSQL, true},
	{"select (case", injSQL, true},
	{"select count(*) from", injSQL, true},
	{"chr(", injSQL, false},
	{"char(", injSQL, false},
	{"order by ", injSQL, false},
	{"../", injTraversal, false},
	{"..\\", injTraversal, false},
	{"/etc/passwd", injTraversal, true},
	{"/etc/shadow", injTraversal, true},
	{"win.ini", injTraversal, true},
	{"\x00", injTraversal, false},
	{"<script", injXSS, true},
	{"javascript:", injXSS, true},
	{"onerror=", injXSS, true},
	{"onload=", injXSS, true},
	{"<svg", injXSS, true},
	{"<iframe", injXSS, true},
}

const injectionBytes = " '(.\\<:=\x00"

// injectionKinds returns the injection kinds a decoded URI carries, and
// whether one marker was strong.
func injectionKinds(decoded []byte) (kinds int, strong bool) {
	// Every marker holds one of these bytes (or, like xp_cmdshell and
	// information_schema, never comes without one): most URIs are
	// cleared by one scan.
	if !bytes.ContainsAny(decoded, injectionBytes) {
		return 0, false
	}
	for _, m := range injectionMarkers {
		if kinds&m.kind != 0 && (strong || !m.strong) {
			continue
		}
		if bytes.Contains(decoded, []byte(m.s)) {
			kinds |= m.kind
			strong = strong || m.strong
		}
	}
	if !strong && sqlTautology(decoded) {
		kinds |= injSQL
		strong = true
	}
	return kinds, strong
}

// sqlTautology reports whether a decoded URI holds a boolean test spliced
// into a query: "and" or "or", then a number or a quoted string compared
// with another ("AND 5184=7831", "' AND 'PQQr'='PQQr", ") OR (1=1").
// Text in a query string ("rock and roll", "a=1&b=2") does not match.
func sqlTautology(decoded []byte) bool {
	for rest := decoded; ; {
		i := bytes.Index(rest, []byte("and "))
		j := bytes.Index(rest, []byte("or "))
		n := 4
		if i < 0 || j >= 0 && j < i {
			i, n = j, 3
		}
		if i < 0 {
			return false
		}
		// The keyword must stand alone: after a space, a quote or a
		// bracket, not inside a word ("brand ", "for ").
		if i > 0 {
			if c := decoded[len(decoded)-len(rest)+i-1]; c != ' ' && c != '\'' && c != '"' && c != ')' {
				rest = rest[i+n:]
				continue
			}
		}
		rest = rest[i+n:]
		t := bytes.TrimLeft(rest, " (")
		a, ok := sqlOperand(t)
		if !ok || len(t) == len(a) || t[len(a)] != '=' {
			continue
		}
		if _, ok := sqlOperand(t[len(a)+1:]); ok {
			return true
		}
	}
}

// sqlOperand reads a number or a quoted word at the start of b; the
// closing quote may be missing.
func sqlOperand(b []byte) ([]byte, bool) {
	if len(b) == 0 {
		return nil, false
	}
	if q := b[0]; q == '\'' || q == '"' {
		k := 1
		for k < len(b) && k < 64 && isWordByte(b[k]) {
			k++
		}
		if k < len(b) && b[k] == q {
			return b[:k+1], true
		}
		// The injected quote is often closed by the application's own
		// ("1' AND '1'='1").
		return b[:k], k > 1
	}
	k := 0
	for k < len(b) && b[k] >= '0' && b[k] <= '9' {
		k++
	}
	return b[:k], k > 0
}

// enumerationPrefixes are paths scanners and brute-forcers try, lower
// case, matched as prefixes of the lower-cased path. At most 64 (one bit
// each in httpPair.enumMask).
var enumerationPrefixes = []string{
	"/.env", "/.git", "/.svn", "/.hg/", "/.bzr", "/.ds_store", "/.aws", "/.ssh", "/.htaccess", "/.htpasswd",
	"/.idea", "/.vscode", "/.docker", "/.bash_history", "/admin", "/backup", "/phpmyadmin", "/pma/", "/myadmin",
	"/wp-admin", "/wp-login.php", "/wp-config", "/xmlrpc.php", "/server-status", "/server-info", "/config.php",
	"/configuration.php", "/web.config", "/cgi-bin/", "/actuator", "/console", "/manager/html", "/jmx-console",
	"/_vti_bin", "/_vti_pvt", "/_vti_inf", "/hnap1", "/etc/passwd", "/phpinfo.php", "/info.php", "/debug",
	"/id_rsa", "/dump.sql", "/db.sql", "/database.sql", "/shell", "/install.php", "/setup.php", "/sdk",
	"/solr/admin", "/owa/", "/autodiscover/autodiscover.xml", "/boaform", "/vendor/phpunit",
}

// enumerationBySecond lists, for each second byte of a path, the
// indexes of the enumeration prefixes that start with it, so a path is
// compared with a handful of prefixes, not all of them.
var enumerationBySecond = func() (idx [256][]int) {
	for i, p := range enumerationPrefixes {
		idx[p[1]] = append(idx[p[1]], i)
	}
	return idx
}()

func enumerationIndex(lowerPath []byte) int {
	if len(lowerPath) < 2 {
		return -1
	}
	for _, i := range enumerationBySecond[lowerPath[1]] {
		if bytes.HasPrefix(lowerPath, []byte(enumerationPrefixes[i])) {
			return i
		}
	}
	return -1
}

// sensitivePaths are paths whose 200 answer leaks something. Strong ones
// are a finding on their own; the others (server-status, phpinfo) are
// often fetched on purpose by monitoring and only add to another finding.
var sensitivePaths = []struct {
	prefix string
	strong bool
}{
	{"/.env", true}, {"/.git/config", true}, {"/.git/head", true}, {"/.git/index", true}, {"/.git/logs", true},
	{"/.aws/credentials", true}, {"/.aws/config", true}, {"/.htpasswd", true}, {"/.ssh/", true},
	{"/.svn/entries", true}, {"/.svn/wc.db", true}, {"/.hg/hgrc", true}, {"/.bash_history", true},
	{"/.docker/config.json", true}, {"/wp-config.php.", true}, {"/etc/passwd", true}, {"/web.config", true},
	{"/actuator/env", true}, {"/actuator/heapdump", true}, {"/id_rsa", true},
	{"/server-status", false}, {"/server-info", false}, {"/phpinfo.php", false}, {"/.ds_store", false},
}

// backupSuffixes name backup copies of files; an archive counts when its
// name says backup. A 200 answer to one raises a finding but is none on
// its own: downloading a dump or an archive can be what the site is for.
var backupSuffixes = []string{".bak", ".old", ".orig", ".swp", ".sql", ".sql.gz", "~", ".save", ".backup"}
var archiveSuffixes = []string{".zip", ".tar", ".tar.gz", ".tgz", ".7z", ".rar"}

var sensitiveBySecond = func() (idx [256][]int) {
	for i, p := range sensitivePaths {
		idx[p.prefix[1]] = append(idx[p.prefix[1]], i)
	}
	return idx
}()

func sensitivePath(lowerPath []byte) (sensitive, strong bool) {
	if len(lowerPath) < 2 {
		return false, false
	}
	for _, i := range sensitiveBySecond[lowerPath[1]] {
		if bytes.HasPrefix(lowerPath, []byte(sensitivePaths[i].prefix)) {
			return true, sensitivePaths[i].strong
		}
	}
	for _, s := range backupSuffixes {
		if bytes.HasSuffix(lowerPath, []byte(s)) {
			return true, false
		}
	}
	if bytes.Contains(lowerPath, []byte("backup")) {
		for _, s := range archiveSuffixes {
			if bytes.HasSuffix(lowerPath, []byte(s)) {
				return true, false
			}
		}
	}
	return false, false
}

// scannerAgents maps a lower-case substring of a user agent to the tool
// it names. Order matters where one needle holds another (dirbuster
// before dirb). Clients that are not scanners (curl, wget,
// python-requests, python-httpx, Go-http-client, browsers) are absent on
// purpose.
var scannerAgents = []struct{ needle, tool string }{
	{"nmap scripting engine", "Nmap Scripting Engine"},
	{"sqlmap", "sqlmap"},
	{"nikto", "Nikto"},
	{"gobuster", "gobuster"},
	{"dirbuster", "DirBuster"},
	{"dirsearch", "dirsearch"},
	{"dirb", "dirb"},
	{"fuzz faster u fool", "ffuf"},
	{"ffuf", "ffuf"},
	{"wfuzz", "wfuzz"},
	{"feroxbuster", "feroxbuster"},
	{"nuclei", "nuclei"},
	{"projectdiscovery", "projectdiscovery"},
	{"masscan", "masscan"},
	{"zgrab", "zgrab"},
	{"wpscan", "WPScan"},
	{"whatweb", "WhatWeb"},
	{"acunetix", "Acunetix"},
	{"netsparker", "Netsparker"},
	{"nessus", "Nessus"},
	{"openvas", "OpenVAS"},
	{"arachni", "Arachni"},
	{"skipfish", "skipfish"},
	{"w3af", "w3af"},
	{"(hydra)", "Hydra"},
	{"thc-hydra", "Hydra"},
	{"burpcollaborator", "Burp Collaborator"},
	{"commix", "commix"},
	{"jaeles", "jaeles"},
	{"katana", "katana"},
	{"gospider", "gospider"},
	{"joomscan", "JoomScan"},
	{"droopescan", "droopescan"},
	{"zmeu", "ZmEu"},
	{"jorgee", "Jorgee"},
	{"morfeus", "Morfeus"},
	{"havij", "Havij"},
	{"xsstrike", "XSStrike"},
	{"qualys", "Qualys"},
}

// ScannerTool names the scanning tool a User-Agent value belongs to, or
// returns "" for ordinary clients (browsers, curl, wget, python-requests,
// Go-http-client, ...). Matching is a case-insensitive substring test.
func ScannerTool(ua string) string {
	b := []byte(ua)
	for _, s := range scannerAgents {
		if containsFold(b, s.needle) {
			return s.tool
		}
	}
	return ""
}
