package image

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/readiness-dev/readiness/internal/catalog"
	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/cli"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/sign"
	"github.com/readiness-dev/readiness/internal/sign/signtest"
	"github.com/readiness-dev/readiness/internal/testutil/trivytest"
	"github.com/spf13/cobra"
)

// TestSignNeverTrustsAnEditedBundle is the property test of issue 12: from
// real bundles (the real trivy scanned a clean and a vulnerable image),
// random edits are applied to the fields of the carried evidence and its
// reports, and what `image sign --evidence` decides before it signs is
// asked. It may only ever accept the clean image's digest with the clean
// image's untouched reports.
func TestSignNeverTrustsAnEditedBundle(t *testing.T) {
	bin := trivytest.Binary(t)
	cache := trivytest.CacheDir(t, time.Now())
	reg := signtest.StartRegistry(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "readiness.yaml")
	if err := os.WriteFile(cfg, []byte("version: 1\nchecks:\n  - name: release-image\n    type: image-scan\n    with:\n      trivy: "+bin+
		"\n      skip_db_update: true\n      cache_dir: "+cache+"\n      report_dir: "+t.TempDir()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	clean := reg.Push(t, "api:1", trivytest.Clean("amd64"))
	vuln := reg.Push(t, "api:2", trivytest.AlpineVulnerable("amd64"))
	ctx := context.Background()
	// The scan job signs its bundles; the property is about what a signer
	// accepts from a scan job whose key it trusts but which signs whatever
	// it is handed, so every edited bundle is signed again below.
	scanKeys := signtest.KeyPair(t, "scan")
	sealer, err := sign.New(ctx, sign.Options{Key: sign.KeyOptions{KeyRef: scanKeys.Private, PassFunc: scanKeys.PassFunc()}})
	if err != nil {
		t.Fatal(err)
	}
	scan := func(ref string) []byte {
		out := filepath.Join(t.TempDir(), "bundle.json")
		streams, _, errOut := cli.Test()
		streams.Getenv = func(k string) string {
			if k == "COSIGN_PASSWORD" {
				return "scan"
			}
			return ""
		}
		if code := cli.Run(ctx, testApp(streams), []string{"image", "scan", "--config", cfg, "--bundle", out, "--key", scanKeys.Private, ref}); code > 1 {
			t.Fatalf("scan %s: exit %d: %s", ref, code, errOut)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return unsealedBundle(t, data)
	}
	bundles := map[string][]byte{"clean": scan(clean.String()), "vuln": scan(vuln.String())}
	targets := map[string]*sign.Target{}
	for k, ref := range map[string]string{"clean": clean.String(), "vuln": vuln.String()} {
		tg, err := sign.Resolve(ctx, ref, sign.RegistryOptions{})
		if err != nil {
			t.Fatal(err)
		}
		targets[k] = tg
	}
	cleanReports := map[string]bool{}
	for _, r := range decodeMap(t, bundles["clean"])["reports"].([]any) {
		cleanReports[r.(map[string]any)["data"].(string)] = true
	}

	a := &app{testApp(nil)}
	opts := &imageReleaseOptions{ConfigPath: cfg, MaxAge: cli.DurationFlag(24 * time.Hour), EvidenceKey: scanKeys.Public}
	decide := func(data []byte, tg *sign.Target) (used []string, reason string) {
		var claimed struct {
			Evidence struct{ Subjects []checks.Subject }
		}
		if err := json.Unmarshal(data, &claimed); err != nil {
			return nil, err.Error()
		}
		env, err := sealer.Seal(ctx, sign.BundlePredicateType, data, claimed.Evidence.Subjects)
		if err != nil {
			return nil, err.Error()
		}
		p := filepath.Join(t.TempDir(), "b.json")
		if err := os.WriteFile(p, env, 0o644); err != nil {
			t.Fatal(err)
		}
		opts.Evidence = p
		// The bundle is read and checked before the signer is built: a
		// refusal there is a refusal too.
		ev, err := a.evidence(ctx, opts)
		if err != nil {
			return nil, err.Error()
		}
		b, err := ev.Gates(ctx, tg)
		switch {
		case err != nil:
			return nil, err.Error()
		case !b.Doc.GO():
			return nil, "NO-GO"
		case !sign.SubjectsCover(b.Doc.Subjects, tg):
			return nil, "not covered"
		}
		scans, err := sign.ScansFromBundle(b, tg)
		if err != nil {
			return nil, err.Error()
		}
		for _, s := range scans {
			used = append(used, base64.StdEncoding.EncodeToString(s.Report))
		}
		return used, ""
	}
	// The untouched bundles decide as they should, or the property is void.
	if used, why := decide(bundles["clean"], targets["clean"]); used == nil {
		t.Fatalf("the untouched clean bundle is refused: %s", why)
	}
	if used, _ := decide(bundles["vuln"], targets["vuln"]); used != nil {
		t.Fatal("the untouched vulnerable bundle would be signed")
	}

	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 12))
	iterations := 120
	if testing.Short() {
		iterations = 30
	}
	tried := map[string]int{}
	accepted := 0
	for i := range iterations {
		base, target := pick(rng, "clean", "vuln"), pick(rng, "clean", "vuln")
		m := decodeMap(t, bundles[base])
		var applied []string
		for range 1 + rng.IntN(3) {
			mu := mutations[rng.IntN(len(mutations))]
			mu.apply(rng, m, decodeMap(t, bundles[other(base)]), targets)
			applied = append(applied, mu.name)
			tried[mu.name]++
		}
		data, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		used, _ := decide(data, targets[target])
		if used == nil {
			continue
		}
		accepted++
		ok := target == "clean"
		for _, u := range used {
			ok = ok && cleanReports[u]
		}
		if !ok {
			t.Fatalf("iteration %d (seed %d): base %s, target %s, edits %v: would be signed", i, seed, base, target, applied)
		}
	}
	t.Logf("%d iterations (seed %d), %d accepted (clean digest, untouched clean reports); mutations tried: %v", iterations, seed, accepted, tried)
}

// unsealedBundle is the bundle inside an envelope the test wrote.
func unsealedBundle(t testing.TB, data []byte) []byte {
	t.Helper()
	var env struct{ Payload string }
	if err := json.Unmarshal(data, &env); err != nil || env.Payload == "" {
		t.Fatalf("not an envelope: %v", err)
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Predicate json.RawMessage }
	if err := json.Unmarshal(payload, &st); err != nil {
		t.Fatal(err)
	}
	return st.Predicate
}

func pick(rng *rand.Rand, a, b string) string {
	if rng.IntN(2) == 0 {
		return a
	}
	return b
}

func other(k string) string {
	if k == "clean" {
		return "vuln"
	}
	return "clean"
}

func decodeMap(t *testing.T, data []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

type mutation struct {
	name  string
	apply func(rng *rand.Rand, m, other map[string]any, targets map[string]*sign.Target)
}

func docOf(m map[string]any) map[string]any { return m["evidence"].(map[string]any) }

func checksOf(m map[string]any) []any { return docOf(m)["checks"].([]any) }

func scanCheck(m map[string]any) map[string]any { return checksOf(m)[0].(map[string]any) }

func scansOf(m map[string]any) []any {
	return scanCheck(m)["facts"].(map[string]any)["scans"].([]any)
}

func reportsOf(m map[string]any) []any { return m["reports"].([]any) }

// setReport replaces report i's bytes, keeping the bundle internally
// consistent (address and the scan's report_sha256), so that only the
// re-derivation can catch it.
func setReport(m map[string]any, i int, data []byte) {
	r := reportsOf(m)[i].(map[string]any)
	old := r["sha256"].(string)
	sum := evidence.SHA256(data)
	r["sha256"], r["data"] = sum, base64.StdEncoding.EncodeToString(data)
	for _, s := range scansOf(m) {
		if s.(map[string]any)["report_sha256"] == old {
			s.(map[string]any)["report_sha256"] = sum
		}
	}
}

func reportBytes(m map[string]any, i int) []byte {
	data, _ := base64.StdEncoding.DecodeString(reportsOf(m)[i].(map[string]any)["data"].(string))
	return data
}

func replaceAll(m map[string]any, from, to string) map[string]any {
	data, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal([]byte(strings.ReplaceAll(string(data), from, to)), &out)
	return out
}

var mutations = []mutation{
	{"remove a finding", func(rng *rand.Rand, m, _ map[string]any, _ map[string]*sign.Target) {
		c := scanCheck(m)
		if fs, _ := c["findings"].([]any); len(fs) > 0 {
			i := rng.IntN(len(fs))
			c["findings"] = append(fs[:i:i], fs[i+1:]...)
		}
	}},
	{"remove all findings", func(_ *rand.Rand, m, _ map[string]any, _ map[string]*sign.Target) {
		scanCheck(m)["findings"] = []any{}
	}},
	{"flip the status", func(rng *rand.Rand, m, _ map[string]any, _ map[string]*sign.Target) {
		scanCheck(m)["status"] = []string{"pass", "fail", "error", "skipped"}[rng.IntN(4)]
	}},
	{"claim GO", func(_ *rand.Rand, m, _ map[string]any, _ map[string]*sign.Target) {
		docOf(m)["verdict"] = map[string]any{"decision": "GO", "summary": "GO", "deny": []any{}, "warn": []any{}}
	}},
	{"lower a severity", func(rng *rand.Rand, m, _ map[string]any, _ map[string]*sign.Target) {
		if fs, _ := scanCheck(m)["findings"].([]any); len(fs) > 0 {
			fs[rng.IntN(len(fs))].(map[string]any)["severity"] = "low"
		}
	}},
	{"waive every finding", func(_ *rand.Rand, m, _ map[string]any, _ map[string]*sign.Target) {
		fs, _ := scanCheck(m)["findings"].([]any)
		for _, f := range fs {
			f.(map[string]any)["waived_by"] = "CVE-*"
		}
	}},
	{"zero the counts", func(_ *rand.Rand, m, _ map[string]any, _ map[string]*sign.Target) {
		zero := map[string]any{"critical": 0, "high": 0, "medium": 0, "low": 0, "unknown": 0}
		scanCheck(m)["facts"].(map[string]any)["counts"] = zero
		for _, s := range scansOf(m) {
			s.(map[string]any)["counts"] = zero
		}
	}},
	{"loosen block_on", func(_ *rand.Rand, m, _ map[string]any, _ map[string]*sign.Target) {
		scanCheck(m)["block_on"] = []any{"info"}
		docOf(m)["settings"] = map[string]any{"block_on": []any{}}
	}},
	{"rename the check type", func(_ *rand.Rand, m, _ map[string]any, _ map[string]*sign.Target) {
		scanCheck(m)["type"] = "image-scan-x"
	}},
	{"swap the digests", func(_ *rand.Rand, m, _ map[string]any, targets map[string]*sign.Target) {
		for k, v := range replaceAll(m, targets["clean"].Digest, targets["vuln"].Digest) {
			m[k] = v
		}
	}},
	{"swap the image IDs", func(_ *rand.Rand, m, _ map[string]any, targets map[string]*sign.Target) {
		for k, v := range replaceAll(m, targets["clean"].ImageID, targets["vuln"].ImageID) {
			m[k] = v
		}
	}},
	{"swap the reports between images", func(_ *rand.Rand, m, other map[string]any, _ map[string]*sign.Target) {
		setReport(m, 0, reportBytes(other, 0))
	}},
	{"truncate a report", func(rng *rand.Rand, m, _ map[string]any, _ map[string]*sign.Target) {
		data := reportBytes(m, 0)
		setReport(m, 0, data[:rng.IntN(len(data))])
	}},
	{"empty the report's results", func(_ *rand.Rand, m, _ map[string]any, _ map[string]*sign.Target) {
		var rep map[string]any
		if json.Unmarshal(reportBytes(m, 0), &rep) != nil || rep == nil {
			return // an earlier edit already broke the report
		}
		rep["Results"] = []any{}
		data, _ := json.Marshal(rep)
		setReport(m, 0, data)
	}},
	{"drop the report's ImageID", func(_ *rand.Rand, m, _ map[string]any, _ map[string]*sign.Target) {
		var rep map[string]any
		if json.Unmarshal(reportBytes(m, 0), &rep) != nil || rep == nil {
			return // an earlier edit already broke the report
		}
		if md, ok := rep["Metadata"].(map[string]any); ok {
			delete(md, "ImageID")
		}
		data, _ := json.Marshal(rep)
		setReport(m, 0, data)
	}},
	{"take the other bundle's scans", func(_ *rand.Rand, m, other map[string]any, _ map[string]*sign.Target) {
		scanCheck(m)["facts"].(map[string]any)["scans"] = scansOf(other)
		m["reports"] = reportsOf(other)
	}},
	{"add the other bundle's check", func(_ *rand.Rand, m, other map[string]any, _ map[string]*sign.Target) {
		docOf(m)["checks"] = append(checksOf(m), scanCheck(other))
		m["reports"] = append(reportsOf(m), reportsOf(other)...)
	}},
	{"mark the DB fresh", func(_ *rand.Rand, m, _ map[string]any, _ map[string]*sign.Target) {
		scanCheck(m)["facts"].(map[string]any)["db"].(map[string]any)["stale"] = false
	}},
	{"unknown severity to info", func(_ *rand.Rand, m, _ map[string]any, _ map[string]*sign.Target) {
		scanCheck(m)["facts"].(map[string]any)["unknown_severity"] = "info"
	}},
	{"claim it covers the other digest", func(_ *rand.Rand, m, _ map[string]any, targets map[string]*sign.Target) {
		docOf(m)["subjects"] = []any{map[string]any{"name": "x", "digest": targets["vuln"].Digest}}
	}},
	{"claim the digest through another check", func(_ *rand.Rand, m, _ map[string]any, targets map[string]*sign.Target) {
		forged := map[string]any{}
		data, _ := json.Marshal(scanCheck(m))
		_ = json.Unmarshal(data, &forged)
		forged["name"], forged["type"], forged["status"] = "forged", "workflow", "pass"
		forged["findings"], forged["facts"] = []any{}, map[string]any{}
		forged["subjects"] = []any{map[string]any{"name": "x", "digest": targets["vuln"].Digest}}
		docOf(m)["checks"] = append(checksOf(m), forged)
	}},
	{"change a message", func(_ *rand.Rand, m, _ map[string]any, _ map[string]*sign.Target) {
		fs, _ := scanCheck(m)["findings"].([]any)
		for _, f := range fs {
			f.(map[string]any)["message"] = fmt.Sprint("nothing to see")
		}
	}},
}

// testApp is the tool's App with the real gates and the image commands.
func testApp(streams *cli.IOStreams) *cli.App {
	return cli.NewApp(streams, catalog.Gates, func(a *cli.App) []*cobra.Command { return []*cobra.Command{NewCmd(a)} })
}
