// Package cli is the smallest Go module that has a test.
package cli

// Add adds.
func Add(a, b int) int { return a + b }
