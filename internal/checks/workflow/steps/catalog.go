package steps

import "github.com/readiness-dev/readiness/internal/checks/workflow/graph"

// This file is the catalog: what the interpreter knows of actions and
// programs it cannot read, as data. Adding a signer action whose input
// names the image (signInput), an uploader (uploadAction) or a wrapper
// action whose input is a shell script is one row here, and one fixture
// under the gate's testdata/cases.

// The catalog of known actions: what the gate knows of an action it cannot
// read (a remote uses: step) is listed here, by name — uses: without its
// @ref, lower-cased. An action in none of these tables is not analysed.

// actionReader reads one uses: step of a known action into events.
type actionReader func(a *Interpreter, w *jobWalk, s *graph.Step, sc graph.Scope)

// knownActions are the actions that scan, sign or attest, build or push,
// or upload results, each with the reader of its inputs.
var knownActions = map[string]actionReader{
	"aquasecurity/trivy-action":          (*Interpreter).trivyAction,
	"anchore/scan-action":                (*Interpreter).scanAction,
	"readiness-dev/readiness":            (*Interpreter).readinessAction,
	"actions/attest-build-provenance":    (*Interpreter).attestAction,
	"actions/attest":                     (*Interpreter).attestAction,
	"actions/attest-sbom":                (*Interpreter).attestAction,
	"sigstore/gh-action-sigstore-python": (*Interpreter).sigstorePythonAction,
	"goreleaser/goreleaser-action":       (*Interpreter).goreleaserAction,
	"docker/build-push-action":           (*Interpreter).buildPush,
	"docker/metadata-action":             (*Interpreter).metadataAction,
	"github/codeql-action/upload-sarif":  uploadAction("sarif_file"),
	"actions/upload-artifact":            uploadAction("path"),
	"actions/github-script":              (*Interpreter).githubScript,
	"notaryproject/notation-action/sign": signInput("target_artifact_reference"),
}

// wrapperActions are actions that run one of their inputs as a shell
// command (retry and output-capturing wrappers): the inputs named here are
// read as a run: script would be. Adding a wrapper is one line.
var wrapperActions = map[string][]string{
	"nick-fields/retry":        {"command"},
	"nick-invision/retry":      {"command"},
	"wandalen/wretry.action":   {"command"},
	"mathiasvr/command-output": {"run"},
	"jcatana/retry-action":     {"command"},
}

// programOutputs are actions that install a tool and name it in an
// output, for a later run: step to call as ${{ steps.ID.outputs.NAME }}
// (anchore's documented grype pattern): the output stands for the program.
var programOutputs = map[string]map[string]string{
	"anchore/scan-action/download-grype": {"cmd": "grype"},
}

// cosignInstaller is the name prefix of the action that installs cosign:
// a hint that the job signs somewhere.
const cosignInstaller = "sigstore/cosign-installer"

// toolImages are the scanner and signer container images recognised when
// run with docker run or a docker:// step, by base name.
var toolImages = set("trivy", "grype", "cosign", "readiness")

// goRunTools are the signers and scanners `go run PKG@VERSION` can run
// straight from the module proxy.
var goRunTools = map[string]bool{"cosign": true, "notation": true, "trivy": true, "grype": true, "skopeo": true, "crane": true}

// signByFlags are skopeo's and podman's options that sign what they copy
// or push (simple signing, sigstore).
var signByFlags = map[string]bool{"--sign-by": true, "--sign-by-sigstore": true, "--sign-by-sigstore-private-key": true,
	"--sign-by-sq-fingerprint": true, "--sign-passphrase-file": true, "--sign-identity": true}
