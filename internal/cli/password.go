package cli

import (
	"fmt"
	"os"

	"golang.org/x/term"
)

// PassFunc reads the key password from COSIGN_PASSWORD, else prompts on
// the terminal (without echo), else uses an empty password. It is never
// printed or logged.
func (a *App) PassFunc(keyRef string) func(bool) ([]byte, error) {
	return func(bool) ([]byte, error) {
		if pw := a.IO.Getenv("COSIGN_PASSWORD"); pw != "" {
			return []byte(pw), nil
		}
		f, ok := a.IO.In.(*os.File)
		if !ok || !term.IsTerminal(int(f.Fd())) {
			return []byte{}, nil
		}
		fmt.Fprintf(a.IO.ErrOut, "Enter password for private key %s: ", keyRef)
		pw, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.IO.ErrOut)
		return pw, err
	}
}
