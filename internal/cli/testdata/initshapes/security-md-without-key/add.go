// Package svc is the smallest Go module that has a test.
package svc

// Add adds.
func Add(a, b int) int { return a + b }
