package disclosure

import (
	"io/fs"
	"net/url"
	"path"
	"slices"
	"strings"
)

// webrootSkip are directories never searched for a web root's files:
// dependencies and build output hold other projects' keys.
var webrootSkip = []string{".git", "node_modules", "vendor", ".venv", "venv", "dist", "target", "__pycache__"}

// webrootDirs are the directory names a site's root is published from. A
// file found below anything else (testdata/, a fixture) is not the site's.
var webrootDirs = []string{"docs", "doc", "static", "public", "site", "_site", "www", "web", "website", "htdocs", "content", "assets", "src", "pages"}

// webroot reports whether dir (slash-separated) is made only of web root
// names: docs, website/static, docs/public …
func webroot(dir string) bool {
	for _, part := range strings.Split(dir, "/") {
		if !slices.Contains(webrootDirs, part) {
			return false
		}
	}
	return true
}

// maxWebrootWalk bounds the search on a large repository.
const maxWebrootWalk = 20000

// FileForURL finds the file in the repository fsys that a web URL serves,
// as security.txt's Encryption: field names a key on the project's own
// site: the file whose path ends with the URL's path, most often in a web
// root such as docs/ or static/ (docs/.well-known/pgp-key.txt for
// https://acme.io/.well-known/pgp-key.txt), never below testdata or a
// fixture (see webrootDirs). The shortest such path wins;
// "" when the URL is no http(s) URL with a file path, or maps to no file.
func FileForURL(fsys fs.FS, raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return ""
	}
	p := strings.TrimPrefix(path.Clean("/"+u.Path), "/")
	if p == "" || p == "." || strings.HasSuffix(u.Path, "/") {
		return ""
	}
	var found []string
	n := 0
	_ = fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if n++; n > maxWebrootWalk {
			return fs.SkipAll
		}
		if d.IsDir() {
			if name != "." && slices.Contains(webrootSkip, d.Name()) {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && (name == p || strings.HasSuffix(name, "/"+p) && webroot(strings.TrimSuffix(name, "/"+p))) {
			found = append(found, name)
		}
		return nil
	})
	if len(found) == 0 {
		return ""
	}
	slices.SortFunc(found, func(a, b string) int {
		if d := len(a) - len(b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return found[0]
}

// FindWebrootFile finds name (such as ".well-known/security.txt") at the
// repository root or below a web root (docs/, static/, public/ …): the
// shortest matching path, or "".
func FindWebrootFile(fsys fs.FS, name string) string {
	return FileForURL(fsys, "https://webroot.invalid/"+name)
}
