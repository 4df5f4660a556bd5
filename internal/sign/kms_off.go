//go:build !kms

package sign

import (
	"fmt"
	"strings"
)

// kmsSchemes are the KMS key references only the readiness-kms build
// (-tags kms, kms_on.go) can use.
var kmsSchemes = []string{"awskms://", "gcpkms://", "azurekms://", "hashivault://"}

// checkKMS refuses a KMS key reference in this build with what to do,
// rather than cosign's bare "no KMS provider".
func checkKMS(ref string) error {
	for _, s := range kmsSchemes {
		if strings.HasPrefix(ref, s) {
			return fmt.Errorf("this readiness is built without KMS providers: install the readiness-kms release "+
				"(or build with -tags kms) to sign with a %s key", strings.TrimSuffix(s, "://"))
		}
	}
	return nil
}
