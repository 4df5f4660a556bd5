package steps

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/checks/workflow/shell"
)

func TestGithubFileWrite(t *testing.T) {
	id := func(s string) string { return s }
	for _, tc := range []struct {
		script string
		want   ghWrite
		ok     bool
	}{
		{`echo "A=1" >> "$GITHUB_ENV"`, ghWrite{env: true, vals: [][2]string{{"A", "1"}}}, true},
		{`printf 'A=%s\nB=%s\n' x y >> $GITHUB_OUTPUT`, ghWrite{vals: [][2]string{{"A", "x"}, {"B", "y"}}}, true},
		{`printf "$FMT" x >> $GITHUB_ENV`, ghWrite{env: true, all: true}, true},
		{`echo "$line" >> $GITHUB_ENV`, ghWrite{env: true, all: true}, true},
		{"cat >> $GITHUB_ENV <<EOF\nA=1\nB<<X\nmulti\nX\nEOF", ghWrite{env: true, vals: [][2]string{{"A", "1"}, {"B", "multi"}}}, true},
		{`echo "B<<EOF" >> $GITHUB_ENV`, ghWrite{env: true, unknown: []string{"B"}}, true},
		{`echo "$x" | tee -a "$GITHUB_ENV"`, ghWrite{env: true, all: true}, true},
		{`echo "A=1" >> out.txt`, ghWrite{}, false},
		{"{\n  echo \"A=1\"\n  echo \"B=2\"\n} >> \"$GITHUB_ENV\"", ghWrite{env: true, vals: [][2]string{{"B", "2"}}}, true},
		{`for n in a b; do echo "X_$n=1"; done >> $GITHUB_OUTPUT`, ghWrite{all: true}, true}, // which names: not visible
		{`{ echo "A=1" > /tmp/log; } >> $GITHUB_ENV`, ghWrite{}, false},
	} {
		sh := shell.Parse(tc.script, true, false)
		var got ghWrite
		ok := false
		for i := range sh.Cmds {
			if w, found := githubFileWrite(&sh.Cmds[i], id); found {
				got, ok = w, true
			}
		}
		if ok != tc.ok {
			t.Errorf("%q: ok = %v, want %v", tc.script, ok, tc.ok)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(ghWrite{})); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.script, diff)
		}
	}
}

// FuzzGithubFileWrite: whatever a step writes, reading it does not fault.
func FuzzGithubFileWrite(f *testing.F) {
	for _, s := range []string{"echo \"A=1\" >> $GITHUB_ENV", "printf 'A=%s%%\\n' x >> $GITHUB_OUTPUT", "cat >> $GITHUB_ENV <<E\nA<<X\nv\nE"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, script string) {
		sh := shell.Parse(script, true, false)
		for i := range sh.Cmds {
			_, _ = githubFileWrite(&sh.Cmds[i], func(s string) string { return s })
		}
	})
}
