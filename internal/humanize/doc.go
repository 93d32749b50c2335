// Package humanize writes numbers for people: one wording of byte counts
// for every report, finding summary and terminal table, so the same upload
// reads the same in all of them.
package humanize
