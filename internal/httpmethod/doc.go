// Package httpmethod is the one list of HTTP request methods the module
// knows: the ones tshark's HTTP dissector recognises (RFC 9110, WebDAV,
// DeltaV, CalDAV and a few vendor extensions), so that what we call an
// HTTP request is what the independent tool we test against calls one.
package httpmethod
