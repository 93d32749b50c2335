// Package siem writes findings in the formats security information and
// event management systems ingest: Suricata's EVE JSON alert records and
// Elastic Common Schema (ECS) alert events, one JSON object per line.
//
// EVE's top level admits only the keys Suricata's schema lists, so
// everything of ours that EVE has no key for (technique, confidence,
// counts, samples, evidence references, ATT&CK techniques) goes under
// alert.metadata, which the schema leaves open; the keys Suricata's own
// rules use there (signature_severity, attack_target, tag) hold arrays of
// strings as they do in Suricata's output. ECS keeps ours under the
// reconpcap field set.
//
// Every string that came from a capture (a DNS name in a summary, a
// sample path) is attacker-controlled: JSON encoding escapes control
// characters, and nothing here interprets them.
package siem
