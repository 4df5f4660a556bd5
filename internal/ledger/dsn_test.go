package ledger

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseDSN(t *testing.T) {
	tests := []struct {
		in   string
		want DSN
	}{
		{"sqlite:///var/lib/l.db", DSN{Driver: DriverSQLite, Path: "/var/lib/l.db"}},
		{"sqlite://rel/l.db", DSN{Driver: DriverSQLite, Path: "rel/l.db"}},
		{"sqlite:l.db", DSN{Driver: DriverSQLite, Path: "l.db"}},
		{"  SQLite:///a%20b.db  ", DSN{Driver: DriverSQLite, Path: "/a b.db"}},
		{"sqlite:///t.db?poll=2ms&busy_timeout=3s&retention=2h&lease=10s&synchronous=FULL",
			DSN{Driver: DriverSQLite, Path: "/t.db", Poll: 2 * time.Millisecond, BusyTimeout: 3 * time.Second, Retention: 2 * time.Hour, Lease: 10 * time.Second, Synchronous: "full"}},
		{"postgres://u@h:5432/db?sslmode=disable",
			DSN{Driver: DriverPostgres, Conn: "postgres://u@h:5432/db?sslmode=disable", Schema: "readiness_ledger"}},
		{"postgresql://u:pw@h/db?schema=run_1&retention=1h&sslmode=disable",
			DSN{Driver: DriverPostgres, Conn: "postgresql://u:pw@h/db?sslmode=disable", Schema: "run_1", Retention: time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDSN(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseDSN (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseDSNErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "want sqlite:///path"},
		{"/tmp/l.db", "want sqlite:///path"},
		{"mysql://x", `unknown scheme "mysql"`},
		{"sqlite://", "no database file path"},
		{"sqlite:///l.db?poll=-1s", "not a positive duration"},
		{"sqlite:///l.db?poll=fast", "not a positive duration"},
		{"sqlite:///l.db?journal=off", `unknown parameter "journal"`},
		{"sqlite:///l.db?synchronous=off", "synchronous must be normal or full"},
		{"postgres://h/db?schema=Robert');DROP", "invalid semicolon"},
		{"postgres://h/db?schema=Robert'%29", "must be lower-case"},
		{"postgres://h/db?retention=0s", "not a positive duration"},
		{"postgres:opaque", "want postgres://"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseDSN(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrBadDSN) {
				t.Fatalf("ParseDSN(%q) = %v, want an ErrBadDSN containing %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestDSNRedactsPassword(t *testing.T) {
	_, err := ParseDSN("postgres://u:secret@h/db?schema=BAD")
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("error %v shows the password", err)
	}
	d, err := ParseDSN("postgres://u:secret@h/db")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(d.String(), "secret") {
		t.Fatalf("String() = %s shows the password", d)
	}
	if got := redact("postgres://u:sec ret@h/%zz"); strings.Contains(got, "sec") {
		t.Fatalf("redact of an unparseable URL = %s", got)
	}
}

// FuzzParseDSN: any input either parses into a usable DSN or fails with
// ErrBadDSN, never panics, and never echoes a password.
func FuzzParseDSN(f *testing.F) {
	for _, s := range []string{"sqlite:///a.db", "sqlite:a.db?poll=1ms", "postgres://u:pw@h/db?schema=s&retention=1h", "postgresql://h", "file:x", "sqlite://%zz", "postgres://u:pw@[::1/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDSN(s)
		if err != nil {
			if !errors.Is(err, ErrBadDSN) {
				t.Fatalf("error %v is not ErrBadDSN", err)
			}
			return
		}
		switch d.Driver {
		case DriverSQLite:
			if d.Path == "" || strings.ContainsRune(d.Path, 0) {
				t.Fatalf("bad path %q", d.Path)
			}
		case DriverPostgres:
			if !schemaRE().MatchString(d.Schema) || d.Conn == "" {
				t.Fatalf("bad postgres DSN %+v", d)
			}
		default:
			t.Fatalf("driver %q", d.Driver)
		}
		if d.Retention < 0 || d.Lease < 0 || d.Poll < 0 || d.BusyTimeout < 0 {
			t.Fatalf("negative duration in %+v", d)
		}
	})
}
