package postgres

import (
	"database/sql"
	"time"

	"example.com/creativesync/services/notifier/internal/notify"
)

const deliveryColumns = `
    id, idempotency_key, event_id, correlation_id, account_id, task_id, kind, url, token,
    auth_scheme, auth_credentials, payload, status, attempts, window_start, window_attempts,
    next_attempt_at, last_status_code, last_error, created_at, updated_at, finished_at`

// deliveryColumnsD is deliveryColumns qualified for UPDATE … FROM, where
// the joined CTE would otherwise make "id" ambiguous.
const deliveryColumnsD = `
    d.id, d.idempotency_key, d.event_id, d.correlation_id, d.account_id, d.task_id, d.kind, d.url, d.token,
    d.auth_scheme, d.auth_credentials, d.payload, d.status, d.attempts, d.window_start, d.window_attempts,
    d.next_attempt_at, d.last_status_code, d.last_error, d.created_at, d.updated_at, d.finished_at`

const listColumns = `
    id, idempotency_key, event_id, correlation_id, account_id, task_id, kind, url,
    auth_scheme, status, attempts, window_start, window_attempts,
    next_attempt_at, last_status_code, last_error, created_at, updated_at, finished_at`

// deliveryRow is a deliveries row as the driver sees it.
type deliveryRow struct {
	ID              int64         `db:"id"`
	IdempotencyKey  string        `db:"idempotency_key"`
	EventID         string        `db:"event_id"`
	CorrelationID   string        `db:"correlation_id"`
	AccountID       string        `db:"account_id"`
	TaskID          string        `db:"task_id"`
	Kind            string        `db:"kind"`
	URL             string        `db:"url"`
	Token           string        `db:"token"`
	AuthScheme      string        `db:"auth_scheme"`
	AuthCredentials string        `db:"auth_credentials"`
	Payload         []byte        `db:"payload"`
	Status          string        `db:"status"`
	Attempts        int           `db:"attempts"`
	WindowStart     time.Time     `db:"window_start"`
	WindowAttempts  int           `db:"window_attempts"`
	NextAttemptAt   time.Time     `db:"next_attempt_at"`
	LastStatusCode  sql.NullInt32 `db:"last_status_code"`
	LastError       string        `db:"last_error"`
	CreatedAt       time.Time     `db:"created_at"`
	UpdatedAt       time.Time     `db:"updated_at"`
	FinishedAt      sql.NullTime  `db:"finished_at"`
}

func toRow(d notify.Delivery) deliveryRow {
	return deliveryRow{
		IdempotencyKey:  d.IdempotencyKey,
		EventID:         d.EventID,
		CorrelationID:   d.CorrelationID,
		AccountID:       d.AccountID,
		TaskID:          d.TaskID,
		Kind:            d.Kind,
		URL:             d.URL,
		Token:           d.Token,
		AuthScheme:      d.AuthScheme,
		AuthCredentials: d.AuthCredentials,
		Payload:         d.Payload,
		Status:          string(d.Status),
		WindowStart:     d.WindowStart,
		NextAttemptAt:   d.NextAttemptAt,
		CreatedAt:       d.CreatedAt,
		UpdatedAt:       d.UpdatedAt,
	}
}

func (r deliveryRow) toDelivery() notify.Delivery {
	d := notify.Delivery{
		ID:              r.ID,
		IdempotencyKey:  r.IdempotencyKey,
		EventID:         r.EventID,
		CorrelationID:   r.CorrelationID,
		AccountID:       r.AccountID,
		TaskID:          r.TaskID,
		Kind:            r.Kind,
		URL:             r.URL,
		Token:           r.Token,
		AuthScheme:      r.AuthScheme,
		AuthCredentials: r.AuthCredentials,
		Payload:         r.Payload,
		Status:          notify.Status(r.Status),
		Attempts:        r.Attempts,
		WindowStart:     r.WindowStart,
		WindowAttempts:  r.WindowAttempts,
		NextAttemptAt:   r.NextAttemptAt,
		LastStatusCode:  int(r.LastStatusCode.Int32),
		LastError:       r.LastError,
		CreatedAt:       r.CreatedAt,
		UpdatedAt:       r.UpdatedAt,
	}
	if r.FinishedAt.Valid {
		t := r.FinishedAt.Time
		d.FinishedAt = &t
	}
	return d
}

type attemptRow struct {
	DeliveryID int64         `db:"delivery_id"`
	Attempt    int           `db:"attempt"`
	StartedAt  time.Time     `db:"started_at"`
	DurationMS float64       `db:"duration_ms"`
	StatusCode sql.NullInt32 `db:"status_code"`
	Error      string        `db:"error"`
	Outcome    string        `db:"outcome"`
}

func (r attemptRow) toAttempt() notify.Attempt {
	return notify.Attempt{
		DeliveryID: r.DeliveryID,
		Number:     r.Attempt,
		StartedAt:  r.StartedAt,
		Duration:   time.Duration(r.DurationMS * float64(time.Millisecond)),
		StatusCode: int(r.StatusCode.Int32),
		Error:      r.Error,
		Outcome:    notify.Status(r.Outcome),
	}
}
