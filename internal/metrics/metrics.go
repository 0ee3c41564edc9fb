// Package metrics is Sesame's Prometheus instrumentation: one registry per
// App (never the global default, so that tests and several Apps in one
// process do not collide), the sesame_* series every part reports into, and
// the handler that exposes them.
//
// The domain packages do not import this one: each declares the few
// methods it calls (passwordless.Metrics, delivery.Metrics, a func in
// token.Options) and internal/app hands them a *Metrics. Every method is
// safe on a nil *Metrics, which counts nothing.
//
// No label ever holds an address, a phone number, a user or client id, a
// code, a secret or a token: the labels are route patterns, status codes,
// connection names, provider kinds, outcomes and rule names, all bounded
// by the configuration.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sesame-id/sesame/internal/store"
)

// Metrics holds Sesame's registry and its series.
type Metrics struct {
	// Registry holds the series below plus the Go and process collectors.
	Registry *prometheus.Registry

	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	codesIssued *prometheus.CounterVec
	codeChecks  *prometheus.CounterVec
	msgQueued   *prometheus.CounterVec
	msgSent     *prometheus.CounterVec
	msgRetried  *prometheus.CounterVec
	msgFailed   *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
	blocks      *prometheus.CounterVec
	signatures  *prometheus.CounterVec
	storeCalls  *prometheus.HistogramVec

	// statusText holds the label of every status code, so that counting
	// a request allocates no string.
	statusText [600]string
}

// New makes a registry with Sesame's series and the Go and process
// collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{Registry: reg}
	for i := range m.statusText {
		m.statusText[i] = strconv.Itoa(i)
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		reg.MustRegister(c)
		return c
	}
	m.requests = counter("sesame_http_requests_total",
		"HTTP requests answered, by route pattern (the mux's, never the raw path) and status code.", "route", "code")
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "sesame_http_request_duration_seconds",
		Help: "Time to answer an HTTP request, by route pattern.",
		// From a JWKS read (well under a millisecond) to an SMS provider
		// that takes its time (tens of seconds).
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"route"})
	reg.MustRegister(m.duration)
	m.codesIssued = counter("sesame_codes_issued_total",
		"One-time codes and magic links issued (stored), by connection, channel (email, sms) and what was sent (code, link).",
		"connection", "channel", "send")
	m.codeChecks = counter("sesame_code_checks_total",
		"Code checks, by connection and outcome: ok, wrong, expired, exhausted, blocked, rate_limited, not_found, invalid, refused, signup_refused, user_blocked, error.",
		"connection", "outcome")
	m.msgQueued = counter("sesame_messages_queued_total",
		"Messages committed to the outbox, by the kind of provider that will send them (smtp, log).", "provider")
	m.msgSent = counter("sesame_messages_sent_total",
		"Messages a provider accepted, by provider kind (smtp, twilio, gateway, log).", "provider")
	m.msgRetried = counter("sesame_messages_retried_total",
		"Failed send attempts of queued messages that will be tried again, by provider kind.", "provider")
	m.msgFailed = counter("sesame_messages_failed_total",
		"Messages given up on: outbox messages whose retries ran out or that can never be sent, and SMS the provider refused, by provider kind.", "provider")
	m.rateLimited = counter("sesame_rate_limit_rejections_total",
		"Requests refused by a rate limit, by the rule (the bucket kind, e.g. start:ip, start:rcpt, verify:ip).", "rule")
	m.blocks = counter("sesame_blocks_total",
		"Brute-force blocks created, by rule: pair (identifier from one IP), account (identifier from any IP), ip (one IP on any identifiers).", "rule")
	m.signatures = counter("sesame_signatures_total",
		"JWTs signed, by algorithm.", "alg")
	m.storeCalls = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "sesame_store_call_duration_seconds",
		Help: "Time of a call into the database store (one statement or one transaction), by store method.",
		// From a cached read (tens of microseconds) to a database that
		// stopped answering.
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
	}, []string{"method"})
	reg.MustRegister(m.storeCalls)
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in Prometheus's exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Request counts one answered request of route (a mux pattern, or
// "unmatched") with its status and latency.
func (m *Metrics) Request(route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	code := "other"
	if status >= 0 && status < len(m.statusText) {
		code = m.statusText[status]
	}
	m.requests.WithLabelValues(route, code).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// CodeIssued counts a code stored for connection.
func (m *Metrics) CodeIssued(connection, channel, send string) {
	if m == nil {
		return
	}
	m.codesIssued.WithLabelValues(connection, channel, send).Inc()
}

// CodeChecked counts a code check's outcome.
func (m *Metrics) CodeChecked(connection, outcome string) {
	if m == nil {
		return
	}
	m.codeChecks.WithLabelValues(connection, outcome).Inc()
}

// MessageQueued counts a message committed to the outbox.
func (m *Metrics) MessageQueued(provider string) {
	if m == nil {
		return
	}
	m.msgQueued.WithLabelValues(provider).Inc()
}

// MessageSent counts a message a provider accepted.
func (m *Metrics) MessageSent(provider string) {
	if m == nil {
		return
	}
	m.msgSent.WithLabelValues(provider).Inc()
}

// MessageRetried counts a failed attempt that will be retried.
func (m *Metrics) MessageRetried(provider string) {
	if m == nil {
		return
	}
	m.msgRetried.WithLabelValues(provider).Inc()
}

// MessageFailed counts a message given up on.
func (m *Metrics) MessageFailed(provider string) {
	if m == nil {
		return
	}
	m.msgFailed.WithLabelValues(provider).Inc()
}

// RateLimited counts a request a rate limit refused.
func (m *Metrics) RateLimited(rule string) {
	if m == nil {
		return
	}
	m.rateLimited.WithLabelValues(rule).Inc()
}

// BlockCreated counts a brute-force block.
func (m *Metrics) BlockCreated(rule string) {
	if m == nil {
		return
	}
	m.blocks.WithLabelValues(rule).Inc()
}

// Signed counts a JWT signed with alg.
func (m *Metrics) Signed(alg string) {
	if m == nil {
		return
	}
	m.signatures.WithLabelValues(alg).Inc()
}

// OutboxStats is what the outbox gauges read at scrape time.
type OutboxStats struct {
	Pending int           // messages waiting to be sent
	Oldest  time.Duration // age of the oldest of them; 0 when none
}

// WatchOutbox registers the outbox gauges, read through stats (a cheap
// store query, the same answer on every replica) when scraped. A failed
// read reports nothing for that scrape.
func (m *Metrics) WatchOutbox(stats func(context.Context) (OutboxStats, error)) {
	m.Registry.MustRegister(&outboxCollector{stats: stats})
}

var (
	outboxPendingDesc = prometheus.NewDesc("sesame_outbox_pending_messages",
		"Messages in the outbox waiting to be sent (every replica reads the same database, so sum() double counts: use max()).", nil, nil)
	outboxOldestDesc = prometheus.NewDesc("sesame_outbox_oldest_pending_age_seconds",
		"Age of the oldest message waiting in the outbox; 0 when none waits.", nil, nil)
)

type outboxCollector struct {
	stats func(context.Context) (OutboxStats, error)
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxPendingDesc
	ch <- outboxOldestDesc
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := c.stats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(outboxPendingDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(outboxPendingDesc, prometheus.GaugeValue, float64(s.Pending))
	ch <- prometheus.MustNewConstMetric(outboxOldestDesc, prometheus.GaugeValue, s.Oldest.Seconds())
}

// WatchPools registers the connection pool series, read through stats when
// scraped.
func (m *Metrics) WatchPools(stats func() []store.PoolStats) {
	m.Registry.MustRegister(&poolCollector{stats: stats})
}

var (
	poolMaxDesc = prometheus.NewDesc("sesame_db_pool_max_connections",
		"The most connections the pool opens.", []string{"pool"}, nil)
	poolOpenDesc = prometheus.NewDesc("sesame_db_pool_open_connections",
		"Connections open, in use or idle.", []string{"pool"}, nil)
	poolInUseDesc = prometheus.NewDesc("sesame_db_pool_in_use_connections",
		"Connections in use.", []string{"pool"}, nil)
	poolIdleDesc = prometheus.NewDesc("sesame_db_pool_idle_connections",
		"Connections idle.", []string{"pool"}, nil)
	poolWaitsDesc = prometheus.NewDesc("sesame_db_pool_waits_total",
		"Acquisitions that waited for a connection.", []string{"pool"}, nil)
	poolWaitDesc = prometheus.NewDesc("sesame_db_pool_wait_seconds_total",
		"Total time spent waiting for a connection.", []string{"pool"}, nil)
)

type poolCollector struct{ stats func() []store.PoolStats }

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolMaxDesc, poolOpenDesc, poolInUseDesc, poolIdleDesc, poolWaitsDesc, poolWaitDesc} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.stats() {
		ch <- prometheus.MustNewConstMetric(poolMaxDesc, prometheus.GaugeValue, float64(s.Max), s.Pool)
		ch <- prometheus.MustNewConstMetric(poolOpenDesc, prometheus.GaugeValue, float64(s.Open), s.Pool)
		ch <- prometheus.MustNewConstMetric(poolInUseDesc, prometheus.GaugeValue, float64(s.InUse), s.Pool)
		ch <- prometheus.MustNewConstMetric(poolIdleDesc, prometheus.GaugeValue, float64(s.Idle), s.Pool)
		ch <- prometheus.MustNewConstMetric(poolWaitsDesc, prometheus.CounterValue, float64(s.WaitCount), s.Pool)
		ch <- prometheus.MustNewConstMetric(poolWaitDesc, prometheus.CounterValue, s.WaitDuration.Seconds(), s.Pool)
	}
}
