package scaffold

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// imageWorkflow is the part of a workflow that says which image it builds
// and pushes. Jobs' `services:` and `container:` are other projects'
// images that a job runs beside it, so they are not read at all.
type imageWorkflow struct {
	Env  map[string]string `yaml:"env"`
	Jobs map[string]struct {
		Env   map[string]string `yaml:"env"`
		Steps []struct {
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			With map[string]any    `yaml:"with"`
			Env  map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

var (
	// A registry reference: host with a dot or a port, then a path.
	pushRefRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[a-z0-9.-]+(\.[a-z0-9-]+|:[0-9]+)/[a-z0-9._/-]+(:[A-Za-z0-9._-]+)?$`)
	})
	exprRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}|\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)
	})
)

// guessImage finds the image the repository releases: what a release
// workflow pushes (docker/build-push-action's tags, docker/podman push,
// docker buildx --push, ko with KO_DOCKER_REPO), else goreleaser's dockers.
// The source names the file it was read from. With no reference found but
// a Dockerfile somewhere below the root, the image is "" and the source is
// that Dockerfile: the proposal then asks for the name, guessing none.
func guessImage(fsys fs.FS, workflows []string) (image, source string) {
	for _, w := range workflows {
		if ref := pushedImage(readSmall(fsys, w)); ref != "" {
			return ref, w
		}
	}
	for _, g := range []string{".goreleaser.yaml", ".goreleaser.yml", "goreleaser.yaml", "goreleaser.yml"} {
		if ref := goreleaserImage(readSmall(fsys, g)); ref != "" {
			return ref, g
		}
	}
	if f := findDockerfile(fsys); f != "" {
		return "", f
	}
	return "", ""
}

// pushedImage is the first image reference a workflow pushes, with the
// workflow's and job's env: values expanded; "" when it names none in full.
func pushedImage(data []byte) string {
	var wf imageWorkflow
	if yaml.Unmarshal(data, &wf) != nil {
		return ""
	}
	names := make([]string, 0, len(wf.Jobs))
	for n := range wf.Jobs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		j := wf.Jobs[n]
		for _, s := range j.Steps {
			env := map[string]string{}
			for _, m := range []map[string]string{wf.Env, j.Env, s.Env} {
				for k, v := range m {
					env[k] = v
				}
			}
			var cands []string
			switch {
			case strings.HasPrefix(s.Uses, "docker/build-push-action@"):
				if fmt.Sprint(s.With["push"]) == "false" {
					continue
				}
				tags, _ := s.With["tags"].(string)
				for _, tag := range strings.FieldsFunc(tags, func(r rune) bool { return r == ',' || r == '\n' }) {
					cands = append(cands, strings.TrimSpace(tag))
				}
			case strings.HasPrefix(s.Uses, "ko-build/setup-ko@"):
			default:
				cands = runPushes(s.Run, env)
			}
			for _, c := range cands {
				if ref := expand(c, env); pushRefRE().MatchString(ref) {
					return ref
				}
			}
		}
	}
	return ""
}

// runPushes lists the references a shell step pushes.
func runPushes(run string, env map[string]string) []string {
	var out []string
	for _, line := range strings.Split(strings.ReplaceAll(run, "\\\n", " "), "\n") {
		f := strings.Fields(line)
		for i := 0; i < len(f); i++ {
			switch {
			case (f[i] == "docker" || f[i] == "podman") && i+2 < len(f) && f[i+1] == "push":
				out = append(out, f[i+2])
			case f[i] == "--push" || f[i] == "--output=type=registry":
				// docker buildx build … -t REF --push
				for k := 0; k+1 < len(f); k++ {
					if f[k] == "-t" || f[k] == "--tag" {
						out = append(out, f[k+1])
					}
				}
			case f[i] == "cosign" && i+1 < len(f) && f[i+1] == "sign":
				// What a release signs, it pushed: REPO@${{ digest }}.
				for _, a := range f[i+2:] {
					if repo, _, ok := strings.Cut(strings.Trim(a, `"'`), "@"); ok && !strings.HasPrefix(repo, "-") {
						out = append(out, repo+":latest")
					}
				}
			case f[i] == "ko" && i+1 < len(f) && (f[i+1] == "build" || f[i+1] == "publish" || f[i+1] == "resolve"):
				if repo := env["KO_DOCKER_REPO"]; repo != "" {
					out = append(out, repo+":latest")
				}
			}
		}
	}
	for i, r := range out {
		out[i] = strings.Trim(r, `"'`)
	}
	return out
}

// expand substitutes ${{ env.X }}, $X and ${X} from env; a value it cannot
// resolve stays, and the reference then does not look like one.
func expand(s string, env map[string]string) string {
	return exprRE().ReplaceAllStringFunc(s, func(m string) string {
		sub := exprRE().FindStringSubmatch(m)
		name := sub[1] + sub[2]
		if v, ok := env[name]; ok && !strings.Contains(v, "${{") {
			return v
		}
		return m
	})
}

// goreleaserImage is the repository of goreleaser's first docker image
// template, tagged latest ({{ .Version }} cannot be known here).
func goreleaserImage(data []byte) string {
	var g struct {
		Dockers []struct {
			ImageTemplates []string `yaml:"image_templates"`
		} `yaml:"dockers"`
		DockersV2 []struct {
			Images []string `yaml:"images"`
		} `yaml:"dockers_v2"`
	}
	if data == nil || yaml.Unmarshal(data, &g) != nil {
		return ""
	}
	var tmpls []string
	for _, d := range g.Dockers {
		tmpls = append(tmpls, d.ImageTemplates...)
	}
	for _, d := range g.DockersV2 {
		tmpls = append(tmpls, d.Images...)
	}
	for _, t := range tmpls {
		repo, _, _ := strings.Cut(t, ":{{")
		if pushRefRE().MatchString(repo) && !strings.Contains(repo, "{{") {
			return repo + ":latest"
		}
	}
	return ""
}

// findDockerfile is the Dockerfile nearest the root (Dockerfile,
// Containerfile, *.Dockerfile), outside dependencies and test data.
func findDockerfile(fsys fs.FS) string {
	var found []string
	n := 0
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if n++; n > maxWalk {
			return fs.SkipAll
		}
		if d.IsDir() {
			if p != "." && (slices.Contains(skipDirs, d.Name()) || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && d.Name() != ".github") {
				return fs.SkipDir
			}
			return nil
		}
		name := path.Base(p)
		if name == "Dockerfile" || name == "Containerfile" || strings.HasSuffix(name, ".Dockerfile") || strings.HasPrefix(name, "Dockerfile.") {
			found = append(found, p)
		}
		return nil
	})
	slices.SortFunc(found, func(a, b string) int {
		if d := strings.Count(a, "/") - strings.Count(b, "/"); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	if len(found) == 0 {
		return ""
	}
	return found[0]
}
