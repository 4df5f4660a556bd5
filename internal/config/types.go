package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written as Go does ("90s", "1h30m") or in
// whole days ("90d"), which is how people think about waivers and key expiry.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// ParseDuration parses "1h30m" or "90d".
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return 0, fmt.Errorf("%q is not a duration; write e.g. 30s, 5m, 2h or 90d", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration; write e.g. 30s, 5m, 2h or 90d", s)
	}
	return d, nil
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &Error{Line: n.Line, Msg: "expected a duration such as 30s, 5m, 2h or 90d"}
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return &Error{Line: n.Line, Msg: err.Error()}
	}
	*d = Duration(v)
	return nil
}

// MarshalText renders the duration for the evidence document.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Date is a calendar day, YYYY-MM-DD, taken to end at 23:59:59 UTC of that day.
type Date struct{ time.Time }

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Date) UnmarshalYAML(n *yaml.Node) error {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(n.Value))
	if n.Kind != yaml.ScalarNode || err != nil {
		return &Error{Line: n.Line, Msg: fmt.Sprintf("%q is not a date; write YYYY-MM-DD", n.Value)}
	}
	d.Time = t.UTC()
	return nil
}

// End is the last instant of the day, when a waiver stops applying.
func (d Date) End() time.Time { return d.Time.Add(24*time.Hour - time.Second) }

// String renders YYYY-MM-DD.
func (d Date) String() string { return d.Time.Format(time.DateOnly) }

// MarshalText renders YYYY-MM-DD.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }
