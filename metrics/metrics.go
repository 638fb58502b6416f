// Package metrics holds Switchboard's Prometheus metrics: requests by route
// pattern, their latency, logins by result, and the queues read from the
// database at each scrape. Each Metrics has its own registry (never the
// global one), so tests can run several servers in one process.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"switchboard"
)

// Login results: the only values of switchboard_logins_total's result
// label. A fixed set keeps the series few; the email never becomes a label.
const (
	LoginSuccess           = "success"
	LoginWrongPassword     = "wrong_password"
	LoginRateLimited       = "rate_limited"
	LoginTwoFactorRequired = "two_factor_required"
	LoginTwoFactorFailed   = "two_factor_failed"
)

var loginResults = []string{LoginSuccess, LoginWrongPassword, LoginRateLimited, LoginTwoFactorRequired, LoginTwoFactorFailed}

// Unmatched is the route label of a request that matched no route, so a
// scan of random paths adds no series.
const Unmatched = "unmatched"

// Queues reads the lengths of the queues; the store does.
type Queues interface {
	// QueueLengths is cheap (small indexes): read at every scrape.
	QueueLengths(ctx context.Context) (switchboard.QueueLengths, error)
	// MessagesByStatus is linear in the number of messages: read at most
	// every Metrics.StatusEvery.
	MessagesByStatus(ctx context.Context) (map[string]int64, error)
}

// DefaultStatusEvery is how long the count of messages by status is kept
// between two readings: a count over millions of messages takes a few
// hundred milliseconds, which a scrape every 15 seconds from two
// Prometheus servers should not pay each time.
const DefaultStatusEvery = time.Minute

// ScrapeTimeout bounds the database queries of one scrape, within
// Prometheus' default scrape timeout of 10 seconds: a slow database answers
// a scrape without queue gauges rather than holding it.
const ScrapeTimeout = 5 * time.Second

// Metrics is the registry and the series of one process. A nil *Metrics
// counts nothing, so servers built without metrics need no checks.
type Metrics struct {
	// StatusEvery is how long the count of messages by status is kept
	// (DefaultStatusEvery); 0 reads it at every scrape. Set it before the
	// first scrape.
	StatusEvery time.Duration

	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	logins   *prometheus.CounterVec
	handler  http.Handler
}

// New returns the metrics of a process whose queues q reads at each scrape
// (q may be nil); errors of q are logged to logger.
func New(q Queues, logger *slog.Logger) *Metrics {
	if logger == nil {
		logger = slog.Default()
	}
	m := &Metrics{
		StatusEvery: DefaultStatusEvery,
		registry:    prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_logins_total",
			Help: "Login attempts by result.",
		}, []string{"result"}),
	}
	m.registry.MustRegister(m.requests, m.duration, m.logins,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Every result shows from the start, at 0, so a rate() has a series to
	// read before the first failure.
	for _, r := range loginResults {
		m.logins.WithLabelValues(r)
	}
	if q != nil {
		m.registry.MustRegister(&queueCollector{queues: q, logger: logger, now: time.Now, every: &m.StatusEvery})
	}
	m.handler = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
	return m
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return m.handler
}

// Request counts one answered request of route (Echo's pattern, such as
// "/orgs/:org/members/:profile", or Unmatched) that took d.
func (m *Metrics) Request(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = Unmatched
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route, method).Observe(d.Seconds())
}

// Login counts one login attempt with result, one of the Login* constants;
// any other value is counted as LoginWrongPassword rather than adding a
// series.
func (m *Metrics) Login(result string) {
	if m == nil {
		return
	}
	switch result {
	case LoginSuccess, LoginWrongPassword, LoginRateLimited, LoginTwoFactorRequired, LoginTwoFactorFailed:
	default:
		result = LoginWrongPassword
	}
	m.logins.WithLabelValues(result).Inc()
}

var (
	outboxDesc    = prometheus.NewDesc("switchboard_outbox_emails", "Emails waiting in the outbox.", nil, nil)
	messagesDesc  = prometheus.NewDesc("switchboard_message_queue_messages", "Messages waiting for the delivery worker.", nil, nil)
	campaignsDesc = prometheus.NewDesc("switchboard_campaigns_scheduled", "Campaigns scheduled and not started yet.", nil, nil)
	statusDesc    = prometheus.NewDesc("switchboard_messages", "Messages by status.", []string{"status"}, nil)
)

// queueCollector reads the queues from the database when scraped.
type queueCollector struct {
	queues Queues
	logger *slog.Logger
	now    func() time.Time
	every  *time.Duration

	// The last count of messages by status, and when it was read; one
	// scrape reads it at a time.
	mu       sync.Mutex
	byStatus map[string]int64
	readAt   time.Time
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxDesc
	ch <- messagesDesc
	ch <- campaignsDesc
	ch <- statusDesc
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), ScrapeTimeout)
	defer cancel()
	// On an error the gauges are left out of this scrape: a made-up 0
	// would say the queues are empty. Prometheus' "absent" alerts see it.
	if q, err := c.queues.QueueLengths(ctx); err != nil {
		c.logger.Error("metrics: read queue lengths", "err", err)
	} else {
		ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(q.Outbox))
		ch <- prometheus.MustNewConstMetric(messagesDesc, prometheus.GaugeValue, float64(q.Messages))
		ch <- prometheus.MustNewConstMetric(campaignsDesc, prometheus.GaugeValue, float64(q.Campaigns))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byStatus == nil || c.now().Sub(c.readAt) >= *c.every {
		byStatus, err := c.queues.MessagesByStatus(ctx)
		if err != nil {
			c.logger.Error("metrics: read messages by status", "err", err)
			return
		}
		c.byStatus, c.readAt = byStatus, c.now()
	}
	for status, n := range c.byStatus {
		ch <- prometheus.MustNewConstMetric(statusDesc, prometheus.GaugeValue, float64(n), status)
	}
}
