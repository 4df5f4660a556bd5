package buildtool

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func reader(files map[string]string) ReadFile {
	fsys := fstest.MapFS{}
	for k, v := range files {
		fsys[k] = &fstest.MapFile{Data: []byte(v)}
	}
	return func(p string) ([]byte, error) { return fs.ReadFile(fsys, p) }
}

func texts(ls []Line) []string {
	var out []string
	for _, l := range ls {
		s := l.Text
		if l.IgnoreErr {
			s = "-" + s
		}
		out = append(out, fmt.Sprintf("%s:%d %s", l.File, l.Line, s))
	}
	return out
}

func TestMakefile(t *testing.T) {
	files := map[string]string{
		"Makefile": "include mk/vars.mk\n" +
			"REGISTRY ?= ghcr.io\nIMAGE := $(REGISTRY)/acme/api\nTAG ?= dev\nSIGN_FLAGS = --yes\n" +
			"COSIGN = $(shell which cosign)\n\n" +
			".PHONY: release\nrelease: scan sign ## build, scan, sign\n\n" +
			"build:\n\t@docker build -t $(IMAGE):$(TAG) .\n" +
			"scan: build\n\t-trivy image --exit-code 1 $(IMAGE):$(TAG) \\\n\t  --severity HIGH,CRITICAL\n" +
			"sign:\n\tcosign sign $(SIGN_FLAGS) $(IMAGE):$(TAG) $${DIGEST} $(UNSET)\n\t$(MAKE) notify\n" +
			"notify: ; echo done\n" +
			"image-%:\n\tdocker push $(IMAGE)-$*:$(TAG)\n",
		"mk/vars.mk": "REGISTRY = registry.example.com\n",
	}
	m, err := ParseMakefile("Makefile", reader(files))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := m.Recipe("release", map[string]string{"TAG": "${{ github.ref_name }}"})
	if !ok {
		t.Fatal("release not found")
	}
	want := []string{
		"Makefile:12 docker build -t registry.example.com/acme/api:${{ github.ref_name }} .",
		"Makefile:14 -trivy image --exit-code 1 registry.example.com/acme/api:${{ github.ref_name }} \\\n  --severity HIGH,CRITICAL",
		"Makefile:17 cosign sign --yes registry.example.com/acme/api:${{ github.ref_name }} ${DIGEST} ${UNSET}",
		"Makefile:18 make notify",
	}
	if diff := cmp.Diff(want, texts(got)); diff != "" {
		t.Errorf("release (-want +got):\n%s", diff)
	}
	if got, _ := m.Recipe("image-web", nil); len(got) != 1 || got[0].Text != "docker push registry.example.com/acme/api-web:dev" {
		t.Errorf("pattern rule: %q", texts(got))
	}
	if _, ok := m.Recipe("missing", nil); ok {
		t.Error("a missing target was found")
	}
	if m.Default() != "release" {
		t.Errorf("default target %q", m.Default())
	}
}

func TestMakefileShellFunction(t *testing.T) {
	m, err := ParseMakefile("Makefile", reader(map[string]string{"Makefile": "x:\n\techo $(shell cosign sign a)\n"}))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := m.Recipe("x", nil)
	if len(got) != 1 || got[0].Text != "echo $(cosign sign a)" {
		t.Errorf("$(shell …) is not turned into a command substitution: %q", texts(got))
	}
}

func TestTaskfileJustfilePackage(t *testing.T) {
	tf, err := ParseTaskfile("Taskfile.yml", []byte("version: '3'\nvars:\n  IMG: ghcr.io/a/b\ntasks:\n  release:\n    deps: [build]\n    cmds:\n      - task: sign\n      - cmd: echo done\n        ignore_error: true\n  build:\n    cmds:\n      - docker build -t {{.IMG}} .\n  sign:\n    cmds:\n      - cosign sign {{.IMG}} {{.OTHER}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := tf.Commands("release")
	want := []string{"Taskfile.yml:13 docker build -t ghcr.io/a/b .", "Taskfile.yml:16 cosign sign ghcr.io/a/b ${OTHER}", "Taskfile.yml:9 -echo done"}
	if diff := cmp.Diff(want, texts(got)); !ok || diff != "" {
		t.Errorf("task release (-want +got):\n%s", diff)
	}
	jf := ParseJustfile("justfile", []byte("img := \"ghcr.io/a/b\"\n\nbuild:\n    docker build -t {{img}} .\n\n# release it\nrelease tag=\"x\": build\n    @cosign sign {{img}}\n"))
	got, ok = jf.Commands("release")
	want = []string{"justfile:4 docker build -t ghcr.io/a/b .", "justfile:8 cosign sign ghcr.io/a/b"}
	if diff := cmp.Diff(want, texts(got)); !ok || diff != "" {
		t.Errorf("just release (-want +got):\n%s", diff)
	}
	got, ok, err = PackageScripts("package.json", []byte(`{"scripts": {"prerelease": "npm test", "release": "cosign sign x"}}`), "release")
	if err != nil || !ok || len(got) != 2 || got[1].Text != "cosign sign x" {
		t.Errorf("npm run release: %q %v %v", texts(got), ok, err)
	}
}

// FuzzMakefile reads arbitrary Makefiles and builds every target: never
// a panic, never unbounded.
func FuzzMakefile(f *testing.F) {
	f.Add("A = $(B)\nB = $(A)\nall: a\na: all\n\t$(A) $$x\n")
	f.Add("include Makefile\nx:\n\tcosign sign $(shell echo $(IMG))\n%.o: %.c\n\t$(CC) $<\n")
	f.Add("define SIGN\ncosign sign $(1)\nendef\nrel:\n\t$(call SIGN,img)\n")
	f.Add("t: ; echo $(\nifeq ($(X),1)\n\t-a\nelse\n\t@+b\nendif\n")
	f.Fuzz(func(t *testing.T, src string) {
		m, err := ParseMakefile("Makefile", reader(map[string]string{"Makefile": src}))
		if err != nil {
			return
		}
		for _, tg := range append(m.Targets(), m.Default(), "x.o") {
			lines, _ := m.Recipe(tg, map[string]string{"V": "$(V)"})
			for _, l := range lines {
				if l.Line < 1 || l.Line > strings.Count(src, "\n")+1 {
					t.Fatalf("line %d outside the file", l.Line)
				}
			}
		}
	})
}

// TestMakefileExpansionBounded: self-doubling variables stay bounded.
func TestMakefileExpansionBounded(t *testing.T) {
	m, err := ParseMakefile("Makefile", reader(map[string]string{"Makefile": "A = $(A)$(A)$(A)\nx:\n\techo $(A)\n"}))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := m.Recipe("x", nil)
	if len(got) != 1 || len(got[0].Text) > 2*maxBytes {
		t.Fatalf("expansion not bounded: %d lines", len(got))
	}
}

// TestTaskfileShorthand: a task written as a list of commands or one
// string (goreleaser's Taskfile does this) is read, not a parse error.
func TestTaskfileShorthand(t *testing.T) {
	tf, err := ParseTaskfile("Taskfile.yml", []byte("version: '3'\ntasks:\n  fuzz:\n    desc: Run fuzz tests\n  cmds:\n    - task: sign\n  sign: cosign sign ghcr.io/a/b\n  release:\n    cmds:\n      - task: cmds\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := tf.Commands("release")
	if want := []string{"Taskfile.yml:7 cosign sign ghcr.io/a/b"}; !ok || !cmp.Equal(want, texts(got)) {
		t.Errorf("task release: %q, want %q", texts(got), want)
	}
}

// TestMakeFunctions: make's own functions are evaluated by the make
// reader, not handed to the shell as $(…) command substitutions (where
// `$(filter …)` would be a command named filter that "may sign"); what
// the file does not show is a value (${MAKE_COMPUTED}) that keeps the
// commands make runs while computing it.
func TestMakeFunctions(t *testing.T) {
	const vars = "IMG := ghcr.io/acme/api\nTAGS = v1 latest\nEMPTY =\nSRC = a.go b.go c.txt\n" +
		"BUILD_WITH ?= ko\nKO_REGISTRY := ko.local\nDOCKER_REGISTRY := docker.local\n" +
		"SIGN = cosign sign --yes $(1)\nGIT_SHA := $(shell git rev-parse HEAD)\nNOW != date +%s\nLATER := $(GIT_SHA)\n"
	for _, tc := range []struct{ recipe, want string }{
		{"echo $(filter %.go,$(SRC))", "echo a.go b.go"},
		{"echo $(filter-out %.go,$(SRC))", "echo c.txt"},
		{"echo $(patsubst %.go,%.o,$(SRC))", "echo a.o b.o c.txt"},
		{"echo $(subst ghcr.io,docker.io,$(IMG))", "echo docker.io/acme/api"},
		{"docker push $(addprefix $(IMG):,$(TAGS))", "docker push ghcr.io/acme/api:v1 ghcr.io/acme/api:latest"},
		{"echo $(firstword $(TAGS)) $(lastword $(TAGS)) $(words $(TAGS)) $(word 2,$(TAGS))", "echo v1 latest 2 latest"},
		{"echo $(sort b a b) $(strip  x   y ) $(notdir cmd/api/main.go) $(dir cmd/api/main.go)", "echo a b x y main.go cmd/api/"},
		{"$(if $(IMG),cosign sign $(IMG),echo none)", "cosign sign ghcr.io/acme/api"},
		{"$(if $(EMPTY),cosign sign $(IMG),echo none)", "echo none"},
		{"echo $(or $(EMPTY),$(IMG)) $(and $(IMG),yes)", "echo ghcr.io/acme/api yes"},
		{"$(call SIGN,$(IMG))", "cosign sign --yes ghcr.io/acme/api"},
		{"$(foreach t,$(TAGS),docker push $(IMG):$(t);)", "docker push ghcr.io/acme/api:v1; docker push ghcr.io/acme/api:latest;"},
		{"$(info building)echo $(warning careful)done", "echo done"},
		// Their text is expanded before they print: its commands run.
		{"$(error $(shell cosign sign x))echo", "$(cosign sign x)echo"},
		// Computed names: resolved when the file shows them…
		{"echo $($(shell echo KO)_REGISTRY) $($(BUILD_WITH:ko=KO)_REGISTRY)", "echo ${MAKE_COMPUTED}$(echo KO) ${MAKE_COMPUTED}"},
		{"echo $($(BUILD_WITH)_X)", "echo ${ko_X}"}, // a known name not set: the environment
		// …and a value, not a command, when it is not (kyverno's Makefile).
		{"helm install --set registry=$($(shell echo $(BUILD_WITH) | tr '[:lower:]' '[:upper:]')_REGISTRY)", "helm install --set registry=${MAKE_COMPUTED}$(echo ko | tr '[:lower:]' '[:upper:]')"},
		{"echo $(wildcard *.go)", "echo ${MAKE_COMPUTED}"},
		{"echo $(if $(UNSET),a,b)", "echo ${MAKE_COMPUTED}"},
		{"$(if $(UNSET),$(shell cosign sign x))", "${MAKE_COMPUTED}$(cosign sign x)"},
		// := values are expanded once: $(shell …) stays the command it was.
		{"echo $(GIT_SHA) $(LATER) $(NOW)", "echo $(git rev-parse HEAD) $(git rev-parse HEAD) $(date +%s)"},
		// Not a make function: shown to the shell as written (fail closed).
		{"echo $(cosign sign x)", "echo $(cosign sign x)"},
	} {
		t.Run(tc.recipe, func(t *testing.T) {
			m, err := ParseMakefile("Makefile", reader(map[string]string{"Makefile": vars + "x:\n\t" + tc.recipe + "\n"}))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := m.Recipe("x", nil)
			if len(got) != 1 || got[0].Text != tc.want {
				t.Errorf("got %q, want %q", texts(got), tc.want)
			}
		})
	}
}

// TestMakePrerequisiteFunctions: a prerequisite list is split outside
// $(…), so `$(addprefix build-,$(ARCH))` names build-amd64 build-arm64
// (external-secrets' docker.build), not "$(addprefix" and "build-,…)".
func TestMakePrerequisiteFunctions(t *testing.T) {
	src := "ARCH ?= amd64 arm64\nNONE :=\nimage: $(addprefix build-,$(ARCH)) | $(if $(NONE),x,setup)\n\tdocker build .\nbuild-%:\n\tgo build -o bin/$* .\nsetup:\n\techo setup\n"
	m, err := ParseMakefile("Makefile", reader(map[string]string{"Makefile": src}))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := m.Recipe("image", map[string]string{"ARCH": "amd64"})
	want := []string{"Makefile:6 go build -o bin/amd64 .", "Makefile:8 echo setup", "Makefile:4 docker build ."}
	if diff := cmp.Diff(want, texts(got)); diff != "" {
		t.Errorf("make image (-want +got):\n%s", diff)
	}
}
