//go:build !kms

package sign

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// Without -tags kms, a KMS key is refused before any gate runs, as a key
// (usage) error naming the build that has it.
func TestKMSKeyWithoutKMSBuild(t *testing.T) {
	for _, ref := range []string{"awskms:///alias/release", "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k",
		"azurekms://vault.vault.azure.net/key", "hashivault://release"} {
		_, err := loadKey(context.Background(), KeyOptions{KeyRef: ref})
		var ke *KeyError
		if !errors.As(err, &ke) || !strings.Contains(err.Error(), "readiness-kms") {
			t.Errorf("%s: %v, want a KeyError pointing at readiness-kms", ref, err)
		}
	}
}
