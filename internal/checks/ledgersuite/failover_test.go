//go:build unix

// The failover family starts PostgreSQL clusters as the postgres user and
// kills their postmaster: Unix only (pg_ctl, signals, credentials).

package ledgersuite

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/readiness-dev/readiness/internal/testutil/need"
)

// pgPair is a PostgreSQL primary and its streaming replica on loopback,
// started by the test from the server binaries (initdb, pg_ctl,
// pg_basebackup). Run as root, the clusters run as the postgres OS user
// (PostgreSQL refuses root); otherwise as the test's own user.
type pgPair struct {
	t    *testing.T
	bin  string
	root string
	// ports are the hosts the DSN names; each new cluster takes the next,
	// so that a rebuilt replica never races a killed server for its port.
	ports   []int
	nodes   []*pgNode
	primary *pgNode
	sync    bool
	asUser  string // runuser -u asUser, when root
}

// pgNode is one cluster.
type pgNode struct {
	dir, log string
	port     int
	up       bool
}

func pgBinDir(t *testing.T) string {
	if dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin"); len(dirs) > 0 {
		return dirs[len(dirs)-1]
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p)
	}
	need.Skip(t, "the PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) are not installed")
	return ""
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startPair(t *testing.T, sync bool) *pgPair {
	p := &pgPair{t: t, bin: pgBinDir(t), sync: sync}
	root, err := os.MkdirTemp("", "ledger-failover-")
	if err != nil {
		t.Fatal(err)
	}
	p.root = root
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			need.Skip(t, "running as root and there is no postgres user to run the clusters as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(root, uid, gid); err != nil {
			t.Fatal(err)
		}
		p.asUser = "postgres"
	}
	t.Cleanup(p.stop)
	for range 4 {
		p.ports = append(p.ports, freePort(t))
	}
	n := p.newNode()
	p.run(context.Background(), "initdb", "-D", n.dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions")
	p.conf(n.dir, fmt.Sprintf("port = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nwal_level = replica\nmax_wal_senders = 8\nhot_standby = on\nfsync = off\nshared_buffers = 16MB\nmax_connections = 60\nwal_keep_size = 64MB\n", n.port, p.root))
	if err := p.start(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	p.primary = n
	return p
}

func (p *pgPair) newNode() *pgNode {
	i := len(p.nodes)
	n := &pgNode{dir: filepath.Join(p.root, fmt.Sprintf("data%d", i)), log: filepath.Join(p.root, fmt.Sprintf("log%d", i)), port: p.ports[i%len(p.ports)]}
	p.nodes = append(p.nodes, n)
	return n
}

func (p *pgPair) run(ctx context.Context, name string, args ...string) {
	p.t.Helper()
	if err := p.exec(ctx, name, args...); err != nil {
		p.t.Fatal(err)
	}
}

func (p *pgPair) exec(ctx context.Context, name string, args ...string) error {
	path := filepath.Join(p.bin, name)
	cmd := exec.CommandContext(ctx, path, args...)
	if p.asUser != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", p.asUser, "--", path}, args...)...)
	}
	cmd.Dir = p.root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// conf appends settings to a cluster's postgresql.auto.conf (read last).
func (p *pgPair) conf(dir, settings string) {
	f, err := os.OpenFile(filepath.Join(dir, "postgresql.auto.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		p.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(settings); err != nil {
		p.t.Fatal(err)
	}
}

func (p *pgPair) start(ctx context.Context, n *pgNode) error {
	if err := p.exec(ctx, "pg_ctl", "-D", n.dir, "-l", n.log, "-w", "-t", "60", "start"); err != nil {
		b, _ := os.ReadFile(n.log)
		return fmt.Errorf("%w\nserver log:\n%s", err, b)
	}
	n.up = true
	return nil
}

func (p *pgPair) stop() {
	for _, n := range p.nodes {
		if n.up {
			_ = p.exec(context.Background(), "pg_ctl", "-D", n.dir, "-m", "immediate", "-w", "stop")
		}
	}
	_ = os.RemoveAll(p.root)
}

// DSN names every host a cluster of the pair may run on; only the one
// that accepts writes is used (a host with nothing listening is refused
// at once).
func (p *pgPair) DSN(schema string) string {
	var hosts []string
	for _, port := range p.ports {
		hosts = append(hosts, fmt.Sprintf("127.0.0.1:%d", port))
	}
	return fmt.Sprintf("postgres://postgres@%s/postgres?sslmode=disable&target_session_attrs=read-write&connect_timeout=2&schema=%s",
		strings.Join(hosts, ","), schema)
}

func (p *pgPair) conn(ctx context.Context, n *pgNode) (*pgx.Conn, error) {
	return pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=2", n.port))
}

// replica is the live node that is not the primary, if any.
func (p *pgPair) replica() *pgNode {
	for _, n := range p.nodes {
		if n.up && n != p.primary {
			return n
		}
	}
	return nil
}

// Ready builds a replica of the current primary (after a failover, on the
// dead primary's port) and waits until it streams; with sync the
// primary then waits for it on every commit.
func (p *pgPair) Ready(ctx context.Context) error {
	if p.replica() != nil {
		return nil
	}
	r := p.newNode()
	if err := p.exec(ctx, "pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(p.primary.port), "-U", "postgres",
		"-D", r.dir, "-R", "-X", "stream", "-c", "fast"); err != nil {
		return err
	}
	// A promoted replica must not wait for a standby it no longer has.
	p.conf(r.dir, fmt.Sprintf("port = %d\nsynchronous_standby_names = ''\n", r.port))
	if err := p.start(ctx, r); err != nil {
		return err
	}
	c, err := p.conn(ctx, p.primary)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	names := "''"
	if p.sync {
		names = "'*'"
	}
	if _, err := c.Exec(ctx, "ALTER SYSTEM SET synchronous_standby_names = "+names); err != nil {
		return err
	}
	if _, err := c.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
		return err
	}
	want := "async"
	if p.sync {
		want = "sync"
	}
	for {
		var n int
		if err := c.QueryRow(ctx, `SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND sync_state = $1`, want).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the replica did not stream (%s) in time: %w", want, ctx.Err())
		case <-time.After(20 * time.Millisecond): // polling the server's own view; no event to wait on
		}
	}
}

// Kill SIGKILLs the primary's postmaster.
func (p *pgPair) Kill(ctx context.Context) error {
	b, err := os.ReadFile(filepath.Join(p.primary.dir, "postmaster.pid"))
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return err
	}
	p.primary.up = false
	return nil
}

// Promote makes the replica the primary; pg_ctl -w returns once it
// accepts writes.
func (p *pgPair) Promote(ctx context.Context) error {
	r := p.replica()
	if r == nil {
		return fmt.Errorf("no replica to promote")
	}
	if err := p.exec(ctx, "pg_ctl", "-D", r.dir, "-w", "-t", "60", "promote"); err != nil {
		return err
	}
	p.primary = r
	return nil
}

func (p *pgPair) failover() *Failover {
	return &Failover{Ready: p.Ready, Kill: p.Kill, Promote: p.Promote, Sync: p.sync}
}

// TestFailover runs the failover family on a primary and a streaming
// replica started here: with synchronous replication no acknowledged
// output is lost and no waiter is stuck; with asynchronous replication
// the loss is measured and reported.
func TestFailover(t *testing.T) {
	t.Parallel()
	for _, sync := range []bool{true, false} {
		name := map[bool]string{true: "sync", false: "async"}[sync]
		t.Run(name, func(t *testing.T) {
			p := startPair(t, sync)
			ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
			defer cancel()
			rep, err := Run(ctx, Config{DSN: p.DSN("ledger_failover"), Worker: testWorker(t), Processes: 3, Failover: p.failover(),
				Run: regexp.MustCompile(`^failover/`), WaitTimeout: 60 * time.Second, Progress: func(o Outcome) {
					t.Logf("%s [%s] %s passed=%v %s", o.Scenario, o.Mode, o.Duration.Round(time.Millisecond), o.Passed, o.Error)
				}})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range rep.Scenarios {
				t.Logf("%s [%s]: metrics %+v", s.Scenario, s.Mode, s.Metrics)
				if s.Passed != s.Runs {
					t.Errorf("%s [%s]: %d of %d passed: %s", s.Scenario, s.Mode, s.Passed, s.Runs, strings.Join(s.Failures, " | "))
				}
				if sync && s.Metrics["failover-lost"].N > 0 {
					t.Errorf("%s [%s]: %d outputs lost with synchronous replication", s.Scenario, s.Mode, s.Metrics["failover-lost"].N)
				}
				if s.Metrics["failover-promote"].N == 0 {
					t.Errorf("%s [%s]: no failover happened", s.Scenario, s.Mode)
				}
			}
			if len(rep.Scenarios) != 2 {
				t.Errorf("want the failover scenario in both modes, got %d reports", len(rep.Scenarios))
			}
		})
	}
}
