package report_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestSARIFGoldensValidate checks every SARIF golden against the OASIS
// SARIF 2.1.0 schema (vendored from the OASIS errata01 release, as grype's
// tests carry it) and against what GitHub's code-scanning ingestion
// accepts: at most one location per result, and artifact URIs relative to
// the repository (no scheme, no absolute path, no "..").
func TestSARIFGoldensValidate(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "sarif-schema-2.1.0.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("sarif-schema-2.1.0.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.sarif"))
	if err != nil || len(files) < 4 {
		t.Fatalf("SARIF goldens: %v, %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if err := schema.Validate(v); err != nil {
				t.Errorf("not valid SARIF 2.1.0: %v", err)
			}
			var log struct {
				Runs []struct {
					Results []struct {
						Locations []struct {
							PhysicalLocation struct {
								ArtifactLocation struct {
									URI string `json:"uri"`
								} `json:"artifactLocation"`
							} `json:"physicalLocation"`
						} `json:"locations"`
					} `json:"results"`
				} `json:"runs"`
			}
			if err := json.Unmarshal(data, &log); err != nil {
				t.Fatal(err)
			}
			results := 0
			for _, run := range log.Runs {
				for i, r := range run.Results {
					results++
					if len(r.Locations) > 1 {
						t.Errorf("result %d has %d locations; code scanning takes one per result", i, len(r.Locations))
					}
					for _, l := range r.Locations {
						uri := l.PhysicalLocation.ArtifactLocation.URI
						if strings.Contains(uri, "://") || strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, "..") || filepath.IsAbs(uri) {
							t.Errorf("result %d: artifact URI %q is not relative to the repository", i, uri)
						}
					}
				}
			}
			if results == 0 && !strings.Contains(f, "partial") {
				t.Logf("%s has no results", f)
			}
		})
	}
}
