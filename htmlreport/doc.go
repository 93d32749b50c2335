// Package htmlreport writes an analysis, and an investigation's verdict
// when there is one, as one self-contained HTML file a person opens in a
// browser: the verdict, the findings with their evidence references, a
// traffic timeline chart with each finding's time span marked, top talkers
// and ports, and the DNS and HTTP highlights.
//
// Nothing is fetched: the styles, the script that draws the chart and the
// data it draws are inline, so the file opens offline and can be mailed
// or attached to a ticket as it is. Every string from the capture is
// attacker-controlled: html/template escapes it in the page, the data
// block is JSON that html/template escapes for a script context, and the
// script writes strings only through textContent, never as markup.
package htmlreport
