// Package imageref splits image references as workflows write them:
// with go-containerregistry's name package where the reference is
// literal, and at the ':' and '@' that lie outside GitHub expressions
// (${{ … }}) or shell variables where it is not.
package imageref

import (
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Ref is an image reference split into repository, tag and digest. Any
// part may hold expressions. Repo drops the implicit docker.io registry
// and library/ namespace, so that alpine and docker.io/library/alpine
// compare equal.
type Ref struct {
	Repo, Tag, Digest string
}

// Parse splits ref.
func Parse(ref string) Ref {
	ref = strings.TrimSpace(ref)
	for _, p := range []string{"docker://", "registry:", "docker:"} {
		ref = strings.TrimPrefix(ref, p)
	}
	if ref != "" && !strings.ContainsAny(ref, "${}`") {
		if r, err := name.ParseReference(ref, name.WeakValidation); err == nil {
			return fromName(r)
		}
	}
	return split(ref)
}

func fromName(r name.Reference) Ref {
	repo := r.Context()
	out := Ref{Repo: repo.RepositoryStr()}
	if reg := repo.RegistryStr(); reg != name.DefaultRegistry {
		out.Repo = reg + "/" + out.Repo
	} else {
		out.Repo = strings.TrimPrefix(out.Repo, "library/")
	}
	switch t := r.(type) {
	case name.Tag:
		// name fills in "latest" when no tag is written; keep what was written.
		if strings.HasSuffix(r.String(), ":"+t.TagStr()) && t.TagStr() != "" {
			out.Tag = t.TagStr()
		}
	case name.Digest:
		out.Digest = t.DigestStr()
	}
	return out
}

// split is the fallback for references holding expressions: the digest
// '@' and the tag ':' outside them.
func split(ref string) Ref {
	masked := mask(ref)
	var r Ref
	if at := strings.LastIndexByte(masked, '@'); at >= 0 {
		r.Digest = ref[at+1:]
		ref, masked = ref[:at], masked[:at]
	}
	slash := strings.LastIndexByte(masked, '/')
	if c := strings.LastIndexByte(masked, ':'); c > slash {
		r.Tag = ref[c+1:]
		ref = ref[:c]
	}
	r.Repo = strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(ref, "docker.io/"), "index.docker.io/"), "library/")
	return r
}

// mask replaces the inside of every ${{ … }} and ${…} with 'x' so that
// ':' and '@' inside them are not taken for separators.
func mask(s string) string {
	b := []byte(s)
	for i := 0; i+1 < len(b); i++ {
		if b[i] != '$' || b[i+1] != '{' {
			continue
		}
		closeAt := strings.Index(s[i:], "}")
		if strings.HasPrefix(s[i:], "${{") {
			closeAt = strings.Index(s[i:], "}}")
		}
		if closeAt < 0 {
			break
		}
		for k := i + 2; k < i+closeAt; k++ {
			b[k] = 'x'
		}
		i += closeAt
	}
	return string(b)
}
