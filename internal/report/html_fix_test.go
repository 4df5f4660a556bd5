package report

import (
	"html/template"
	"testing"
)

// TestFixHTML: commands in a remedy are code, not prose with literal
// backticks (issue 28, 4), and nothing in a remedy escapes the markup.
func TestFixHTML(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Run `gpg --show-keys --with-fingerprint docs/keys/security.asc` and compare.",
			"Run <code>gpg --show-keys --with-fingerprint docs/keys/security.asc</code> and compare."},
		{"Export the security team's public key and commit it:\ngpg --armor --export security@acme.io > docs/keys/security.asc\n(or point the gate's `key:` option at the file SECURITY.md names).",
			"Export the security team&#39;s public key and commit it: <pre><code>gpg --armor --export security@acme.io &gt; docs/keys/security.asc</code></pre>(or point the gate&#39;s <code>key:</code> option at the file SECURITY.md names)."},
		{"an unbalanced ` stays as written <b>", "an unbalanced ` stays as written &lt;b&gt;"},
		{"`<script>alert(1)</script>`", "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>"},
	} {
		if got := fixHTML(tc.in); got != template.HTML(tc.want) {
			t.Errorf("fixHTML(%q)\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}
