// Package waiver applies readiness.yaml's waivers to findings and judges
// each waiver's life cycle: active, expiring soon, expired, or unused.
package waiver

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/evidence"
)

// Apply marks the findings each live waiver covers (Finding.WaivedBy) and
// returns every waiver's status. An expired waiver covers nothing: what it
// hid blocks again, and the policy blocks on the expired waiver itself.
func Apply(results []checks.Result, waivers []config.Waiver, file string, now time.Time, warn time.Duration) []evidence.WaiverStatus {
	out := make([]evidence.WaiverStatus, 0, len(waivers))
	for _, w := range waivers {
		left := w.Expires.End().Sub(now)
		st := evidence.WaiverStatus{
			ID: w.ID, Check: w.Check, Reason: w.Reason, Owner: w.Owner,
			Expires: w.Expires.String(), Matched: []string{},
			DaysLeft: int(math.Floor(left.Hours() / 24)),
		}
		if file != "" && w.Line > 0 {
			st.Location = fmt.Sprintf("%s:%d", file, w.Line)
		}
		switch {
		case left < 0:
			st.State = evidence.WaiverExpired
		case left <= warn:
			st.State = evidence.WaiverExpiring
		default:
			st.State = evidence.WaiverActive
		}
		for ri := range results {
			r := &results[ri]
			if w.Check != "" && w.Check != r.Check {
				continue
			}
			for fi := range r.Findings {
				f := &r.Findings[fi]
				if !Matches(w.ID, f) {
					continue
				}
				st.Matched = append(st.Matched, r.Check+":"+f.ID)
				if st.State != evidence.WaiverExpired && f.WaivedBy == "" {
					f.WaivedBy = w.ID
				}
			}
		}
		out = append(out, st)
	}
	return out
}

// Matches reports whether a waiver ID covers a finding: its rule ID, its
// finding ID, or a prefix of the finding ID ending in "*".
func Matches(id string, f *checks.Finding) bool {
	if prefix, ok := strings.CutSuffix(id, "*"); ok {
		return strings.HasPrefix(f.ID, prefix) || strings.HasPrefix(f.Rule, prefix)
	}
	return strings.EqualFold(id, f.Rule) || id == f.ID
}
