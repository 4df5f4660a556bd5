package evidence_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/readiness-dev/readiness/internal/evidence"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(evidence.JSONSchema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("evidence.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("evidence.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The golden JSON the report package renders must satisfy the schema, and
// the schema must reject documents that break its promises.
func TestSchema(t *testing.T) {
	s := compileSchema(t)
	data, err := os.ReadFile(filepath.Join("..", "report", "testdata", "nogo.json"))
	if err != nil {
		t.Fatal(err)
	}
	valid := func(mutate func(m map[string]any)) error {
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		if mutate != nil {
			mutate(m)
		}
		return s.Validate(m)
	}
	if err := valid(nil); err != nil {
		t.Fatalf("golden evidence does not satisfy the schema: %v", err)
	}
	bad := map[string]func(m map[string]any){
		"wrong schema":         func(m map[string]any) { m["schema"] = "readiness.dev/evidence/v2" },
		"GO with deny":         func(m map[string]any) { m["verdict"].(map[string]any)["decision"] = "GO" },
		"unknown top-level":    func(m map[string]any) { m["extra"] = 1 },
		"bad severity":         func(m map[string]any) { finding(m)["severity"] = "severe" },
		"error without reason": func(m map[string]any) { delete(check(m, 2), "error") },
		"bad status":           func(m map[string]any) { check(m, 0)["status"] = "green" },
		"bad date":             func(m map[string]any) { m["generated_at"] = "yesterday" },
	}
	for name, mutate := range bad {
		if err := valid(mutate); err == nil {
			t.Errorf("%s: schema accepted it", name)
		}
	}
}

func check(m map[string]any, i int) map[string]any {
	return m["checks"].([]any)[i].(map[string]any)
}

func finding(m map[string]any) map[string]any {
	return check(m, 0)["findings"].([]any)[0].(map[string]any)
}

func TestDecode(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("..", "report", "testdata", "nogo.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := evidence.Decode(bytes.NewReader(golden))
	if err != nil {
		t.Fatal(err)
	}
	if doc.Verdict.Decision != evidence.NOGO || len(doc.Checks) != 4 {
		t.Errorf("decoded %s with %d checks", doc.Verdict.Decision, len(doc.Checks))
	}
	var buf bytes.Buffer
	if err := doc.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if buf.String() != string(golden) {
		t.Error("decode → encode does not round-trip")
	}
	for name, tc := range map[string]struct{ in, want string }{
		"not json":       {"{\n\"schema\": oops", "line 2"},
		"no schema":      {`{"checks": []}`, `no "schema" field`},
		"other version":  {`{"schema": "readiness.dev/evidence/v0"}`, `"readiness.dev/evidence/v0" is not supported`},
		"unknown field":  {`{"schema": "readiness.dev/evidence/v1", "chekcs": []}`, `unknown field "chekcs"`},
		"wrong type":     {`{"schema": "readiness.dev/evidence/v1", "checks": {}}`, "does not match"},
		"not an object":  {`[1,2]`, "not an evidence document"},
		"empty":          {``, "not an evidence document"},
		"schema non-str": {`{"schema": 1}`, "not an evidence document"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := evidence.Decode(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"schema": "readiness.dev/evidence/v1", "checks": [{"name": "a", "findings": [{"rule": "X"}]}]}`))
	f.Add([]byte(`{"schema": "readiness.dev/evidence/v1", "verdict": {"decision": "GO"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := evidence.Decode(bytes.NewReader(data))
		if err == nil && doc.Schema != evidence.Schema {
			t.Fatalf("accepted schema %q", doc.Schema)
		}
	})
}
