package checks

import "strings"

func splitLines(s string) []string { return strings.Split(s, "\n") }
func trimSpace(s string) string    { return strings.TrimSpace(s) }

func bytesReader(b []byte) *strings.Reader { return strings.NewReader(string(b)) }
