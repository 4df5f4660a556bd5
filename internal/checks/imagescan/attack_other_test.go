//go:build !linux

package imagescan

import "testing"

// plantProbeCache: the old cache's key used Linux stat fields; elsewhere
// the row still checks that an old DB is judged stale.
func plantProbeCache(t *testing.T, dir, bin, cacheDir string) {}
