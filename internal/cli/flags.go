package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/config"
)

// Flag types and helpers every command group shares.

// ExactArgs is cobra.ExactArgs with a message that says what to do.
func ExactArgs(n int, msg string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return Usagef("%s", msg)
		}
		return nil
	}
}

// WriteJSON writes v as indented JSON to path.
func WriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// DurationFlag is a duration flag that also accepts whole days ("30d").
type DurationFlag time.Duration

func (d *DurationFlag) String() string {
	if *d == 0 {
		return "0"
	}
	return time.Duration(*d).String()
}

func (d *DurationFlag) Set(s string) error {
	v, err := config.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = DurationFlag(v)
	return nil
}

func (d *DurationFlag) Type() string { return "duration" }

// D returns the value as a time.Duration.
func (d DurationFlag) D() time.Duration { return time.Duration(d) }

// DaysFlag is a duration flag that also accepts whole days ("30d").
type DaysFlag struct {
	d   config.Duration
	set bool
}

func (f *DaysFlag) String() string {
	if !f.set {
		return ""
	}
	return f.d.D().String()
}

func (f *DaysFlag) Set(s string) error {
	d, err := config.ParseDuration(s)
	if err != nil {
		return err
	}
	f.d, f.set = config.Duration(d), true
	return nil
}

func (f *DaysFlag) Type() string { return "duration" }

// ByteSize is an int64 flag of bytes that also takes a unit: 1MiB, 512KiB,
// 2MB, 100k. A bare number is bytes.
type ByteSize int64

func (b *ByteSize) String() string {
	if *b == 0 {
		return ""
	}
	return strconv.FormatInt(int64(*b), 10)
}

func (b *ByteSize) Type() string { return "bytesize" }

var byteUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1000,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1000 * 1000,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1000 * 1000 * 1000,
}

func (b *ByteSize) Set(s string) error {
	num := strings.TrimRightFunc(strings.TrimSpace(s), func(r rune) bool { return !unicode.IsDigit(r) })
	unit := strings.ToLower(strings.TrimSpace(strings.TrimSpace(s)[len(num):]))
	mult, ok := byteUnits[unit]
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || n < 0 || (mult > 1 && n > math.MaxInt64/mult) {
		return fmt.Errorf("expected a size in bytes, such as 1048576, 512KiB or 1MiB")
	}
	*b = ByteSize(n * mult)
	return nil
}

// UnwrapFSError drops the operation and path of a *fs.PathError, for a
// message that names the path itself.
func UnwrapFSError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
