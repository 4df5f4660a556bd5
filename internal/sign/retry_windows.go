package sign

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// connErrnos are a connection reset, refused or aborted: Winsock reports
// them as WSAE* codes, which syscall.ECONNRESET (a Go-invented value on
// Windows) never matches.
var connErrnos = []error{windows.WSAECONNRESET, windows.WSAECONNREFUSED, windows.WSAECONNABORTED, syscall.ECONNRESET, syscall.EPIPE}
