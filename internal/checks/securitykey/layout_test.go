package securitykey

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/config"
)

// inlineMD is a SECURITY.md with an armored block pasted in, as projects
// write it: in a fenced code block under the contact address.
func inlineMD(email string, block []byte) string {
	return "# Security Policy\n\nReport vulnerabilities to " + email + ", encrypted to this key:\n\n```\n" + string(block) + "```\n"
}

// TestLayoutsFailClosed: the smallest edits that could turn the new
// layouts into GO, each of which must still block.
func TestLayoutsFailClosed(t *testing.T) {
	good := genEntity(t, "security@example.org", genConfig(2*365*oneDay))
	other := genEntity(t, "security@example.org", genConfig(2*365*oneDay))
	pub := armored(t, good)
	// Flip one base64 character in the body: the CRC no longer matches.
	lines := strings.Split(string(pub), "\n")
	lines[3] = flip(lines[3])
	brokenCRC := []byte(strings.Join(lines, "\n"))
	now := genTime.Add(30 * oneDay)

	for _, tc := range []struct {
		name  string
		files map[string]string
		opts  Options
		want  []string
	}{
		{"inline private block next to the public one", map[string]string{
			"SECURITY.md": inlineMD("security@example.org", append(pub, armoredPrivate(t, good, "PGP PRIVATE KEY BLOCK")...))},
			Options{}, []string{"KEY-PRIVATE-PUBLISHED"}},
		{"inline block with a damaged checksum is judged, not trusted", map[string]string{
			"SECURITY.md": inlineMD("security@example.org", brokenCRC)},
			Options{}, []string{"KEY-MALFORMED"}},
		{"inline block inside an HTML comment names nothing", map[string]string{
			"SECURITY.md": "# Security\n\nEncrypt reports to security@example.org with PGP.\n<!--\n" + string(pub) + "-->\n"},
			Options{}, []string{"KEY-MISSING", "KEY-NOT-NAMED"}},
		{"inline block of another certificate than the key file", map[string]string{
			"SECURITY.md":            inlineMD("security@example.org", pub),
			"docs/keys/security.asc": string(armored(t, other))},
			Options{}, []string{"KEY-INLINE-MISMATCH"}},
		{"inline block holding the file's key and one more", map[string]string{
			"SECURITY.md":            inlineMD("security@example.org", armored(t, good, other)),
			"docs/keys/security.asc": string(pub)},
			Options{}, []string{"KEY-INLINE-MISMATCH"}},
		{"damaged inline block next to a sound key file", map[string]string{
			"SECURITY.md":            inlineMD("security@example.org", brokenCRC),
			"docs/keys/security.asc": string(pub)},
			Options{}, []string{"KEY-MALFORMED"}},
		{"inline key under another address", map[string]string{
			"SECURITY.md": inlineMD("psirt@example.org", pub)},
			Options{}, []string{"KEY-UID-MISMATCH"}},
		{"security.txt Expires is not a date", map[string]string{
			"SECURITY.md": inlineMD("security@example.org", pub), "security.txt": "Contact: mailto:security@example.org\nExpires: next year\n"},
			Options{}, []string{"KEY-SECURITY-TXT-STALE"}},
		{"signed security.txt past its Expires", map[string]string{
			"SECURITY.md": inlineMD("security@example.org", pub),
			".well-known/security.txt": "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nContact: mailto:security@example.org\nExpires: 2025-01-15T00:00:00Z\n" +
				"-----BEGIN PGP SIGNATURE-----\n\nxx\n-----END PGP SIGNATURE-----\n"},
			Options{}, []string{"KEY-SECURITY-TXT-STALE"}},
		{"security.txt current", map[string]string{
			"SECURITY.md": inlineMD("security@example.org", pub), "security.txt": "Contact: mailto:security@example.org\nExpires: 2026-01-01T00:00:00Z\n"},
			Options{}, nil},
		{"prose path and link to different files: two references", map[string]string{
			"SECURITY.md":            "# Security\n\nEmail security@example.org, encrypted to [our key](/keys/old.asc).\nThe key is also in keys/older.asc. Fingerprint " + fprOf(good) + ".\n",
			"docs/keys/security.asc": string(pub)},
			Options{}, []string{"KEY-PATH-MISMATCH", "KEY-PATH-MISMATCH"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := repo(t, tc.files)
			res := runCheck(t, dir, tc.opts, now)
			if diff := cmp.Diff(tc.want, rulesOf(res)); diff != "" {
				t.Errorf("rules (-want +got):\n%s\n%s", diff, describe(res))
			}
		})
	}
}

func flip(s string) string {
	b := []byte(s)
	if b[5] == 'A' {
		b[5] = 'B'
	} else {
		b[5] = 'A'
	}
	return string(b)
}

// TestPathsFromRepositoryRoot: with no readiness.yaml, run from anywhere
// in the checkout, the defaults and SECURITY.md's links resolve at the
// repository root (issue 14, item 8: the base directory was "." and was
// compared with the key's absolute path).
func TestPathsFromRepositoryRoot(t *testing.T) {
	good := genEntity(t, "security@example.org", genConfig(2*365*oneDay))
	md := "# Security\n\nEmail security@example.org, encrypted with PGP: see docs/keys/security.asc or\n[/docs/keys/security.asc](/docs/keys/security.asc), fingerprint " + fprOf(good) + ".\n"
	dir := repo(t, map[string]string{".git/HEAD": "ref: refs/heads/main\n", ".github/SECURITY.md": md, "docs/keys/security.asc": string(armored(t, good)), "cmd/app/main.go": "package main\n"})
	for _, tc := range []struct {
		name string
		env  checks.Env
		opts Options
	}{
		{"config-less, from the root", checks.Env{Dir: "."}, Options{}},
		{"config-less, from a subdirectory", checks.Env{Dir: "cmd/app"}, Options{}},
		{"key and policy given as absolute paths (key verify KEY --security-md FILE)", checks.Env{Dir: "cmd/app"},
			Options{Key: filepath.Join(dir, "docs", "keys", "security.asc"), SecurityMD: filepath.Join(dir, ".github", "SECURITY.md")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(dir)
			tc.env.Now = func() time.Time { return genTime.Add(30 * oneDay) }
			res, err := New(tc.opts, tc.env).Run(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Findings) != 0 {
				t.Errorf("want no findings:\n%s", describe(res))
			}
			if got := res.Facts["key_file"]; got != "docs/keys/security.asc" {
				t.Errorf("key_file = %v, want the root-relative docs/keys/security.asc", got)
			}
			if got := res.Facts["security_md"]; got != ".github/SECURITY.md" {
				t.Errorf("security_md = %v, want .github/SECURITY.md", got)
			}
		})
	}
}

// TestConfigPathsResolveFromConfigDir: paths in readiness.yaml are relative
// to its directory; reported paths to the repository root; a path that
// leaves the repository is refused with file and line.
func TestConfigPathsResolveFromConfigDir(t *testing.T) {
	good := genEntity(t, "security@example.org", genConfig(2*365*oneDay))
	dir := repo(t, map[string]string{".git/HEAD": "x", "docs/keys/security.asc": string(armored(t, good)),
		"SECURITY.md": standardMD(fprOf(good), "security@example.org")})
	spec := func(with string) config.CheckSpec {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(with), &n); err != nil {
			t.Fatal(err)
		}
		return config.CheckSpec{Name: "security-key", Type: Type, Line: 3, With: *n.Content[0]}
	}
	env := checks.Env{Dir: filepath.Join(dir, ".github"), ConfigFile: ".github/readiness.yaml", Now: func() time.Time { return genTime.Add(30 * oneDay) }}
	o, err := OptionsFromSpec(env, spec("key: ../docs/keys/security.asc\nsecurity_md: ../SECURITY.md\n"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := New(o, env).Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 0 || res.Facts["key_file"] != "docs/keys/security.asc" {
		t.Errorf("key_file %v, findings:\n%s", res.Facts["key_file"], describe(res))
	}
	_, err = OptionsFromSpec(env, spec("key: ../../elsewhere/security.asc\n"))
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Line == 0 || !strings.Contains(err.Error(), "not inside the repository") {
		t.Errorf("a key outside the repository: got %v, want a config error with a line saying so", err)
	}
}
