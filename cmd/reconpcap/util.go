package main

import (
	"sort"
	"unicode/utf8"
)

func sortSlice[T any](s []T, less func(a, b T) bool) {
	sort.Slice(s, func(i, j int) bool { return less(s[i], s[j]) })
}

func decodeRune(s string) (rune, int) { return utf8.DecodeRuneInString(s) }
