package imagescan

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/trivyreport"
)

// sbom has trivy write the CycloneDX SBOM of t, the image the scan just
// read, with the scan's invocation (only --format differs), ties it to the
// same digest and config as the report, and saves it beside the report as
// compact JSON: those bytes are what an in-toto statement embeds as its
// predicate, so the sha256 recorded here is the attested predicate's.
func (c *Check) sbom(ctx context.Context, inv *invocation, reportPath string, t target) (*evidence.SBOMRecord, error) {
	args := inv.sbomArgs(ctx, t)
	what := t.display()
	out, err := c.deps.Exec(ctx, inv.cmd(args))
	if err != nil {
		return nil, runFailure(ctx, "the trivy SBOM of "+what, err)
	}
	if out.ExitCode != 0 {
		return nil, trivyFailure(what+" (SBOM)", out.ExitCode, out.Stderr, inv.set.CacheDir)
	}
	id, err := trivyreport.ReadCycloneDXIdentity(out.Stdout)
	if err == nil {
		err = id.Check(wantOf(t.ImageScanIdentity()))
	}
	if err != nil {
		return nil, fmt.Errorf("trivy's SBOM for %s cannot be tied to the image that was scanned: %v", what, err)
	}
	// json.Marshal of a RawMessage compacts it and escapes HTML exactly
	// as the statement's encoding will.
	compact, err := json.Marshal(json.RawMessage(out.Stdout))
	if err != nil {
		return nil, fmt.Errorf("trivy's SBOM for %s is not valid JSON: %v", what, err)
	}
	rec := &evidence.SBOMRecord{
		Format:  evidence.SBOMFormatCycloneDX,
		Command: append([]string{inv.bin}, args...),
		Path:    strings.TrimSuffix(reportPath, ".json") + ".cdx.json",
		SHA256:  evidence.SHA256(compact),
	}
	if err := os.WriteFile(rec.Path, compact, 0o644); err != nil {
		return nil, fmt.Errorf("save trivy's SBOM for %s: %w", what, err)
	}
	return rec, nil
}
