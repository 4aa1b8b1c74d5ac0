package service

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/creativesync/services/notifier/internal/notify"
)

// metrics implements notify.Observer on Prometheus.
type metrics struct {
	attempts *prometheus.HistogramVec
	outcomes *prometheus.CounterVec
	due      prometheus.Gauge
	pending  prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		attempts: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "notifier_attempt_duration_seconds",
			Help: "Duration of webhook attempts, by verdict (delivered, retry, reject). Its _count is the attempt count.",
			// Local receivers answer in milliseconds, remote ones in tens to
			// hundreds; the top buckets catch the 10 s timeout.
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15},
		}, []string{"verdict"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notifier_deliveries_total",
			Help: "Deliveries that reached a final state, by outcome (delivered, failed, dead).",
		}, []string{"outcome"}),
		due: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "notifier_queue_due",
			Help: "Pending deliveries whose next attempt is due now; a growing value means workers cannot keep up.",
		}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "notifier_queue_pending",
			Help: "Pending deliveries, due or waiting for a retry.",
		}),
	}
	reg.MustRegister(m.attempts, m.outcomes, m.due, m.pending)
	for _, v := range []notify.Verdict{notify.VerdictDelivered, notify.VerdictRetry, notify.VerdictReject} {
		m.attempts.WithLabelValues(v.String())
	}
	for _, s := range []notify.Status{notify.StatusDelivered, notify.StatusFailed, notify.StatusDead} {
		m.outcomes.WithLabelValues(string(s))
	}
	return m
}

func (m *metrics) AttemptDone(c notify.Classification, d time.Duration) {
	m.attempts.WithLabelValues(c.Verdict.String()).Observe(d.Seconds())
}

func (m *metrics) DeliveryDone(s notify.Status) {
	m.outcomes.WithLabelValues(string(s)).Inc()
}
