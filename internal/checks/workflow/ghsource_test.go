package workflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/config"
)

// GitHub is not reachable here: these tests stand an httptest server in
// for api.github.com. It answers the contents API from a fixture's
// reusable-cache directory (owner/repo/REF/PATH), as GitHub would answer
// with the raw media type, and only to the expected token and headers.

const standInToken = "ghs_standInTokenValue0123456789"

func standInGetenv(token string) func(string) string {
	return func(k string) string {
		if k == DefaultTokenEnv {
			return token
		}
		return ""
	}
}

// contentsStandIn serves GET /repos/OWNER/REPO/contents/PATH?ref=REF from
// dir/OWNER/REPO/REF/PATH, and counts the requests.
func contentsStandIn(t *testing.T, dir string, hits *atomic.Int32) http.Handler {
	t.Helper()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if got := r.Header.Get("Authorization"); got != "Bearer "+standInToken {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`))
			return
		}
		if r.Header.Get("Accept") != "application/vnd.github.raw+json" || r.Header.Get("X-GitHub-Api-Version") == "" {
			http.Error(w, "missing media type or API version", http.StatusBadRequest)
			return
		}
		parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/repos/"), "/", 4)
		if len(parts) != 4 || parts[2] != "contents" {
			http.NotFound(w, r)
			return
		}
		data, err := os.ReadFile(filepath.Join(dir, parts[0], parts[1], r.URL.Query().Get("ref"), filepath.FromSlash(parts[3])))
		if err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"message":"Not Found","documentation_url":"https://docs.github.com/rest/repos/contents","status":"404"}`))
			return
		}
		w.Header().Set("Content-Type", "application/vnd.github.raw")
		w.Write(data)
	})
}

// TestGitHubSourceJudgedStandIn: a remote signer read through the
// contents API is judged exactly as when read from the cache — GO when
// its own job scans first (pinned to a commit), NO-GO when it does not
// (read at a mutable tag, which the evidence records) — and what was read
// is recorded with its ref and sha256.
func TestGitHubSourceJudgedStandIn(t *testing.T) {
	for _, tc := range []struct {
		fixture   string
		rules     []string
		decisions []string
		reads     []RemoteRead
	}{
		{
			fixture: "remote-reusable-cache-gated", decisions: []string{"gated"},
			reads: []RemoteRead{{Uses: "acme/release-workflows/.github/workflows/scan-and-sign.yml@9b2f4c6e8a0d1f3b5c7e9a1b3d5f7a9c1e3b5d7f",
				Ref: "9b2f4c6e8a0d1f3b5c7e9a1b3d5f7a9c1e3b5d7f", Pinned: true}},
		},
		{
			fixture:   "remote-reusable-cache",
			rules:     []string{"WF-SIGN-BEFORE-SCAN", "WF-SIGN-BEFORE-SCAN", "WF-SIGNING-NOT-VISIBLE", "WF-UNRESOLVED-REUSABLE"},
			decisions: []string{"not-gated", "not-gated"},
			reads: []RemoteRead{
				{Uses: "acme/release-workflows/.github/workflows/sign-image.yml@v2", Ref: "v2"},
				{Uses: "acme/release-workflows/.github/workflows/verify.yml@v2", Ref: "v2"},
				{Uses: "acme/release-workflows/.github/workflows/publish-chart.yml@v3", Ref: "v3"},
			},
		},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			root := filepath.Join("testdata", "cases", tc.fixture)
			cache := filepath.Join(root, "reusable-cache")
			var hits atomic.Int32
			srv := httptest.NewServer(contentsStandIn(t, cache, &hits))
			defer srv.Close()
			src := GitHubSource{API: srv.URL, Getenv: standInGetenv(standInToken), Client: srv.Client()}
			rep, err := AnalyzeWith(context.Background(), Config{Root: root, Dir: DefaultDir, Actionlint: true, Reusable: src})
			if err != nil {
				t.Fatal(err)
			}
			checkVerdicts(t, rep, tc.rules, tc.decisions)
			if hits.Load() == 0 {
				t.Error("the stand-in API was never asked")
			}
			// What was read, where from, and its sha256 (of the cache file it
			// was served from); a file not served has an error instead.
			for i := range tc.reads {
				w := &tc.reads[i]
				rw, _ := parseRemoteWorkflow(w.Uses)
				w.From = "GitHub API " + srv.URL + "/repos/" + rw.Owner + "/" + rw.Repo + "/contents/" + rw.Path + "?ref=" + rw.Ref
				data, err := os.ReadFile(filepath.Join(cache, rw.Owner, rw.Repo, rw.Ref, filepath.FromSlash(rw.Path)))
				if err != nil {
					w.Error = "acme/release-workflows has no " + rw.Path + " at ref " + rw.Ref + ", or the token in GITHUB_TOKEN cannot see the repository (HTTP 404: Not Found); check the uses: line and the token's access"
					continue
				}
				sum := sha256.Sum256(data)
				w.SHA256, w.Bytes = hex.EncodeToString(sum[:]), len(data)
			}
			if diff := cmp.Diff(tc.reads, rep.Remote); diff != "" {
				t.Errorf("remote reads (-want +got):\n%s", diff)
			}
			assertNoToken(t, rep)
		})
	}
}

// assertNoToken: the token appears nowhere in the findings or facts.
func assertNoToken(t *testing.T, rep Report) {
	t.Helper()
	data, err := json.Marshal(Result(rep))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), standInToken) {
		t.Errorf("the token leaked into the result: %s", data)
	}
}

// TestGitHubSourceFailuresStandIn: every answer that is not the file
// becomes the reason the workflow "could not be read", saying what to do,
// and the call — handed id-token: write — then fails closed
// (WF-SIGN-BEFORE-SCAN), never GO.
func TestGitHubSourceFailuresStandIn(t *testing.T) {
	const ref = "9b2f4c6e8a0d1f3b5c7e9a1b3d5f7a9c1e3b5d7f"
	jsonErr := func(status int, msg string, hdr map[string]string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			for k, v := range hdr {
				w.Header().Set(k, v)
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(status)
			w.Write([]byte(`{"message":"` + msg + `","documentation_url":"https://docs.github.com/rest"}`))
		}
	}
	raw := func(ct, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ct)
			w.Write([]byte(body))
		}
	}
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		token   string
		src     func(*GitHubSource)
		want    []string // in the reason
	}{
		{name: "token missing", handler: raw("application/vnd.github.raw", "on: push"), token: "",
			want: []string{"GITHUB_TOKEN is not set", "reusable_cache"}},
		{name: "token missing, named variable", handler: raw("application/vnd.github.raw", "on: push"), token: "",
			src: func(s *GitHubSource) { s.TokenEnv = "RELEASE_WF_TOKEN" }, want: []string{"RELEASE_WF_TOKEN is not set"}},
		{name: "401 bad credentials", handler: jsonErr(401, "Bad credentials", nil),
			want: []string{"refused the token in GITHUB_TOKEN", "HTTP 401: Bad credentials"}},
		{name: "403 forbidden", handler: jsonErr(403, "Resource not accessible by integration", nil),
			want: []string{"may not read acme/release-workflows", "contents: read"}},
		{name: "403 rate limited", handler: jsonErr(403, "API rate limit exceeded", map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1796562000"}),
			want: []string{"rate limit was reached", "resets at 2026-12-06T13:00:00Z"}},
		{name: "429 secondary rate limit", handler: jsonErr(429, "You have exceeded a secondary rate limit", map[string]string{"Retry-After": "60"}),
			want: []string{"rate limit was reached", "after 60 seconds"}},
		{name: "404", handler: jsonErr(404, "Not Found", nil),
			want: []string{"has no .github/workflows/scan-and-sign.yml at ref " + ref}},
		{name: "502", handler: jsonErr(502, "Server Error", nil), want: []string{"the GitHub API failed (HTTP 502: Server Error)"}},
		{name: "503 without a JSON body", handler: func(w http.ResponseWriter, r *http.Request) { http.Error(w, "<html>down</html>", 503) },
			want: []string{"the GitHub API failed (HTTP 503)"}},
		{name: "directory listing", handler: raw("application/json; charset=utf-8", `[{"type":"file","name":"a.yml","path":".github/workflows/a.yml","sha":"abc"}]`),
			want: []string{"directory listing"}},
		{name: "submodule object under the raw media type", handler: raw("application/vnd.github.raw", `{"type":"submodule","sha":"abc","submodule_git_url":"git://x"}`),
			want: []string{"directory listing or a submodule"}},
		{name: "too large", handler: raw("application/vnd.github.raw", strings.Repeat("#", 2048)),
			src: func(s *GitHubSource) { s.MaxBytes = 1024 }, want: []string{"over the 1024-byte limit"}},
		{name: "malformed workflow", handler: raw("application/vnd.github.raw", "jobs: [unterminated"),
			want: []string{"cannot be analysed"}},
		{name: "unexpected status", handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotModified) },
			want: []string{"unexpected answer (HTTP 304)"}},
		{name: "no answer within the request timeout", handler: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			src: func(s *GitHubSource) { s.Timeout = time.Millisecond }, want: []string{"did not answer within 1ms"}},
		{name: "http to a non-loopback host", handler: raw("application/vnd.github.raw", "on: push"),
			src: func(s *GitHubSource) { s.API = "http://github.example.com/api/v3" }, want: []string{"must be https"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			token := standInToken
			if tc.name == "token missing" || strings.HasPrefix(tc.name, "token missing,") {
				token = tc.token
			}
			src := GitHubSource{API: srv.URL, Getenv: standInGetenv(token), Client: srv.Client()}
			if tc.src != nil {
				tc.src(&src)
			}
			rep, err := AnalyzeWith(context.Background(), Config{Root: filepath.Join("testdata", "cases", "remote-reusable-cache-gated"),
				Dir: DefaultDir, Reusable: src})
			if err != nil {
				t.Fatal(err)
			}
			var rules []string
			reason := ""
			for _, f := range rep.Findings {
				rules = append(rules, f.Rule)
				if f.Rule == "WF-UNRESOLVED-REUSABLE" {
					reason = f.Message
				}
			}
			sort.Strings(rules)
			if diff := cmp.Diff([]string{"WF-SIGN-BEFORE-SCAN", "WF-UNRESOLVED-REUSABLE"}, rules); diff != "" {
				t.Errorf("rules (-want +got):\n%s", diff)
			}
			for _, w := range tc.want {
				if !strings.Contains(reason, w) {
					t.Errorf("reason %q does not say %q", reason, w)
				}
			}
			if len(rep.Remote) != 1 || rep.Remote[0].Error == "" || rep.Remote[0].SHA256 != "" && !strings.Contains(rep.Remote[0].Error, "cannot be analysed") {
				t.Errorf("remote reads = %+v, want one failed read", rep.Remote)
			}
			assertNoToken(t, rep)
		})
	}
}

// TestGitHubSourceRedirectsStandIn: a redirect on the API's host (a
// renamed repository) is followed with the token; one to another host is
// not followed at all, so the token never reaches it.
func TestGitHubSourceRedirectsStandIn(t *testing.T) {
	r := RemoteWorkflow{Owner: "acme", Repo: "wf", Path: ".github/workflows/sign.yml", Ref: "v1"}
	var otherAuth atomic.Value
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		otherHits.Add(1)
		otherAuth.Store(req.Header.Get("Authorization"))
		w.Write([]byte("on: push\n"))
	}))
	defer other.Close()
	for _, tc := range []struct {
		name      string
		to        func(api string) string
		wantErr   string
		wantOther int32
	}{
		{name: "same host", to: func(api string) string { return api + "/repositories/42/contents/.github/workflows/sign.yml?ref=v1" }},
		{name: "another port", to: func(string) string { return other.URL + "/steal" },
			wantErr: "redirected to another host (" + strings.TrimPrefix(other.URL, "http://") + "), which was not followed"},
		{name: "another host name", to: func(string) string { return strings.Replace(other.URL, "127.0.0.1", "localhost", 1) + "/steal" },
			wantErr: "redirected to another host (" + strings.Replace(strings.TrimPrefix(other.URL, "http://"), "127.0.0.1", "localhost", 1) + "), which was not followed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			otherHits.Store(0)
			var api *httptest.Server
			api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				if req.Header.Get("Authorization") != "Bearer "+standInToken {
					http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
					return
				}
				if strings.HasPrefix(req.URL.Path, "/repositories/") {
					w.Write([]byte("on: push\n"))
					return
				}
				http.Redirect(w, req, tc.to(api.URL), http.StatusMovedPermanently)
			}))
			defer api.Close()
			src := GitHubSource{API: api.URL, Getenv: standInGetenv(standInToken), Client: api.Client()}
			data, _, err := src.ReadWorkflow(context.Background(), r)
			if tc.wantErr == "" {
				if err != nil || string(data) != "on: push\n" {
					t.Fatalf("ReadWorkflow = %q, %v; want the file", data, err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("ReadWorkflow error = %v; want %q", err, tc.wantErr)
			}
			if got := otherHits.Load(); got != tc.wantOther {
				t.Errorf("the other host was asked %d times, want %d", got, tc.wantOther)
			}
		})
	}
	// Go's own client, for comparison: it drops the token on a redirect to
	// another host name, but not to another port of the same name — which
	// is why the gate's own policy compares host and port, and refuses.
	for _, tc := range []struct {
		name, to string
		wantAuth bool
	}{
		{"another port", other.URL + "/steal", true},
		{"another host name", strings.Replace(other.URL, "127.0.0.1", "localhost", 1) + "/steal", false},
	} {
		t.Run("go client, "+tc.name, func(t *testing.T) {
			otherAuth.Store("")
			api := httptest.NewServer(http.RedirectHandler(tc.to, http.StatusFound))
			defer api.Close()
			req, _ := http.NewRequest(http.MethodGet, api.URL, nil)
			req.Header.Set("Authorization", "Bearer "+standInToken)
			resp, err := api.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got, _ := otherAuth.Load().(string); (got != "") != tc.wantAuth {
				t.Errorf("Go's client sent Authorization %q to %s; want sent = %v", got, tc.to, tc.wantAuth)
			}
		})
	}
}

// TestGitHubSourceUnreachableStandIn: an API nobody answers at is a reason,
// not a hang or a GO.
func TestGitHubSourceUnreachableStandIn(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	src := GitHubSource{API: url, Getenv: standInGetenv(standInToken)}
	_, from, err := src.ReadWorkflow(context.Background(), RemoteWorkflow{Owner: "acme", Repo: "wf", Path: ".github/workflows/s.yml", Ref: "v1"})
	if err == nil || !strings.Contains(err.Error(), "could not be reached") || strings.Contains(err.Error(), standInToken) {
		t.Errorf("error = %v; want could not be reached, without the token", err)
	}
	if want := "GitHub API " + url + "/repos/acme/wf/contents/.github/workflows/s.yml?ref=v1"; from != want {
		t.Errorf("from = %q, want %q", from, want)
	}
}

// TestGitHubSourceAPIBase: reusable_api, else GITHUB_API_URL (as Actions
// sets it on GHES), else api.github.com; path and ref are escaped.
func TestGitHubSourceAPIBase(t *testing.T) {
	r := RemoteWorkflow{Owner: "acme", Repo: "wf", Path: ".github/workflows/sign.yml", Ref: "release/v2+x"}
	for _, tc := range []struct {
		name, api, envAPI, want string
	}{
		{"default", "", "", "GitHub API https://api.github.com/repos/acme/wf/contents/.github/workflows/sign.yml?ref=release%2Fv2%2Bx"},
		{"GITHUB_API_URL", "", "https://ghe.example.com/api/v3", "GitHub API https://ghe.example.com/api/v3/repos/acme/wf/contents/.github/workflows/sign.yml?ref=release%2Fv2%2Bx"},
		{"reusable_api wins", "https://ghe.example.com/api/v3/", "https://other.example.com", "GitHub API https://ghe.example.com/api/v3/repos/acme/wf/contents/.github/workflows/sign.yml?ref=release%2Fv2%2Bx"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// No token: nothing is sent, but where it would go is known.
			src := GitHubSource{API: tc.api, Getenv: func(k string) string {
				if k == "GITHUB_API_URL" {
					return tc.envAPI
				}
				return ""
			}}
			_, from, err := src.ReadWorkflow(context.Background(), r)
			if err == nil || !strings.Contains(err.Error(), "GITHUB_TOKEN is not set") {
				t.Errorf("error = %v, want token not set", err)
			}
			if from != tc.want {
				t.Errorf("from = %q, want %q", from, tc.want)
			}
		})
	}
}

// TestSourcesCacheFirstStandIn: the cache answers before the API; a cache miss
// asks the API; a broken cache entry is reported, not replaced.
func TestSourcesCacheFirstStandIn(t *testing.T) {
	cache := t.TempDir()
	write := func(rel, body string) {
		p := filepath.Join(cache, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("acme/wf/v1/.github/workflows/cached.yml", "# from the cache\n")
	write("acme/wf/v1/.github/workflows/big.yml", strings.Repeat("#", 100))
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("# from the API\n"))
	}))
	defer srv.Close()
	src := Sources{DirSource{Dir: cache, MaxBytes: 50}, GitHubSource{API: srv.URL, Getenv: standInGetenv(standInToken), Client: srv.Client()}}
	for _, tc := range []struct {
		file, want, wantErr string
		wantHits            int32
	}{
		{file: "cached.yml", want: "# from the cache\n"},
		{file: "missing.yml", want: "# from the API\n", wantHits: 1},
		{file: "big.yml", wantErr: "over the 50-byte limit"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			hits.Store(0)
			data, from, err := src.ReadWorkflow(context.Background(), RemoteWorkflow{Owner: "acme", Repo: "wf", Path: path.Join(".github/workflows", tc.file), Ref: "v1"})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error = %v, want %q", err, tc.wantErr)
				}
			} else if err != nil || string(data) != tc.want {
				t.Errorf("ReadWorkflow = %q (from %s), %v; want %q", data, from, err, tc.want)
			}
			if tc.file == "cached.yml" && from != "reusable_cache acme/wf/v1/.github/workflows/cached.yml" {
				// Where in the cache, never the machine's path to it.
				t.Errorf("from = %q", from)
			}
			if hits.Load() != tc.wantHits {
				t.Errorf("API asked %d times, want %d", hits.Load(), tc.wantHits)
			}
		})
	}
	// A miss everywhere says both.
	srv404 := httptest.NewServer(http.NotFoundHandler())
	defer srv404.Close()
	src[1] = GitHubSource{API: srv404.URL, Getenv: standInGetenv(standInToken), Client: srv404.Client()}
	_, _, err := src.ReadWorkflow(context.Background(), RemoteWorkflow{Owner: "acme", Repo: "wf", Path: ".github/workflows/missing.yml", Ref: "v1"})
	if err == nil || !strings.Contains(err.Error(), "not in the reusable-workflow cache") || !strings.Contains(err.Error(), "HTTP 404") {
		t.Errorf("error = %v, want the cache miss and the 404", err)
	}
}

func TestNotFile(t *testing.T) {
	for _, tc := range []struct {
		ct, body string
		want     bool
	}{
		{"application/vnd.github.raw", "name: x\non: push\n", false},
		{"text/plain; charset=utf-8", "name: x\n", false},
		{"application/json; charset=utf-8", "[]", true},
		{"application/vnd.github.raw", `[{"type":"dir","sha":"1","path":"x"}]`, true},
		{"application/vnd.github.raw", `{"type":"symlink","sha":"1","target":"x"}`, true},
		{"application/vnd.github.raw", `{"on":"push","jobs":{}}`, false}, // a workflow written as JSON
		{"application/vnd.github.raw", `[1, 2]`, false},
	} {
		if got := notFile(tc.ct, []byte(tc.body)); got != tc.want {
			t.Errorf("notFile(%q, %q) = %v, want %v", tc.ct, tc.body, got, tc.want)
		}
	}
}

func TestAPIErrorMessage(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"message":"Not Found","documentation_url":"x"}`, "Not Found"},
		{`{"message":"line\nbreak\u0007bell"}`, "line break bell"},
		{`<html>`, ""},
		{`{"message": 3}`, ""},
		{`{"message":"` + strings.Repeat("é", 300) + `"}`, strings.Repeat("é", maxAPIMessage) + "…"},
	} {
		if got := apiErrorMessage([]byte(tc.body)); got != tc.want {
			t.Errorf("apiErrorMessage(%q) = %q, want %q", tc.body, got, tc.want)
		}
	}
}

// FuzzAPIErrorMessage: whatever an API error body holds, the quoted
// message is bounded and has no control characters (it goes into a
// one-line reason).
func FuzzAPIErrorMessage(f *testing.F) {
	for _, s := range []string{`{"message":"Not Found"}`, `{"message":"a\nb"}`, `[]`, `{"message":"\u0000"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m := apiErrorMessage(body)
		if n := len([]rune(m)); n > maxAPIMessage+1 {
			t.Errorf("message of %d runes", n)
		}
		for _, c := range m {
			if c < 0x20 || c == 0x7f {
				t.Errorf("control character %U in %q", c, m)
			}
		}
		notFile("application/vnd.github.raw", body)
	})
}

// TestReusableSourceOptionStandIn: `reusable_source: github` in
// readiness.yaml reads a remote workflow through the (stand-in) API with
// the token from reusable_token_env, after the cache; the facts say what
// was read, from where, at which ref; bad settings are config errors.
func TestReusableSourceOptionStandIn(t *testing.T) {
	fixture := filepath.Join("testdata", "cases", "remote-reusable-cache")
	var hits atomic.Int32
	srv := httptest.NewServer(contentsStandIn(t, filepath.Join(fixture, "reusable-cache"), &hits))
	defer srv.Close()
	repoDir := t.TempDir()
	if err := os.CopyFS(repoDir, os.DirFS(filepath.Join(fixture, ".github"))); err != nil {
		t.Fatal(err)
	}
	// A cache holding only verify.yml@v2: the rest comes from the API.
	if err := os.CopyFS(filepath.Join(repoDir, "cache", "acme", "release-workflows", "v2"),
		os.DirFS(filepath.Join(fixture, "reusable-cache", "acme", "release-workflows", "v2"))); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(repoDir, "cache", "acme", "release-workflows", "v2", ".github", "workflows", "sign-image.yml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(repoDir, "workflows"), filepath.Join(repoDir, "wf")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("READINESS_TEST_WF_TOKEN", standInToken)
	spec := func(with string) config.CheckSpec {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(with), &n); err != nil {
			t.Fatal(err)
		}
		return config.CheckSpec{Name: "workflow", Type: Type, Line: 4, With: *n.Content[0]}
	}
	env := checks.Env{Dir: repoDir, Root: repoDir, ConfigFile: "readiness.yaml"}
	chk, err := fromSpec(env, spec("dir: wf\nreusable_cache: cache\nreusable_source: github\nreusable_api: "+srv.URL+"\nreusable_token_env: READINESS_TEST_WF_TOKEN"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := chk.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	type read struct {
		Uses, From string
		Mutable    bool
	}
	var got []read
	for _, m := range res.Facts["remote_workflows"].([]any) {
		m := m.(map[string]any)
		got = append(got, read{Uses: m["uses"].(string), From: strings.Fields(m["from"].(string))[0], Mutable: m["mutable_ref"] == true})
	}
	want := []read{
		{Uses: "acme/release-workflows/.github/workflows/sign-image.yml@v2", From: "GitHub", Mutable: true},
		{Uses: "acme/release-workflows/.github/workflows/verify.yml@v2", From: "reusable_cache", Mutable: true},
		{Uses: "acme/release-workflows/.github/workflows/publish-chart.yml@v3", From: "GitHub", Mutable: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("remote_workflows (-want +got):\n%s", diff)
	}
	if res.Status != checks.StatusFail {
		t.Errorf("status %s, want fail (sign-image.yml@v2 signs without a scan)", res.Status)
	}

	for _, tc := range []struct{ with, want string }{
		{"reusable_source: gitlab", `reusable_source: "gitlab" is not github`},
		{"reusable_api: https://ghe.example.com/api/v3", "need reusable_source: github"},
		{"reusable_source: github\nreusable_api: http://ghe.example.com/api/v3", "must be https"},
		{"reusable_source: github\nreusable_api: https://user:pw@ghe.example.com", "without credentials"},
		{"reusable_source: github\nreusable_token_env: 'GITHUB TOKEN'", "not an environment variable name"},
	} {
		t.Run(tc.with, func(t *testing.T) {
			_, err := fromSpec(env, spec(tc.with))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "readiness.yaml:") {
				t.Errorf("error = %v, want readiness.yaml:LINE … %q", err, tc.want)
			}
		})
	}
}

// TestGitHubSourceCheckEndsStandIn: when the check's own context ends
// while the API has not answered, the reason says the check ended, not
// that the API was slow.
func TestGitHubSourceCheckEndsStandIn(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cancel() // the check's deadline passes while the request is in flight
		<-r.Context().Done()
	}))
	defer srv.Close()
	src := GitHubSource{API: srv.URL, Getenv: standInGetenv(standInToken), Client: srv.Client()}
	_, _, err := src.ReadWorkflow(ctx, RemoteWorkflow{Owner: "acme", Repo: "wf", Path: ".github/workflows/s.yml", Ref: "v1"})
	if err == nil || !strings.Contains(err.Error(), "the check ended (context canceled)") {
		t.Errorf("error = %v; want the check ended", err)
	}
}
