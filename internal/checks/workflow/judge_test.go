package workflow

import (
	"testing"

	"github.com/readiness-dev/readiness/internal/checks/workflow/model"
)

func TestRunsAfterFailure(t *testing.T) {
	tests := []struct {
		cond  string
		gates []string
		want  bool
	}{
		{"", nil, false},
		{"github.event_name == 'push'", nil, false},
		{"always()", nil, true},
		{"${{ !cancelled() }}", nil, true},
		{"failure()", nil, true},
		{"success()", nil, false},
		{"always() && needs.scan.result == 'success'", []string{"needs.scan.result"}, false},
		{"always() && needs.build.result == 'success'", []string{"needs.scan.result"}, true},
		{"${{ always() && !contains(needs.*.result, 'failure') }}", nil, false},
		{"always() && steps.trivy.outcome == 'success'", []string{"steps.trivy.outcome"}, false},
		// Evaluated, not matched: success() || failure() is !cancelled().
		{"${{ success() || failure() }}", nil, true},
		{"(success() || failure()) && steps.scan.outcome == 'success'", []string{"steps.scan.outcome"}, false},
		{"failure() || success()", nil, true},
		{"!cancelled() && !failure()", nil, false},
		{"!failure() || always()", nil, true},
		{"!(failure() || cancelled())", nil, false},
		{"success() && startsWith(github.ref, 'refs/tags/') || failure() && false", nil, false},
		{"success() || github.event_name == 'workflow_dispatch'", nil, true},
		{"always() && steps.scan.outcome != 'success'", []string{"steps.scan.outcome"}, true},
		{"always() && needs.scan.result != 'failure'", []string{"needs.scan.result"}, true},
		{"always() && !contains(needs.*.result, 'cancelled')", nil, true},
		{"always() && (github.event_name == 'push'", nil, true}, // unreadable: fail closed
		{"contains(github.ref, 'failure()')", nil, false},
	}
	for _, tt := range tests {
		if got := model.RunsAfterFailure(tt.cond, tt.gates...); got != tt.want {
			t.Errorf("model.RunsAfterFailure(%q, %v) = %v, want %v", tt.cond, tt.gates, got, tt.want)
		}
	}
}

func TestSkippable(t *testing.T) {
	tests := []struct {
		scan, sign []string
		want       string
	}{
		{nil, nil, ""},
		{[]string{"always()"}, nil, ""},
		{[]string{"github.event_name == 'push'"}, []string{"${{ github.event_name == 'push' && github.ref_type == 'tag' }}"}, ""},
		{[]string{"${{ !inputs.skip }}"}, nil, "!inputs.skip"},
		{[]string{"failure()"}, nil, "failure()"},
		{[]string{"(github.event_name == 'push') && success()"}, []string{"github.event_name == 'push'"}, ""},
	}
	for _, tt := range tests {
		if got := skippable(tt.scan, tt.sign); got != tt.want {
			t.Errorf("skippable(%v, %v) = %q, want %q", tt.scan, tt.sign, got, tt.want)
		}
	}
}

func TestChosenOutside(t *testing.T) {
	for _, tc := range []struct {
		tag  string
		want bool
	}{
		{"${{ inputs.scan-tag }}", true},
		{"${{ vars.scan_tag || 'latest' }}", true},
		{"v-${{ github.event.inputs.version }}", true},
		{"latest", false},
		{"${{ format('sha-{0}', github.sha) }}", false},
		{"${{ env.docker_metadata_output_version }}", false},
		{"${{ inputs.tag }}-$(date +%s)", false},
		{"$TAG", false},
	} {
		if got := chosenOutside(tc.tag); got != tc.want {
			t.Errorf("chosenOutside(%q) = %v, want %v", tc.tag, got, tc.want)
		}
	}
}
