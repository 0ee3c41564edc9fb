package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestMain lets the test binary be the reference server too, as the bench
// binary is (startReference runs os.Executable).
func TestMain(m *testing.M) {
	if db := os.Getenv(referenceEnv); db != "" {
		if err := serveReference(db); err != nil {
			fmt.Fprintln(os.Stderr, "reference server:", err)
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

// The bench drives every flow, one user for a moment each, against a
// Sesame it builds and starts, with the floors, and every iteration ends
// without an error.
func TestSmoke_EveryFlowCompletesWithoutErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "result.json")
	png := filepath.Join(dir, "plot.png")
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	code := run(ctx, []string{"-flow", "all", "-users", "1", "-duration", "300ms", "-warmup", "0s",
		"-floor-time", "50ms", "-sweep", "0.5", "-sweep-flow", "start", "-seed-users", "10", "-seed-expired-codes", "10",
		"-out", out, "-png", png}, &stdout, &stderr)
	t.Log(stdout.String())
	if code != 0 {
		t.Fatalf("bench exited with %d:\n%s", code, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res Result
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Flows) != len(flows)-1 {
		t.Errorf("%d flows in the result, want %d", len(res.Flows), len(flows)-1)
	}
	for _, r := range append(res.Flows, res.Sweeps...) {
		if r.Iterations == 0 || len(r.Errors) != 0 {
			t.Errorf("%s (%s): %d iterations, errors %v", r.Flow, r.Mode, r.Iterations, r.Errors)
		}
		if r.ServerCPUPerOpMS <= 0 || r.PeakRSSMB <= 0 {
			t.Errorf("%s: no server CPU or memory: %+v", r.Flow, r)
		}
	}
	if res.Floors == nil || res.Floors.RS256PerCore <= 0 || res.Floors.SQLiteCommits <= 0 || res.Floors.Reference.Iterations == 0 {
		t.Errorf("floors %+v", res.Floors)
	}
	if len(res.Sweeps) != 1 || res.Sweeps[0].Mode != "open" {
		t.Errorf("sweeps %+v, want one open-loop run of start", res.Sweeps)
	}
	if st, err := os.Stat(png); err != nil || st.Size() == 0 {
		t.Errorf("plot: %v", err)
	}
}
