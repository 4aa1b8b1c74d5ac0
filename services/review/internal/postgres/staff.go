package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"example.com/creativesync/platform/apperr"
	"example.com/creativesync/platform/pgdb"
	"example.com/creativesync/services/review/internal/staff"
)

// StaffStore implements staff.Store.
type StaffStore struct{ db *sqlx.DB }

var _ staff.Store = (*StaffStore)(nil)

// NewStaffStore returns the store of reviewer accounts over db.
func NewStaffStore(db *sqlx.DB) *StaffStore {
	if db == nil {
		panic("postgres: nil db")
	}
	return &StaffStore{db: db}
}

type reviewerRow struct {
	ID           int64          `db:"id"`
	Email        string         `db:"email"`
	DisplayName  string         `db:"display_name"`
	Role         string         `db:"role"`
	PasswordHash sql.NullString `db:"password_hash"`
	DisabledAt   sql.NullTime   `db:"disabled_at"`
	CreatedAt    time.Time      `db:"created_at"`
}

func (r reviewerRow) toReviewer() staff.Reviewer {
	return staff.Reviewer{
		ID: r.ID, Email: r.Email, Name: r.DisplayName, Role: staff.Role(r.Role),
		Disabled: r.DisabledAt.Valid, PasswordSet: r.PasswordHash.Valid, CreatedAt: r.CreatedAt.UTC(),
	}
}

const reviewerColumns = `r.id, r.email, r.display_name, r.role, r.password_hash, r.disabled_at, r.created_at`

// CreateReviewer implements staff.Store.
func (s *StaffStore) CreateReviewer(ctx context.Context, r staff.Reviewer, hash string) (staff.Reviewer, error) {
	var row reviewerRow
	err := s.db.GetContext(ctx, &row, `
INSERT INTO reviewers AS r (email, display_name, role, password_hash) VALUES ($1, $2, $3, $4)
RETURNING `+reviewerColumns, r.Email, r.Name, string(r.Role), nullString(hash))
	if pgdb.IsUniqueViolation(err) {
		return staff.Reviewer{}, apperr.Newf(staff.CodeExists, "a reviewer with e-mail %q exists already", r.Email).WithField("email")
	}
	if err != nil {
		return staff.Reviewer{}, fmt.Errorf("creating reviewer %s: %w", r.Email, err)
	}
	return row.toReviewer(), nil
}

// ReviewerByEmail implements staff.Store.
func (s *StaffStore) ReviewerByEmail(ctx context.Context, email string) (staff.Reviewer, string, error) {
	var row reviewerRow
	err := s.db.GetContext(ctx, &row, `SELECT `+reviewerColumns+` FROM reviewers r WHERE r.email = $1`, email)
	if errors.Is(err, sql.ErrNoRows) {
		return staff.Reviewer{}, "", staff.ErrNoMatch
	}
	if err != nil {
		return staff.Reviewer{}, "", fmt.Errorf("loading reviewer %s: %w", email, err)
	}
	return row.toReviewer(), row.PasswordHash.String, nil
}

// ListReviewers implements staff.Store.
func (s *StaffStore) ListReviewers(ctx context.Context) ([]staff.Reviewer, error) {
	var rows []reviewerRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT `+reviewerColumns+` FROM reviewers r ORDER BY r.email`); err != nil {
		return nil, fmt.Errorf("listing reviewers: %w", err)
	}
	out := make([]staff.Reviewer, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.toReviewer())
	}
	return out, nil
}

// updateOne runs an UPDATE that must touch exactly one reviewer.
func updateOne(ctx context.Context, ex sqlx.ExecerContext, q string, args ...any) error {
	res, err := ex.ExecContext(ctx, q, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return staff.ErrNoMatch
	}
	return nil
}

// SetPassword implements staff.Store.
func (s *StaffStore) SetPassword(ctx context.Context, email, hash string) error {
	return updateOne(ctx, s.db, `UPDATE reviewers SET password_hash = $2, updated_at = now() WHERE email = $1`, email, hash)
}

// SetRole implements staff.Store.
func (s *StaffStore) SetRole(ctx context.Context, email string, role staff.Role) error {
	return updateOne(ctx, s.db, `UPDATE reviewers SET role = $2, updated_at = now() WHERE email = $1`, email, string(role))
}

// SetDisabled implements staff.Store.
func (s *StaffStore) SetDisabled(ctx context.Context, email string, disabled bool) error {
	return pgdb.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if err := updateOne(ctx, tx, `
UPDATE reviewers SET disabled_at = CASE WHEN $2 THEN COALESCE(disabled_at, now()) END, updated_at = now()
WHERE email = $1`, email, disabled); err != nil {
			return err
		}
		if !disabled {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `
UPDATE reviewer_sessions SET revoked_at = now()
WHERE revoked_at IS NULL AND reviewer_id = (SELECT id FROM reviewers WHERE email = $1)`, email); err != nil {
			return fmt.Errorf("revoking sessions of %s: %w", email, err)
		}
		if _, err := tx.ExecContext(ctx, `
UPDATE reviewer_tokens SET revoked_at = now()
WHERE revoked_at IS NULL AND reviewer_id = (SELECT id FROM reviewers WHERE email = $1)`, email); err != nil {
			return fmt.Errorf("revoking tokens of %s: %w", email, err)
		}
		return nil
	})
}

// ReviewerByOIDC implements staff.Store.
func (s *StaffStore) ReviewerByOIDC(ctx context.Context, issuer, subject string) (staff.Reviewer, error) {
	var row reviewerRow
	err := s.db.GetContext(ctx, &row, `SELECT `+reviewerColumns+` FROM reviewers r WHERE r.oidc_issuer = $1 AND r.oidc_subject = $2`, issuer, subject)
	if errors.Is(err, sql.ErrNoRows) {
		return staff.Reviewer{}, staff.ErrNoMatch
	}
	if err != nil {
		return staff.Reviewer{}, fmt.Errorf("loading reviewer of %s %s: %w", issuer, subject, err)
	}
	return row.toReviewer(), nil
}

// LinkOIDC implements staff.Store. Only an unlinked account is linked, so
// a second identity cannot take over an account someone already uses.
func (s *StaffStore) LinkOIDC(ctx context.Context, email, issuer, subject string) (staff.Reviewer, error) {
	var row reviewerRow
	err := s.db.GetContext(ctx, &row, `
UPDATE reviewers AS r SET oidc_issuer = $2, oidc_subject = $3, updated_at = now()
WHERE r.email = $1 AND r.oidc_subject IS NULL
RETURNING `+reviewerColumns, email, issuer, subject)
	if errors.Is(err, sql.ErrNoRows) {
		return staff.Reviewer{}, staff.ErrNoMatch
	}
	if err != nil {
		return staff.Reviewer{}, fmt.Errorf("linking %s to %s %s: %w", email, issuer, subject, err)
	}
	return row.toReviewer(), nil
}

// CreateSession implements staff.Store.
func (s *StaffStore) CreateSession(ctx context.Context, idHash []byte, reviewerID int64, expires time.Time) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO reviewer_sessions (id_hash, reviewer_id, expires_at) VALUES ($1, $2, $3)`,
		idHash, reviewerID, expires); err != nil {
		return fmt.Errorf("creating session: %w", err)
	}
	return nil
}

// SessionReviewer implements staff.Store.
func (s *StaffStore) SessionReviewer(ctx context.Context, idHash []byte, now time.Time) (staff.Reviewer, error) {
	var row reviewerRow
	err := s.db.GetContext(ctx, &row, `
SELECT `+reviewerColumns+` FROM reviewer_sessions s JOIN reviewers r ON r.id = s.reviewer_id
WHERE s.id_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND r.disabled_at IS NULL`, idHash, now)
	if errors.Is(err, sql.ErrNoRows) {
		return staff.Reviewer{}, staff.ErrNoMatch
	}
	if err != nil {
		return staff.Reviewer{}, fmt.Errorf("loading session: %w", err)
	}
	return row.toReviewer(), nil
}

// RevokeSession implements staff.Store.
func (s *StaffStore) RevokeSession(ctx context.Context, idHash []byte) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE reviewer_sessions SET revoked_at = now() WHERE id_hash = $1 AND revoked_at IS NULL`, idHash); err != nil {
		return fmt.Errorf("revoking session: %w", err)
	}
	return nil
}

// RevokeSessions implements staff.Store.
func (s *StaffStore) RevokeSessions(ctx context.Context, email string) (int64, error) {
	res, err := s.db.ExecContext(ctx, `
UPDATE reviewer_sessions SET revoked_at = now()
WHERE revoked_at IS NULL AND reviewer_id = (SELECT id FROM reviewers WHERE email = $1)`, email)
	if err != nil {
		return 0, fmt.Errorf("revoking sessions of %s: %w", email, err)
	}
	return res.RowsAffected()
}

// CreateToken implements staff.Store.
func (s *StaffStore) CreateToken(ctx context.Context, hash []byte, reviewerID int64, label string) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO reviewer_tokens (token_hash, reviewer_id, label) VALUES ($1, $2, $3)`,
		hash, reviewerID, label); err != nil {
		return fmt.Errorf("creating token: %w", err)
	}
	return nil
}

// TokenReviewer implements staff.Store.
func (s *StaffStore) TokenReviewer(ctx context.Context, hash []byte) (staff.Reviewer, error) {
	var row reviewerRow
	err := s.db.GetContext(ctx, &row, `
SELECT `+reviewerColumns+` FROM reviewer_tokens t JOIN reviewers r ON r.id = t.reviewer_id
WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND r.disabled_at IS NULL`, hash)
	if errors.Is(err, sql.ErrNoRows) {
		return staff.Reviewer{}, staff.ErrNoMatch
	}
	if err != nil {
		return staff.Reviewer{}, fmt.Errorf("loading token: %w", err)
	}
	return row.toReviewer(), nil
}

// RevokeTokens implements staff.Store.
func (s *StaffStore) RevokeTokens(ctx context.Context, email, label string) (int64, error) {
	res, err := s.db.ExecContext(ctx, `
UPDATE reviewer_tokens SET revoked_at = now()
WHERE revoked_at IS NULL AND ($2 = '' OR label = $2)
  AND reviewer_id = (SELECT id FROM reviewers WHERE email = $1)`, email, label)
	if err != nil {
		return 0, fmt.Errorf("revoking tokens of %s: %w", email, err)
	}
	return res.RowsAffected()
}

// Audit implements staff.Store.
func (s *StaffStore) Audit(ctx context.Context, actor, action, subject string, detail map[string]any) error {
	return writeAudit(ctx, s.db, actor, action, subject, detail)
}

func writeAudit(ctx context.Context, ex sqlx.ExecerContext, actor, action, subject string, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{}
	}
	b, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("encoding audit detail: %w", err)
	}
	if _, err := ex.ExecContext(ctx, `INSERT INTO audit_log (actor, action, subject, detail) VALUES ($1, $2, $3, $4)`,
		actor, action, subject, string(b)); err != nil {
		return fmt.Errorf("writing audit record %s %s: %w", action, subject, err)
	}
	return nil
}

// AuditLog implements staff.Store.
func (s *StaffStore) AuditLog(ctx context.Context, subject string, limit int) ([]staff.AuditRecord, error) {
	var rows []struct {
		At      time.Time `db:"at"`
		Actor   string    `db:"actor"`
		Action  string    `db:"action"`
		Subject string    `db:"subject"`
		Detail  string    `db:"detail"`
	}
	if err := s.db.SelectContext(ctx, &rows, `
SELECT at, actor, action, subject, detail FROM audit_log
WHERE ($1 = '' OR subject = $1) ORDER BY id DESC LIMIT $2`, subject, limit); err != nil {
		return nil, fmt.Errorf("reading audit log: %w", err)
	}
	out := make([]staff.AuditRecord, 0, len(rows))
	for _, r := range rows {
		rec := staff.AuditRecord{At: r.At.UTC(), Actor: r.Actor, Action: r.Action, Subject: r.Subject}
		_ = json.Unmarshal([]byte(r.Detail), &rec.Detail)
		out = append(out, rec)
	}
	return out, nil
}
