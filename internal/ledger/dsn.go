package ledger

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Driver names a storage backend.
type Driver string

const (
	// DriverSQLite is the embedded default: one file, many processes on one host.
	DriverSQLite Driver = "sqlite"
	// DriverPostgres serves routers on many hosts.
	DriverPostgres Driver = "postgres"
)

// DSN is a parsed ledger address.
//
//	sqlite:///var/lib/router/ledger.db      absolute path
//	sqlite:ledger.db  sqlite://ledger.db     relative path
//	sqlite:///tmp/l.db?poll=1ms&busy_timeout=10s&synchronous=full&retention=2h
//	postgres://user@host:5432/db?sslmode=disable&schema=router_ledger&retention=2h
//
// Parameters this package reads (and removes before handing the rest to the
// driver): retention (how long a completed output is kept), lease (the
// default claim lease), and for SQLite poll (how often other processes'
// commits are looked for without a file watch), watch (false: poll
// instead of watching the database files), busy_timeout, synchronous; for
// PostgreSQL schema
// (where the tables live; default readiness_ledger).
type DSN struct {
	Driver Driver
	// Path is the SQLite database file.
	Path string
	// Conn is the PostgreSQL connection string without this package's
	// parameters.
	Conn string
	// Schema is the PostgreSQL schema holding the tables.
	Schema string
	// Retention and Lease are zero unless given.
	Retention time.Duration
	Lease     time.Duration
	// Poll is the SQLite change-signal interval; zero means the default.
	Poll time.Duration
	// BusyTimeout is SQLite's busy_timeout; zero means the default.
	BusyTimeout time.Duration
	// Synchronous is SQLite's synchronous pragma (normal or full).
	Synchronous string
	// NoWatch turns off the SQLite file watch (watch=false): other
	// processes' commits are then found by polling every Poll.
	NoWatch bool
}

var schemaRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z_][a-z0-9_]{0,39}$`) })

// ErrBadDSN is wrapped by every DSN parse error.
var ErrBadDSN = errors.New("bad ledger DSN")

// ParseDSN parses a ledger address; see DSN.
func ParseDSN(s string) (DSN, error) {
	s = strings.TrimSpace(s)
	bad := func(format string, args ...any) (DSN, error) {
		return DSN{}, fmt.Errorf("%w %q: %s", ErrBadDSN, redact(s), fmt.Sprintf(format, args...))
	}
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || s == "" {
		return bad("want sqlite:///path/ledger.db or postgres://user@host/db")
	}
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3", "file":
		return parseSQLite(rest, bad)
	case "postgres", "postgresql":
		return parsePostgres(s, bad)
	default:
		return bad("unknown scheme %q; use sqlite or postgres", scheme)
	}
}

func parseSQLite(rest string, bad func(string, ...any) (DSN, error)) (DSN, error) {
	path, query, _ := strings.Cut(rest, "?")
	if p, ok := strings.CutPrefix(path, "//"); ok {
		path = p // sqlite:///abs → /abs, sqlite://rel → rel
	}
	if path == "" {
		return bad("no database file path")
	}
	if strings.ContainsRune(path, 0) {
		return bad("path contains a NUL byte")
	}
	if p, err := url.PathUnescape(path); err == nil {
		path = p
	}
	d := DSN{Driver: DriverSQLite, Path: path}
	q, err := url.ParseQuery(query)
	if err != nil {
		return bad("query: %v", err)
	}
	for k, vs := range q {
		v := vs[len(vs)-1]
		var err error
		switch k {
		case "retention":
			d.Retention, err = positive(k, v)
		case "lease":
			d.Lease, err = positive(k, v)
		case "poll":
			d.Poll, err = positive(k, v)
		case "busy_timeout":
			d.BusyTimeout, err = positive(k, v)
		case "watch":
			var on bool
			on, err = strconv.ParseBool(v)
			if err != nil {
				err = fmt.Errorf("watch must be true or false, not %q", v)
			}
			d.NoWatch = !on
		case "synchronous":
			v = strings.ToLower(v)
			if v != "normal" && v != "full" {
				err = fmt.Errorf("synchronous must be normal or full, not %q", v)
			}
			d.Synchronous = v
		default:
			err = fmt.Errorf("unknown parameter %q (known: retention, lease, poll, watch, busy_timeout, synchronous)", k)
		}
		if err != nil {
			return bad("%v", err)
		}
	}
	return d, nil
}

func parsePostgres(s string, bad func(string, ...any) (DSN, error)) (DSN, error) {
	u, err := url.Parse(s)
	if err != nil {
		return bad("%v", err)
	}
	if u.Opaque != "" {
		return bad("want postgres://[user@]host[:port]/database")
	}
	d := DSN{Driver: DriverPostgres, Schema: "readiness_ledger"}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return bad("query: %v", err)
	}
	for _, k := range []string{"retention", "lease", "schema"} {
		if !q.Has(k) {
			continue
		}
		v := q.Get(k)
		q.Del(k)
		var err error
		switch k {
		case "retention":
			d.Retention, err = positive(k, v)
		case "lease":
			d.Lease, err = positive(k, v)
		case "schema":
			if !schemaRE().MatchString(v) {
				err = fmt.Errorf("schema %q must be lower-case letters, digits and _ (at most 40)", v)
			}
			d.Schema = v
		}
		if err != nil {
			return bad("%v", err)
		}
	}
	u.RawQuery = q.Encode()
	d.Conn = u.String()
	return d, nil
}

func positive(k, v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q is not a positive duration such as 500ms or 2h", k, v)
	}
	return d, nil
}

// String renders the DSN with any password hidden.
func (d DSN) String() string {
	switch d.Driver {
	case DriverSQLite:
		return "sqlite://" + d.Path
	case DriverPostgres:
		return redact(d.Conn)
	}
	return ""
}

// redact hides a password in a URL.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		// Unparseable: hide everything between the scheme and the last '@'.
		if at := strings.LastIndexByte(s, '@'); at >= 0 {
			if i := strings.Index(s, "://"); i >= 0 && i+3 <= at {
				return s[:i+3] + "xxxxx" + s[at:]
			}
		}
		return s
	}
	if u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
