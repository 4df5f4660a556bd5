package release

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/pipeline"
	"github.com/readiness-dev/readiness/internal/sign"
)

// Source is where the evidence for a signing comes from: the configured
// gates run on the spot (Live), or, with Evidence set, a signed bundle
// carried from the machine that scanned (Carried). Everything a command
// line says about it, in one place.
type Source struct {
	// Live is the configuration, the policy set and the image-scan check
	// both ways share, and the live run's own settings.
	Live

	// Carried: the signed bundle's file, whom to trust as its scanner, and
	// the oldest evidence that may be signed.
	Evidence string
	Trust    *sign.EvidenceTrust
	MaxAge   time.Duration
}

// Evidence is a Source made ready: sign.Release's gates, who signed
// carried evidence (nil when live), what reading its envelope noted, and
// every file the run reads (no report may overwrite one).
type Evidence struct {
	Gates   sign.GatesFunc
	Scanner *sign.Identity
	Notes   []string
	Inputs  []string
}

// Prepare reads and checks everything before anything is signed: a live
// run's checks are built (against a placeholder digest), so that a typo is
// a usage error before a password is asked; a carried bundle's envelope is
// verified with the scanner's key or identity before anything in it is
// read. A bundle that cannot be trusted is a *sign.RefusedError.
func (s Source) Prepare(ctx context.Context) (*Evidence, error) {
	if s.Evidence == "" {
		live := s.Live
		in, err := live.Inputs()
		if err != nil {
			return nil, err
		}
		return &Evidence{Gates: live.Gates, Inputs: in}, nil
	}
	opened, b, err := readSignedBundle(ctx, s.Evidence, s.Trust)
	if err != nil {
		return nil, err
	}
	c, err := NewCarried(s.Pipeline, s.Config, s.ScanCheck, Carried{
		Source: s.Evidence, Bundle: b, Policy: s.Policy, MaxAge: s.MaxAge, Signed: opened.Subjects,
	})
	if err != nil {
		return nil, err
	}
	in := append([]string{s.Evidence}, s.Policy.Dirs...)
	return &Evidence{Gates: c.Gates, Scanner: &opened.SignedBy, Notes: opened.Notes, Inputs: in}, nil
}

// readSignedBundle reads the bundle, verifies its envelope with the
// scanner's key or keyless identity before reading anything in it, and
// decodes it. A bad key or trust root, or a file that cannot be read, is a
// usage error; an unsigned envelope, one another key or identity signed,
// or a bundle whose reports are missing or altered is refused.
func readSignedBundle(ctx context.Context, path string, trust *sign.EvidenceTrust) (*sign.Opened, *evidence.Bundle, error) {
	if err := trust.Load(ctx); err != nil {
		flag := "--evidence-key"
		if trust.Key == "" {
			flag = "--evidence-certificate-identity"
		}
		return nil, nil, pipeline.Usagef("%s: %v", flag, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, pipeline.Usagef("--evidence: %v", unwrapPathErr(err))
	}
	opened, err := trust.Open(ctx, data, sign.BundlePredicateType)
	if err != nil {
		return nil, nil, &sign.RefusedError{Reason: fmt.Sprintf("--evidence %s: %v", path, err)}
	}
	b, err := evidence.ReadBundle(bytes.NewReader(opened.Body))
	if err != nil {
		return nil, nil, &sign.RefusedError{Reason: fmt.Sprintf("--evidence %s: %v", path, err)}
	}
	return opened, b, nil
}

func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}
