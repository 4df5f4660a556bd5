package evidence_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/readiness-dev/readiness/internal/checks"
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
		"wrong schema":         func(m map[string]any) { m["schema"] = "readiness.dev/evidence/v1" },
		"no gate statuses":     func(m map[string]any) { delete(m["verdict"].(map[string]any), "checks") },
		"fail without blocker": func(m map[string]any) { gate(m, 1)["status"] = "fail" },
		"pass with blocker":    func(m map[string]any) { gate(m, 0)["status"] = "pass" },
		"warn with blocker":    func(m map[string]any) { gate(m, 0)["status"] = "warn" },
		"bad gate status":      func(m map[string]any) { gate(m, 1)["status"] = "failed" },
		"GO with a red gate": func(m map[string]any) {
			v := m["verdict"].(map[string]any)
			v["decision"], v["deny"] = "GO", []any{}
			for _, g := range v["checks"].([]any) {
				g.(map[string]any)["blocking"] = 0
			}
			gate(m, 2)["status"] = "error"
		},
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

func gate(m map[string]any, i int) map[string]any {
	return m["verdict"].(map[string]any)["checks"].([]any)[i].(map[string]any)
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
		"unknown field":  {`{"schema": "readiness.dev/evidence/v2", "chekcs": []}`, `unknown field "chekcs"`},
		"wrong type":     {`{"schema": "readiness.dev/evidence/v2", "checks": {}}`, "does not match"},
		"v1 unknown":     {`{"schema": "readiness.dev/evidence/v1", "chekcs": []}`, `unknown field "chekcs"`},
		"v1 with v2 key": {`{"schema": "readiness.dev/evidence/v1", "verdict": {"checks": []}}`, "verdict.checks is a readiness.dev/evidence/v2 field"},
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

// Documents of the previous schema, saved as v1 wrote them, are still
// read (signed attestations carry them), upgraded to this schema, and
// their gate statuses derived from their own verdict.
func TestDecodeV1(t *testing.T) {
	s := compileSchema(t)
	for _, tc := range []struct {
		file     string
		decision string
		gates    map[string]string
	}{
		{"v1-nogo.json", evidence.NOGO, map[string]string{"image-scan": "fail", "security-key": "pass", "tests": "error", "workflow": "warn"}},
		{"v1-partial.json", evidence.GO, map[string]string{"security-key": "pass", "image-scan": "not-run", "tests": "not-run", "workflow": "not-run"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(data, []byte(`"readiness.dev/evidence/v1"`)) {
				t.Fatal("the fixture is no longer a v1 document")
			}
			doc, err := evidence.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if doc.Schema != evidence.Schema || doc.Verdict.Decision != tc.decision {
				t.Errorf("decoded %s %s", doc.Schema, doc.Verdict.Decision)
			}
			got := map[string]string{}
			for _, g := range doc.Verdict.Checks {
				got[g.Name] = g.Status
			}
			if len(got) != len(tc.gates) {
				t.Errorf("gates %v, want %v", got, tc.gates)
			}
			for name, want := range tc.gates {
				if got[name] != want {
					t.Errorf("%s: status %q, want %q", name, got[name], want)
				}
			}
			// Upgraded, it is a valid document of this schema.
			var buf bytes.Buffer
			if err := doc.Encode(&buf); err != nil {
				t.Fatal(err)
			}
			v, err := jsonschema.UnmarshalJSON(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(v); err != nil {
				t.Errorf("upgraded document does not satisfy the schema: %v", err)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"schema": "readiness.dev/evidence/v1", "checks": [{"name": "a", "findings": [{"rule": "X"}]}]}`))
	f.Add([]byte(`{"schema": "readiness.dev/evidence/v1", "verdict": {"decision": "GO"}}`))
	f.Add([]byte(`{"schema": "readiness.dev/evidence/v2", "checks": [{"name": "a", "status": "fail"}], "verdict": {"decision": "GO", "checks": [{"name": "a", "status": "pass"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := evidence.Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		if doc.Schema != evidence.Schema {
			t.Fatalf("accepted schema %q", doc.Schema)
		}
		// Whatever the document recorded, its gate statuses are the ones
		// its deny messages imply: none is red without a blocker.
		for _, g := range doc.Verdict.Checks {
			if (g.Status == evidence.GateFail) != (g.Blocking > 0 && g.Status != evidence.GateError) {
				t.Fatalf("gate %+v", g)
			}
		}
	})
}

// A gate's status follows the verdict, not the check's own "fail": the
// policy alone knows which findings block.
func TestGates(t *testing.T) {
	low := []checks.Finding{{Rule: "X-LOW", ID: "X-LOW", Severity: "low"}}
	deny := func(check string) evidence.Message { return evidence.Message{Msg: "m", Check: check} }
	for _, tc := range []struct {
		name   string
		result checks.Result
		deny   []evidence.Message
		warn   []evidence.Message
		want   string
	}{
		{"nothing found", checks.Result{Status: checks.StatusPass}, nil, nil, evidence.GatePass},
		{"findings none blocking", checks.Result{Status: checks.StatusFail, Findings: low}, nil, nil, evidence.GateWarn},
		{"warn message only", checks.Result{Status: checks.StatusPass}, nil, []evidence.Message{deny("a")}, evidence.GateWarn},
		{"blocking finding", checks.Result{Status: checks.StatusFail, Findings: low}, []evidence.Message{deny("a")}, nil, evidence.GateFail},
		{"custom deny on a passing check", checks.Result{Status: checks.StatusPass}, []evidence.Message{deny("a")}, nil, evidence.GateFail},
		{"another check's blocker", checks.Result{Status: checks.StatusFail, Findings: low}, []evidence.Message{deny("b"), deny("")}, nil, evidence.GateWarn},
		{"error", checks.Result{Status: checks.StatusError, Error: "boom"}, []evidence.Message{deny("a")}, nil, evidence.GateError},
		{"skipped optional", checks.Result{Status: checks.StatusSkipped}, nil, nil, evidence.GateSkipped},
		{"skipped required", checks.Result{Status: checks.StatusSkipped}, []evidence.Message{deny("a")}, nil, evidence.GateFail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.result
			r.Check, r.Type = "a", "t"
			doc := &evidence.Document{Checks: []checks.Result{r}, Verdict: evidence.Verdict{Deny: tc.deny, Warn: tc.warn}}
			g := doc.Gate("a")
			if g.Status != tc.want {
				t.Errorf("status %q, want %q", g.Status, tc.want)
			}
			if g.Blocking != len(slicesFilter(tc.deny, "a")) {
				t.Errorf("blocking %d", g.Blocking)
			}
		})
	}
	doc := &evidence.Document{NotRun: []evidence.CheckRef{{Name: "b", Type: "t"}}}
	if g := doc.Gate("b"); g.Status != evidence.GateNotRun {
		t.Errorf("left-out check: %q", g.Status)
	}
}

func slicesFilter(ms []evidence.Message, check string) []evidence.Message {
	var out []evidence.Message
	for _, m := range ms {
		if m.Check == check {
			out = append(out, m)
		}
	}
	return out
}
