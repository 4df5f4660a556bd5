//go:build !nokms

package sign

// KMS providers for --key awskms://, gcpkms://, azurekms:// and
// hashivault:// references, as the cosign CLI links them. Build with
// -tags nokms to leave them out (a smaller binary; such references then
// fail with "no KMS provider").

import (
	_ "github.com/sigstore/sigstore/pkg/signature/kms/aws"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/azure"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/gcp"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/hashivault"
)
