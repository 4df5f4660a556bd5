package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/readiness-dev/readiness/internal/checks/workflow/steps"
)

// DefaultGitHubAPI is the REST API of github.com.
const DefaultGitHubAPI = "https://api.github.com"

// DefaultTokenEnv names the variable the GitHub token is read from.
const DefaultTokenEnv = "GITHUB_TOKEN"

// defaultRequestTimeout bounds one contents request under the check's
// context, so that one slow answer cannot use the whole check's time.
const defaultRequestTimeout = 30 * time.Second

// GitHubSource reads reusable workflows of other repositories through the
// GitHub REST contents API, at the ref the call pins:
// GET {API}/repos/{owner}/{repo}/contents/{path}?ref={ref}, raw media type.
// Every failure is an error whose text is one sentence saying what to do;
// the gate then treats the workflow as unreadable (and fails closed when
// it is handed signing capability).
type GitHubSource struct {
	// API is the REST API base: https://api.github.com, or a GitHub
	// Enterprise Server's https://HOST/api/v3. "" means $GITHUB_API_URL
	// (which Actions sets) when set, else DefaultGitHubAPI.
	API string
	// TokenEnv names the environment variable holding the token
	// (DefaultTokenEnv when ""). The token is sent only to API's host and
	// never appears in evidence or errors.
	TokenEnv string
	// Getenv reads TokenEnv and GITHUB_API_URL; os.Getenv when nil.
	Getenv func(string) string
	// Client sends the requests (its transport is used; its redirect policy
	// is replaced by one that stays on API's host). A new client when nil.
	Client *http.Client
	// MaxBytes bounds a file (DefaultMaxFileBytes when 0).
	MaxBytes int64
	// Timeout bounds one request (30s when 0).
	Timeout time.Duration
}

// ReadWorkflow implements WorkflowSource.
func (s GitHubSource) ReadWorkflow(ctx context.Context, r RemoteWorkflow) ([]byte, string, error) {
	getenv := s.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	base, err := s.apiBase(getenv)
	if err != nil {
		return nil, "", err
	}
	u := base.JoinPath("repos", r.Owner, r.Repo, "contents")
	u = u.JoinPath(strings.Split(r.Path, "/")...)
	u.RawQuery = url.Values{"ref": {r.Ref}}.Encode()
	from := "GitHub API " + u.String()
	env := s.TokenEnv
	if env == "" {
		env = DefaultTokenEnv
	}
	token := strings.TrimSpace(getenv(env))
	if token == "" {
		return nil, from, fmt.Errorf("the GitHub token variable %s is not set; set it to a token that can read %s/%s (in Actions: env: %s: ${{ github.token }}) or put the file in reusable_cache",
			env, r.Owner, r.Repo, env)
	}
	data, err := s.get(ctx, u, token, env, r)
	if err != nil {
		// Belt and braces: no path may carry the token into evidence.
		return nil, from, errors.New(strings.ReplaceAll(err.Error(), token, "[token]"))
	}
	return data, from, nil
}

// apiBase is the API URL to use: https, or http only to a loopback host
// (a token is never sent in clear over a network).
func (s GitHubSource) apiBase(getenv func(string) string) (*url.URL, error) {
	raw, what := s.API, "reusable_api"
	if raw == "" {
		if raw, what = getenv("GITHUB_API_URL"), "GITHUB_API_URL"; raw == "" {
			raw = DefaultGitHubAPI
		}
	}
	u, err := ParseAPIURL(raw)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %v", what, raw, err)
	}
	return u, nil
}

// ParseAPIURL checks a GitHub API base URL: absolute https, or http to a
// loopback host; no query, fragment or credentials.
func ParseAPIURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil {
		return nil, errors.New("is not a URL")
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("must be an absolute URL without credentials, query or fragment (https://api.github.com or https://HOST/api/v3)")
	}
	switch h := u.Hostname(); {
	case u.Scheme == "https":
	case u.Scheme == "http" && (h == "localhost" || h == "127.0.0.1" || h == "::1"):
	default:
		return nil, errors.New("must be https (http only to localhost), so that the token is not sent in clear")
	}
	return u, nil
}

// get sends one request and turns every answer that is not the file into
// an error saying why and what to do.
func (s GitHubSource) get(ctx context.Context, u *url.URL, token, env string, r RemoteWorkflow) ([]byte, error) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = defaultRequestTimeout
	}
	reqCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("build the request for %s: %v", u.Redacted(), err)
	}
	req.Header.Set("Accept", "application/vnd.github.raw+json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("User-Agent", "readiness-workflow-gate")
	resp, err := s.client(u.Host).Do(req)
	if err != nil {
		var off *offHostError
		if errors.As(err, &off) {
			return nil, off
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("the check ended (%v) before the GitHub API at %s answered; give the check more time, or put the file in reusable_cache", ctx.Err(), u.Host)
		}
		if reqCtx.Err() != nil {
			return nil, fmt.Errorf("the GitHub API at %s did not answer within %s; run again, or put the file in reusable_cache", u.Host, timeout)
		}
		return nil, fmt.Errorf("the GitHub API at %s could not be reached (%v); check reusable_api and the network, or put the file in reusable_cache", u.Host, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	limit := s.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxFileBytes
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("the GitHub API's answer was cut off (%v); run again", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(resp, body, env, r)
	}
	if int64(len(body)) > limit {
		return nil, &steps.TooLargeError{Size: int64(len(body)), Limit: limit}
	}
	if notFile(resp.Header.Get("Content-Type"), body) {
		return nil, fmt.Errorf("the GitHub API answered with a JSON description (a directory listing or a submodule), not the file's contents; the uses: path must name a workflow file")
	}
	return body, nil
}

// client is s.Client (or a new one) with a redirect policy that follows
// at most 5 redirects and none off the API's host: the token must not
// reach another host, and Go's own rule (it drops Authorization across
// domains) would still leave the file unread and the reason unclear.
func (s GitHubSource) client(host string) *http.Client {
	c := &http.Client{}
	if s.Client != nil {
		cp := *s.Client
		c = &cp
	}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != host || req.URL.Scheme != via[0].URL.Scheme {
			return &offHostError{to: req.URL.Host}
		}
		if len(via) >= 5 {
			return errors.New("more than 5 redirects")
		}
		return nil
	}
	return c
}

type offHostError struct{ to string }

func (e *offHostError) Error() string {
	return fmt.Sprintf("the GitHub API redirected to another host (%s), which was not followed so that the token is not sent there; put the file in reusable_cache", e.to)
}

// notFile: the contents API answers a directory (and, with the raw media
// type, a submodule) with JSON describing it instead of the file.
func notFile(contentType string, body []byte) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/json" {
		return true
	}
	var listing []struct {
		Type string `json:"type"`
		SHA  string `json:"sha"`
	}
	if json.Unmarshal(body, &listing) == nil && len(listing) > 0 && listing[0].Type != "" && listing[0].SHA != "" {
		return true
	}
	var obj struct {
		Type string `json:"type"`
		SHA  string `json:"sha"`
	}
	return json.Unmarshal(body, &obj) == nil && obj.Type != "" && obj.SHA != ""
}

// statusError says what a non-200 answer means for the reader.
func statusError(resp *http.Response, body []byte, env string, r RemoteWorkflow) error {
	msg := ""
	if m := apiErrorMessage(body); m != "" {
		msg = ": " + m
	}
	code := fmt.Sprintf("HTTP %d%s", resp.StatusCode, msg)
	repo := r.Owner + "/" + r.Repo
	switch st := resp.StatusCode; {
	case st == http.StatusTooManyRequests || st == http.StatusForbidden && (resp.Header.Get("X-RateLimit-Remaining") == "0" || resp.Header.Get("Retry-After") != ""):
		return fmt.Errorf("the GitHub API rate limit was reached (%s); %s, or put the file in reusable_cache", code, whenReset(resp.Header))
	case st == http.StatusUnauthorized:
		return fmt.Errorf("the GitHub API refused the token in %s (%s); set %s to a valid token", env, code, env)
	case st == http.StatusForbidden:
		return fmt.Errorf("the token in %s may not read %s (%s); give it contents: read on that repository", env, repo, code)
	case st == http.StatusNotFound:
		return fmt.Errorf("%s has no %s at ref %s, or the token in %s cannot see the repository (%s); check the uses: line and the token's access", repo, r.Path, r.Ref, env, code)
	case st >= 500:
		return fmt.Errorf("the GitHub API failed (%s); run again later, or put the file in reusable_cache", code)
	default:
		return fmt.Errorf("the GitHub API gave an unexpected answer (%s); put the file in reusable_cache", code)
	}
}

// whenReset reads GitHub's rate-limit headers: Retry-After (seconds, the
// secondary limit) or X-RateLimit-Reset (epoch seconds, the primary one).
func whenReset(h http.Header) string {
	if s, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && s >= 0 {
		return fmt.Sprintf("run again after %d seconds (Retry-After)", s)
	}
	if s, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 10, 64); err == nil && s > 0 && s < 1<<40 {
		return "run again after it resets at " + time.Unix(s, 0).UTC().Format(time.RFC3339) + " (X-RateLimit-Reset)"
	}
	return "run again later"
}

// maxAPIMessage bounds the part of an error body quoted in a reason.
const maxAPIMessage = 200

// apiErrorMessage is the message of a GitHub JSON error body
// ({"message": …, "documentation_url": …}), made safe to quote: control
// characters dropped, at most maxAPIMessage runes; "" when there is none.
func apiErrorMessage(body []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	var b strings.Builder
	n := 0
	for _, c := range strings.TrimSpace(e.Message) {
		if n == maxAPIMessage {
			b.WriteString("…")
			break
		}
		if unicode.IsControl(c) || c == unicode.ReplacementChar {
			c = ' '
		}
		b.WriteRune(c)
		n++
	}
	return strings.TrimSpace(b.String())
}

var envNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })

// checkReusableSource validates the reusable_source settings of `with:`.
func checkReusableSource(o Options) error {
	switch o.ReusableSource {
	case "", "github":
	default:
		return fmt.Errorf("reusable_source: %q is not github (leave it out to read only reusable_cache)", o.ReusableSource)
	}
	if o.ReusableSource == "" && (o.ReusableAPI != "" || o.ReusableTokenEnv != "") {
		return errors.New("reusable_api and reusable_token_env need reusable_source: github")
	}
	if o.ReusableAPI != "" {
		if _, err := ParseAPIURL(o.ReusableAPI); err != nil {
			return fmt.Errorf("reusable_api %q: %v", o.ReusableAPI, err)
		}
	}
	if o.ReusableTokenEnv != "" && !envNameRE().MatchString(o.ReusableTokenEnv) {
		return fmt.Errorf("reusable_token_env: %q is not an environment variable name", o.ReusableTokenEnv)
	}
	return nil
}

// reusableSource is the cache, then the API, as `with:` asks; nil when
// neither is configured (remote workflows are then not read).
func reusableSource(o Options) WorkflowSource {
	var ss Sources
	if o.ReusableCache != "" {
		ss = append(ss, DirSource{Dir: o.ReusableCache, MaxBytes: o.MaxFileBytes})
	}
	if o.ReusableSource == "github" {
		ss = append(ss, GitHubSource{API: o.ReusableAPI, TokenEnv: o.ReusableTokenEnv, MaxBytes: o.MaxFileBytes})
	}
	switch len(ss) {
	case 0:
		return nil
	case 1:
		return ss[0]
	}
	return ss
}
