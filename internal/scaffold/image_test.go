package scaffold

import "testing"

// FuzzPushedImage: whatever a workflow holds, the guess is "" or a
// registry reference.
func FuzzPushedImage(f *testing.F) {
	for _, s := range []string{
		"jobs:\n  p:\n    steps:\n      - run: docker push ghcr.io/a/b:1\n",
		"env: {I: ghcr.io/a/b}\njobs:\n  p:\n    steps:\n      - uses: docker/build-push-action@v6\n        with: {push: true, tags: \"${{ env.I }}:1,${{ env.I }}:2\"}\n",
		"jobs:\n  p:\n    env: {KO_DOCKER_REPO: ghcr.io/a}\n    steps: [{run: ko build .}]\n",
		"jobs: {p: {steps: [{run: cosign sign --yes ghcr.io/a/b@sha256:0}]}}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if ref := pushedImage(data); ref != "" && !pushRefRE().MatchString(ref) {
			t.Fatalf("pushedImage = %q, not a registry reference", ref)
		}
		if ref := goreleaserImage(data); ref != "" && !pushRefRE().MatchString(ref) {
			t.Fatalf("goreleaserImage = %q", ref)
		}
	})
}
