package cli_test

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/readiness-dev/readiness/internal/sign/signtest"
)

// editPayload changes the signed statement's predicate (the evidence
// document) with f and keeps the signature: an edit after signing.
func editPayload(t *testing.T, envelope []byte, f func(doc map[string]any)) []byte {
	t.Helper()
	var env map[string]any
	if err := json.Unmarshal(envelope, &env); err != nil {
		t.Fatal(err)
	}
	payload, err := base64.StdEncoding.DecodeString(env["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(payload, &st); err != nil {
		t.Fatal(err)
	}
	f(st["predicate"].(map[string]any))
	payload, _ = json.Marshal(st)
	env["payload"] = base64.StdEncoding.EncodeToString(payload)
	out, _ := json.Marshal(env)
	return out
}

// Issue 23 section 3: check's evidence signed with --sign-evidence, so that
// policy eval --evidence-key refuses a document whose not_run or policy_set
// was edited.
func TestPolicyEvalRefusesAnEditedSignedDocument(t *testing.T) {
	dir := writeConfig(t, goConfig)
	keys := signtest.KeyPair(t, "evidence password")
	other := signtest.KeyPair(t, "another password")
	env := map[string]string{"COSIGN_PASSWORD": keys.Password}
	signed := filepath.Join(t.TempDir(), "evidence.json")
	r := run(t, dir, env, "check", "-o", "text", "-o", "json="+signed, "--sign-evidence", "--key", keys.Private)
	if r.code != 0 {
		t.Fatalf("check: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	data, err := os.ReadFile(signed)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	unsigned := write("unsigned.json", []byte(strings.TrimSpace(string(unsealed(t, data)))))
	byOther := filepath.Join(t.TempDir(), "other.json")
	if r := run(t, dir, map[string]string{"COSIGN_PASSWORD": other.Password}, "check", "-o", "json="+byOther, "--sign-evidence", "--key", other.Private); r.code != 0 {
		t.Fatalf("check signed by another key: exit %d: %s", r.code, r.stderr)
	}
	tests := []struct {
		name  string
		input string
		args  []string
		code  int
		want  string
	}{
		{"the signed document", signed, []string{"--evidence-key", keys.Public}, 0, "GO"},
		{"not_run edited", write("notrun.json", editPayload(t, data, func(d map[string]any) { d["not_run"] = []any{} })), []string{"--evidence-key", keys.Public}, 1, "signature does not verify"},
		{"policy_set edited", write("policyset.json", editPayload(t, data, func(d map[string]any) {
			d["verdict"].(map[string]any)["policy_set"].(map[string]any)["modules"] = []any{}
		})), []string{"--evidence-key", keys.Public}, 1, "signature does not verify"},
		{"signed by another key", byOther, []string{"--evidence-key", keys.Public}, 1, "signature does not verify"},
		{"unsigned", unsigned, []string{"--evidence-key", keys.Public}, 1, "not signed"},
		{"a signed document without --evidence-key", signed, nil, 2, "needs --evidence-key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, dir, nil, append([]string{"policy", "eval", "--input", tc.input}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stdout+r.stderr, tc.want) {
				t.Errorf("policy eval: exit %d (want %d), output does not say %q?\nstdout: %s\nstderr: %s", r.code, tc.code, tc.want, r.stdout, r.stderr)
			}
		})
	}
	for _, args := range [][]string{
		{"check", "-o", "json=x.json", "--sign-evidence"},
		{"check", "-o", "json=x.json", "--key", keys.Private},
		{"check", "-o", "text", "--sign-evidence", "--key", keys.Private},
	} {
		if r := run(t, dir, env, args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, r.code, r.stderr)
		}
	}
}
