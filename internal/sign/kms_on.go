//go:build kms

package sign

// KMS providers for --key awskms://, gcpkms://, azurekms:// and
// hashivault:// references, as the cosign CLI links them. Only in the
// readiness-kms build (-tags kms): their cloud SDKs are most of a binary
// that a typical user, signing with a key file or keyless, never runs.

import (
	_ "github.com/sigstore/sigstore/pkg/signature/kms/aws"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/azure"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/gcp"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/hashivault"
)

// checkKMS: every KMS provider is linked in.
func checkKMS(string) error { return nil }
