// Command bench is Sesame's load generator: it drives the real HTTP flows
// (start, email and SMS logins, refresh, magic links, the hosted page)
// over loopback against a Sesame it starts (or one running at -url), with
// its own SMTP sink and fake Twilio capturing the codes, and measures the
// machine's floors in the same run. See docs/BENCHMARKS.md.
//
//	go run ./bench                                  # every flow, 8 users × 10 s each
//	go run ./bench -flow login-email -rate 200      # open loop at 200 logins/s
//	go run ./bench -flow start,login-email -sweep 0.25,0.5,0.75,1 -png sweep.png
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

func main() {
	if db := os.Getenv(referenceEnv); db != "" {
		if err := serveReference(db); err != nil {
			fmt.Fprintln(os.Stderr, "reference server:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// defaultFlows are the flows run when -flow is not given.
const defaultFlows = "start,login-email,login-audience,login-es256,login-sms,refresh,magic-link,hosted"

type config struct {
	flows        []*flow
	load         load
	sweep        []float64
	sweepFlows   map[string]bool
	out, png     string
	url          string
	pid          int
	smtpListen   string
	twilioListen string
	printTenant  bool
	database     string
	sesameBin    string
	floors       bool
	floorTime    time.Duration
	seedUsers    int
	seedCodes    int
	serverFlags  []string
	keep         bool
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	flowList := fs.String("flow", defaultFlows, "comma-separated flows: "+flowNames()+"; or all")
	fs.IntVar(&c.load.Users, "users", 8, "closed loop: virtual users, each running the flow again as soon as it ends; open loop: users set up for the refresh flow")
	fs.DurationVar(&c.load.Duration, "duration", 10*time.Second, "measured time per flow (and per sweep rate)")
	fs.DurationVar(&c.load.Warmup, "warmup", 2*time.Second, "run before each measurement, not recorded")
	fs.Float64Var(&c.load.Rate, "rate", 0, "open loop: start this many iterations per second whatever the answers (0: closed loop)")
	sweep := fs.String("sweep", "", "after each closed-loop measurement, open loops at these fractions of its throughput, e.g. 0.25,0.5,0.75,1")
	sweepFlows := fs.String("sweep-flow", "start,login-email", "the flows -sweep applies to")
	fs.IntVar(&c.load.MaxInFlight, "max-in-flight", 10000, "open loop: arrivals beyond this many running iterations are dropped (and counted)")
	fs.StringVar(&c.out, "out", "bench-result.json", "write the results as JSON here (empty: do not)")
	fs.StringVar(&c.png, "png", "", "write a plot of the open-loop latencies here (needs -sweep or -rate)")
	fs.StringVar(&c.url, "url", "", "drive a running Sesame at this URL instead of starting one (it must serve the bench tenant: see -print-tenant)")
	fs.IntVar(&c.pid, "pid", 0, "with -url: the server's process id, to read its CPU time and memory")
	fs.StringVar(&c.smtpListen, "smtp-listen", "127.0.0.1:0", "the mail sink's address (with -url: where the server's tenant sends mail)")
	fs.StringVar(&c.twilioListen, "twilio-listen", "127.0.0.1:0", "the fake Twilio's address (with -url: the server's --twilio-api-url)")
	fs.BoolVar(&c.printTenant, "print-tenant", false, "print the bench tenant for -smtp-listen and exit")
	fs.StringVar(&c.database, "database", "", "the server's --database (default: a new SQLite file in a temporary directory); postgres://… for PostgreSQL")
	fs.StringVar(&c.sesameBin, "sesame", "", "a sesame binary to run (default: build ./cmd/sesame)")
	fs.BoolVar(&c.floors, "floors", true, "measure the machine's floors: RS256/ES256 signatures, SQLite commits, the reference endpoint")
	fs.DurationVar(&c.floorTime, "floor-time", time.Second, "how long each signing and commit floor is measured")
	fs.IntVar(&c.seedUsers, "seed-users", 0, "create this many users in the database before the run")
	fs.IntVar(&c.seedCodes, "seed-expired-codes", 0, "create this many expired codes in the database before the run")
	serverFlags := fs.String("server-flags", "", "more flags for sesame serve, space-separated (e.g. \"--log-level warn\")")
	fs.BoolVar(&c.keep, "keep", false, "keep the temporary directory (database, tenant, server log)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *flowList == "all" {
		*flowList = defaultFlows
	}
	for _, name := range strings.Split(*flowList, ",") {
		f := findFlow(strings.TrimSpace(name))
		if f == nil || f.reference {
			return c, fmt.Errorf("-flow: unknown flow %q; known: %s", name, flowNames())
		}
		c.flows = append(c.flows, f)
	}
	if *sweep != "" {
		for _, s := range strings.Split(*sweep, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || v <= 0 {
				return c, fmt.Errorf("-sweep: %q is not a positive fraction", s)
			}
			c.sweep = append(c.sweep, v)
		}
		if c.load.Rate > 0 {
			return c, errors.New("-sweep and -rate: choose one")
		}
	}
	c.sweepFlows = map[string]bool{}
	for _, s := range strings.Split(*sweepFlows, ",") {
		c.sweepFlows[strings.TrimSpace(s)] = true
	}
	if c.load.Users < 1 || c.load.Duration <= 0 || c.load.Warmup < 0 || c.load.MaxInFlight < 1 {
		return c, errors.New("-users, -duration and -max-in-flight must be positive")
	}
	c.serverFlags = strings.Fields(*serverFlags)
	if (c.seedUsers > 0 || c.seedCodes > 0) && c.url != "" && c.database == "" {
		return c, errors.New("-seed-* with -url needs -database, the running server's")
	}
	return c, nil
}

func flowNames() string {
	var names []string
	for _, f := range flows {
		if !f.reference {
			names = append(names, f.Name)
		}
	}
	return strings.Join(names, ", ")
}

// Result is the JSON the bench writes.
type Result struct {
	Started   time.Time     `json:"started"`
	Machine   Machine       `json:"machine"`
	Settings  Settings      `json:"settings"`
	Floors    *Floors       `json:"floors,omitempty"`
	IdleRSSMB float64       `json:"server_idle_rss_mb,omitempty"`
	Flows     []*FlowResult `json:"flows"`
	Sweeps    []*FlowResult `json:"sweeps,omitempty"`
}

// Settings are the options of the run.
type Settings struct {
	Users            int       `json:"users"`
	Rate             float64   `json:"rate,omitempty"`
	DurationS        float64   `json:"duration_s"`
	WarmupS          float64   `json:"warmup_s"`
	Sweep            []float64 `json:"sweep,omitempty"`
	Database         string    `json:"database"`
	External         bool      `json:"external_server,omitempty"`
	SeedUsers        int       `json:"seed_users,omitempty"`
	SeedExpiredCodes int       `json:"seed_expired_codes,omitempty"`
	ServerFlags      []string  `json:"server_flags,omitempty"`
}

// Machine says where the numbers come from.
type Machine struct {
	CPU        string  `json:"cpu"`
	Cores      int     `json:"cores"`
	GOMAXPROCS int     `json:"gomaxprocs"`
	Go         string  `json:"go"`
	OS         string  `json:"os"`
	Kernel     string  `json:"kernel"`
	LoadAvg    string  `json:"loadavg_at_start"`
	MemTotalMB float64 `json:"mem_total_mb"`
}

func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), Go: runtime.Version(),
		OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				m.MemTotalMB = kb / 1024
			}
		}
	}
	return m
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	if err := bench(ctx, c, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	return 0
}

func bench(ctx context.Context, c config, stdout, stderr io.Writer) error {
	if c.printTenant {
		host, port, _ := strings.Cut(c.smtpListen, ":")
		fmt.Fprintf(stdout, "# The bench tenant. Serve it with the bench's limits, e.g.\n#   sesame serve --tenant THIS_FILE --twilio-api-url http://%s %s\n",
			c.twilioListen, strings.Join(loadLimits, " "))
		fmt.Fprint(stdout, strings.NewReplacer("%SMTP_HOST%", host, "%SMTP_PORT%", port).Replace(tenantYAML))
		return nil
	}
	dir, err := os.MkdirTemp("", "sesame-bench-")
	if err != nil {
		return err
	}
	if c.keep {
		fmt.Fprintln(stderr, "temporary directory:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	if c.database == "" && c.url == "" {
		c.database = "sqlite:" + filepath.Join(dir, "sesame.db")
	}
	res := &Result{Started: time.Now().UTC(), Machine: machine(), Settings: Settings{
		Users: c.load.Users, Rate: c.load.Rate, DurationS: c.load.Duration.Seconds(), WarmupS: c.load.Warmup.Seconds(),
		Sweep: c.sweep, Database: redact(c.database), External: c.url != "",
		SeedUsers: c.seedUsers, SeedExpiredCodes: c.seedCodes, ServerFlags: c.serverFlags,
	}}
	m := res.Machine
	fmt.Fprintf(stdout, "machine: %s, %d cores (GOMAXPROCS %d), %.0f MB, %s, %s, Linux %s, load average %s\n",
		m.CPU, m.Cores, m.GOMAXPROCS, m.MemTotalMB, m.Go, m.OS, m.Kernel, m.LoadAvg)

	if c.seedUsers > 0 || c.seedCodes > 0 {
		if err := seed(ctx, c.database, c.seedUsers, c.seedCodes, stderr); err != nil {
			return err
		}
	}

	in := newInbox()
	sink, err := startMailSinkAt(c.smtpListen, in)
	if err != nil {
		return err
	}
	defer sink.Close()
	twilioURL, stopTwilio, err := startFakeTwilio(c.twilioListen, in)
	if err != nil {
		return err
	}
	defer stopTwilio()

	base := c.url
	var ps *procStats
	if base == "" {
		bin := c.sesameBin
		if bin == "" {
			fmt.Fprintln(stderr, "building cmd/sesame…")
			if bin, err = buildSesame(ctx, dir); err != nil {
				return err
			}
		}
		srv, err := startSesame(ctx, bin, dir, c.database, sink.Addr, twilioURL, c.serverFlags)
		if err != nil {
			return err
		}
		defer srv.Stop()
		base = srv.URL
		ps = &procStats{pid: srv.Pid()}
		fmt.Fprintf(stdout, "sesame: %s (pid %d, %s, log %s)\n", base, srv.Pid(), redact(c.database), srv.Log)
	} else {
		if !strings.HasSuffix(base, "/") {
			base += "/"
		}
		if c.pid > 0 {
			ps = &procStats{pid: c.pid}
		}
		fmt.Fprintf(stdout, "sesame: %s (already running; mail sink %s, fake Twilio %s)\n", base, sink.Addr, twilioURL)
	}
	if ps != nil {
		// Idle: after the start, before any load.
		time.Sleep(500 * time.Millisecond)
		if rss, _, err := ps.Memory(); err == nil {
			res.IdleRSSMB = float64(rss) / (1 << 20)
			fmt.Fprintf(stdout, "server idle RSS: %.1f MB\n", res.IdleRSSMB)
		}
	}

	if c.floors {
		if res.Floors, err = measureFloors(ctx, c, dir, in, stdout, stderr); err != nil {
			return err
		}
	}

	t := newTarget(base, in, c.load.Users)
	for _, f := range c.flows {
		r, err := measure(ctx, t, f, c.load, ps, stderr)
		if err != nil {
			return err
		}
		if res.Floors != nil {
			r.Bound = res.Floors.bound(f, r.Throughput)
		}
		res.Flows = append(res.Flows, r)
		report(stdout, r)
		if len(c.sweep) == 0 || !c.sweepFlows[f.Name] || r.Throughput <= 0 {
			continue
		}
		for _, frac := range c.sweep {
			l := c.load
			l.Rate = frac * r.Throughput
			s, err := measure(ctx, t, f, l, ps, stderr)
			if err != nil {
				return err
			}
			if res.Floors != nil {
				s.Bound = res.Floors.bound(f, s.Throughput)
			}
			res.Sweeps = append(res.Sweeps, s)
			report(stdout, s)
		}
	}
	summary(stdout, res)

	if c.out != "" {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(c.out, append(b, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "wrote", c.out)
	}
	if c.png != "" {
		open := res.Sweeps
		if c.load.Rate > 0 {
			open = res.Flows
		}
		title := fmt.Sprintf("Sesame, %s, %d cores, %s", redactKind(c.database), m.Cores, res.Started.Format("2006-01-02"))
		if err := writePlot(c.png, open, title); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "wrote", c.png)
	}
	return nil
}

// measureFloors measures signing and commits in this process, then the
// reference endpoint under the same driver as the flows.
func measureFloors(ctx context.Context, c config, dir string, in *inbox, stdout, stderr io.Writer) (*Floors, error) {
	fl := &Floors{Cores: cores(), SQLiteServer: strings.HasPrefix(c.database, "sqlite:")}
	var err error
	if fl.RS256PerCore, err = signingRate(ctx, "RS256", c.floorTime); err != nil {
		return nil, fmt.Errorf("RS256 floor: %w", err)
	}
	if fl.ES256PerCore, err = signingRate(ctx, "ES256", c.floorTime); err != nil {
		return nil, fmt.Errorf("ES256 floor: %w", err)
	}
	if fl.SQLiteCommits, err = commitRate(ctx, dir, c.floorTime); err != nil {
		return nil, fmt.Errorf("SQLite floor: %w", err)
	}
	fmt.Fprintf(stdout, "floors: RS256 %.0f signatures/s per core, ES256 %.0f/s per core (× %d cores), SQLite %.0f commits/s\n",
		fl.RS256PerCore, fl.ES256PerCore, fl.Cores, fl.SQLiteCommits)
	refURL, refPid, stop, err := startReference(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer stop()
	l := c.load
	if l.Rate > 0 {
		l.Rate = 0 // the bound is the most the reference does: closed loop
	}
	r, err := measure(ctx, newTarget(refURL, in, l.Users), findFlow("reference"), l, &procStats{pid: refPid}, stderr)
	if err != nil {
		return nil, fmt.Errorf("reference endpoint: %w", err)
	}
	fl.Reference = r
	report(stdout, r)
	return fl, nil
}

// report prints one measurement.
func report(w io.Writer, r *FlowResult) {
	mode := fmt.Sprintf("closed loop, %d users", r.Users)
	if r.Mode == "open" {
		mode = fmt.Sprintf("open loop, %.1f/s offered", r.OfferedRate)
	}
	fmt.Fprintf(w, "\n%s (%s, %.1fs): %d iterations, %.1f/s; errors: %s", r.Flow, mode, r.DurationS, r.Iterations, r.Throughput, r.errorSummary())
	if r.Dropped > 0 {
		fmt.Fprintf(w, "; dropped %d arrivals (too many in flight)", r.Dropped)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  step\tcount\tp50 ms\tp90 ms\tp99 ms\tmax ms\t")
	line := func(name string, l Latency) {
		fmt.Fprintf(tw, "  %s\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t\n", name, l.Count, l.P50, l.P90, l.P99, l.Max)
	}
	for _, s := range r.Steps {
		line(s.Name, s.Latency)
	}
	if r.ToInbox != nil {
		line("(to inbox)", *r.ToInbox)
	}
	line("whole iteration", r.Latency)
	_ = tw.Flush()
	if r.ServerCPUPerOpMS > 0 {
		fmt.Fprintf(w, "  server: %.3f ms CPU per iteration (%.2f cores busy), peak RSS %.1f MB; the bench itself: %.2f cores busy\n",
			r.ServerCPUPerOpMS, r.ServerCPUCores, r.PeakRSSMB, r.DriverCPUCores)
	}
	if b := r.Bound; b != nil {
		fmt.Fprintf(w, "  flow %s: %.1f/s = %.2f × bound %.1f/s (%s)", r.Flow, r.Throughput, b.Fraction, b.Bound, b.LimitedBy)
		var each []string
		for _, c := range []struct {
			name  string
			bound float64
		}{{"http (reference endpoint)", b.HTTP}, {"signing", b.Signing}, {"sqlite commits", b.Commits}} {
			if c.bound > 0 {
				each = append(each, fmt.Sprintf("%.2f × %s %.0f/s", r.Throughput/c.bound, c.name, c.bound))
			}
		}
		fmt.Fprintf(w, "; %s\n", strings.Join(each, ", "))
	}
}

// summary prints the closed-loop results against their bounds, one line
// each.
func summary(w io.Writer, res *Result) {
	fmt.Fprintln(w, "\nsummary")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  flow\tmode\tthroughput/s\tp50 ms\tp99 ms\terrors\tserver CPU ms/op\tserver cores\tbench cores\tpeak RSS MB\tinbox p50/p99 ms\tbound/s (by)\tfraction")
	for _, r := range append(append([]*FlowResult(nil), res.Flows...), res.Sweeps...) {
		mode := fmt.Sprintf("%d users", r.Users)
		if r.Mode == "open" {
			mode = fmt.Sprintf("%.0f/s offered", r.OfferedRate)
		}
		bound, frac := "-", "-"
		if r.Bound != nil {
			bound = fmt.Sprintf("%.0f (%s)", r.Bound.Bound, r.Bound.LimitedBy)
			frac = fmt.Sprintf("%.2f", r.Bound.Fraction)
		}
		inbox := "-"
		if r.ToInbox != nil {
			inbox = fmt.Sprintf("%.1f/%.1f", r.ToInbox.P50, r.ToInbox.P99)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%.1f\t%.2f\t%.2f\t%d\t%.3f\t%.2f\t%.2f\t%.1f\t%s\t%s\t%s\n", r.Flow, mode, r.Throughput,
			r.Latency.P50, r.Latency.P99, r.errorTotal(), r.ServerCPUPerOpMS, r.ServerCPUCores, r.DriverCPUCores, r.PeakRSSMB, inbox, bound, frac)
	}
	_ = tw.Flush()
}

// redact hides a PostgreSQL URL's password.
func redact(database string) string {
	if strings.HasPrefix(database, "postgres") {
		if i, j := strings.Index(database, "://"), strings.LastIndex(database, "@"); i >= 0 && j > i {
			return database[:i+3] + "…" + database[j:]
		}
	}
	return database
}

func redactKind(database string) string {
	if strings.HasPrefix(database, "postgres") {
		return "PostgreSQL"
	}
	if database == "" {
		return "external server"
	}
	return "SQLite"
}
