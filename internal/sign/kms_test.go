//go:build !kms

package sign

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// Without -tags kms, a provider key (KMS, Kubernetes secret, GitLab
// variable, PKCS#11) is refused before any gate runs, as a key (usage)
// error naming the build that has it; for verifying too.
func TestProviderKeyWithoutKMSBuild(t *testing.T) {
	for _, ref := range []string{"awskms:///alias/release", "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k",
		"azurekms://vault.vault.azure.net/key", "hashivault://release", "k8s://ns/cosign", "gitlab://group/project",
		"pkcs11:token=t;object=k"} {
		_, err := loadKey(context.Background(), KeyOptions{KeyRef: ref})
		var ke *KeyError
		if !errors.As(err, &ke) || !strings.Contains(err.Error(), "readiness-kms") {
			t.Errorf("sign %s: %v, want a KeyError pointing at readiness-kms", ref, err)
		}
		_, err = KeyFingerprint(context.Background(), ref)
		if !errors.As(err, &ke) || !strings.Contains(err.Error(), "readiness-kms") {
			t.Errorf("verify %s: %v, want a KeyError pointing at readiness-kms", ref, err)
		}
	}
}
