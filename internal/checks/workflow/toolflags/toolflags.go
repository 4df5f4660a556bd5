// Package toolflags says which flags of cosign, trivy and grype take a
// value, so that `cosign sign --key k.pem IMAGE` is read as signing IMAGE,
// not k.pem. The tables are generated from the tools themselves
// (flags_gen.go, `go generate`), checked in, and kept true by a test.
package toolflags

//go:generate go run ./gen

// Cosign returns the value-taking flags of cosign's commands.
func Cosign() map[string]bool { return set(cosignValue) }

// Trivy returns the value-taking flags of trivy's scan commands.
func Trivy() map[string]bool { return set(trivyValue) }

// Grype returns the value-taking flags of grype.
func Grype() map[string]bool { return set(grypeValue) }

func set(names []string) map[string]bool {
	if names == nil {
		return nil
	}
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
