//go:build kms

package sign

// Key providers for --key awskms://, gcpkms://, azurekms://, hashivault://,
// k8s:// and gitlab:// references (and pkcs11: where cgo is on), as the
// cosign CLI links them. Only in the readiness-kms build (-tags kms): their
// cloud SDKs and the Kubernetes client are most of a binary that a typical
// user, signing with a key file or keyless, never runs.

import (
	"context"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	sigs "github.com/sigstore/cosign/v2/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/aws"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/azure"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/gcp"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/hashivault"
)

// checkKMS: every provider is linked in.
func checkKMS(string) error { return nil }

func providerSigner(ctx context.Context, ref string, pf cosign.PassFunc) (signature.SignerVerifier, error) {
	return sigs.SignerVerifierFromKeyRef(ctx, ref, pf, nil)
}

func providerVerifier(ctx context.Context, ref string) (signature.Verifier, error) {
	return sigs.PublicKeyFromKeyRef(ctx, ref)
}
