//go:build !kms

package sign

import (
	"context"
	"fmt"
	"strings"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/sigstore/pkg/signature"
)

// providerSchemes are the key references only the readiness-kms build
// (-tags kms, provider_on.go) can use, with what each is.
var providerSchemes = []struct{ prefix, what string }{
	{"awskms://", "an AWS KMS key"},
	{"gcpkms://", "a Google Cloud KMS key"},
	{"azurekms://", "an Azure Key Vault key"},
	{"hashivault://", "a HashiCorp Vault transit key"},
	{"k8s://", "a Kubernetes secret"},
	{"gitlab://", "a GitLab CI variable"},
	{"pkcs11:", "a PKCS#11 token"},
}

// checkKMS refuses a provider key reference in this build with what to
// do, before anything else runs.
func checkKMS(ref string) error {
	for _, s := range providerSchemes {
		if strings.HasPrefix(ref, s.prefix) {
			return fmt.Errorf("this readiness is built without key providers: install the readiness-kms release "+
				"(or build with -tags kms) to use %s (%s)", s.what, strings.TrimSuffix(s.prefix, "://"))
		}
	}
	return nil
}

func providerSigner(_ context.Context, ref string, _ cosign.PassFunc) (signature.SignerVerifier, error) {
	return nil, providerErr(ref)
}

func providerVerifier(_ context.Context, ref string) (signature.Verifier, error) {
	return nil, providerErr(ref)
}

func providerErr(ref string) error {
	if err := checkKMS(ref); err != nil {
		return err
	}
	scheme, _, _ := strings.Cut(ref, "://")
	return fmt.Errorf("unsupported key reference scheme %s:// (a file, env://VAR, https://, or with readiness-kms a KMS, k8s:// or gitlab:// key)", scheme)
}
