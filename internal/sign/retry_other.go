//go:build !windows

package sign

import "syscall"

// connErrnos are a connection reset, refused or broken, as the kernel
// reports them when no net.Error wraps them.
var connErrnos = []error{syscall.ECONNRESET, syscall.ECONNREFUSED, syscall.EPIPE}
