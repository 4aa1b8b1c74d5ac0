package service

import (
	"context"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"

	"example.com/creativesync/platform/outbox"
	"example.com/creativesync/services/review/internal/postgres"
	"example.com/creativesync/services/review/internal/review"
)

// metrics implements review.Observer with Prometheus collectors.
type metrics struct {
	decisions *prometheus.CounterVec
	scores    prometheus.Histogram
}

var _ review.Observer = (*metrics)(nil)

func newMetrics(reg prometheus.Registerer, store *postgres.Store, db *sqlx.DB, logger *slog.Logger) *metrics {
	m := &metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "review_decisions_total",
			Help: "Review outcomes by state (approved, rejected, pending_human) and decider (auto, human).",
		}, []string{"outcome", "decided_by"}),
		scores: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "review_score",
			Help:    "Scores (probability of compliance) of reviewed revisions.",
			Buckets: prometheus.LinearBuckets(0.1, 0.1, 10),
		}),
	}
	// Gauges read the database at scrape time: the queue and the outbox are
	// shared by every replica, so a counter kept in one process would be
	// wrong as soon as there are two.
	queue := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "review_queue_depth",
		Help: "Revisions waiting for a human decision.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := store.CountQueue(ctx)
		if err != nil {
			logger.Warn("reading queue depth for metrics", "err", err)
			return -1
		}
		return float64(n)
	})
	backlog := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "review_outbox_backlog",
		Help: "Events written to the outbox and not yet relayed to JetStream.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := outbox.Backlog(ctx, db.DB)
		if err != nil {
			logger.Warn("reading outbox backlog for metrics", "err", err)
			return -1
		}
		return float64(n)
	})
	reg.MustRegister(m.decisions, m.scores, queue, backlog)
	return m
}

func (m *metrics) Scored(score float64) { m.scores.Observe(score) }

func (m *metrics) Decided(state review.State, decidedBy string) {
	m.decisions.WithLabelValues(string(state), decidedBy).Inc()
}
