// Package broken compiles; its test file does not when built with -tags
// broken, which is how a test provokes a package that fails outside any test.
package broken

// Answer is here so that the package has code.
func Answer() int { return 42 }
