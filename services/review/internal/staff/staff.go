// Package staff is who may review: reviewer accounts with a role, their
// passwords (argon2id), the page's server-side sessions and per-reviewer API
// tokens. It knows nothing of Postgres or HTTP; Store is implemented by the
// postgres package and the HTTP edge turns its errors into statuses.
package staff

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"

	"example.com/creativesync/platform/apperr"
)

// Role is what a reviewer may do. Roles are ordered: a lead can do what a
// reviewer can, an admin what a lead can.
type Role string

const (
	// RoleReviewer lists, claims and decides queued creatives.
	RoleReviewer Role = "reviewer"
	// RoleLead also manages accounts' content standards and releases other
	// reviewers' claims.
	RoleLead Role = "lead"
	// RoleAdmin also reads the audit log and revokes other reviewers'
	// sessions.
	RoleAdmin Role = "admin"
)

func (r Role) rank() int {
	switch r {
	case RoleReviewer:
		return 1
	case RoleLead:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r.rank() > 0 }

// AtLeast reports whether r includes min.
func (r Role) AtLeast(min Role) bool { return r.Valid() && r.rank() >= min.rank() }

// Error codes of this package.
const (
	CodeInvalid      = "INVALID_REQUEST"
	CodeUnauthorized = "UNAUTHORIZED"
	CodeForbidden    = "FORBIDDEN"
	CodeNotFound     = "REVIEWER_NOT_FOUND"
	CodeExists       = "REVIEWER_EXISTS"
)

// ErrNoMatch is what stores return when a session, token or reviewer does
// not exist (or no longer counts); the service turns it into a precise,
// non-revealing error.
var ErrNoMatch = errors.New("no match")

// Reviewer is a person with an account.
type Reviewer struct {
	ID       int64
	Email    string
	Name     string
	Role     Role
	Disabled bool
	// PasswordSet is false for people who only sign in through OIDC.
	PasswordSet bool
	CreatedAt   time.Time
}

// Store persists accounts, sessions and tokens.
type Store interface {
	CreateReviewer(ctx context.Context, r Reviewer, passwordHash string) (Reviewer, error)
	// ReviewerByEmail returns the reviewer and its password hash ("" if
	// none), or ErrNoMatch.
	ReviewerByEmail(ctx context.Context, email string) (Reviewer, string, error)
	ListReviewers(ctx context.Context) ([]Reviewer, error)
	SetPassword(ctx context.Context, email, hash string) error
	SetRole(ctx context.Context, email string, role Role) error
	// SetDisabled disables or enables a reviewer; disabling revokes every
	// session and token in the same transaction.
	SetDisabled(ctx context.Context, email string, disabled bool) error

	// ReviewerByOIDC returns the reviewer linked to an OIDC identity, or
	// ErrNoMatch.
	ReviewerByOIDC(ctx context.Context, issuer, subject string) (Reviewer, error)
	// LinkOIDC links an OIDC identity to the reviewer with email, unless
	// that reviewer is linked to another identity already (ErrNoMatch).
	LinkOIDC(ctx context.Context, email, issuer, subject string) (Reviewer, error)

	CreateSession(ctx context.Context, idHash []byte, reviewerID int64, expires time.Time) error
	// SessionReviewer returns the reviewer of a live session: not revoked,
	// not expired at now, its reviewer not disabled. Otherwise ErrNoMatch.
	SessionReviewer(ctx context.Context, idHash []byte, now time.Time) (Reviewer, error)
	RevokeSession(ctx context.Context, idHash []byte) error
	// RevokeSessions ends every live session of a reviewer and says how many.
	RevokeSessions(ctx context.Context, email string) (int64, error)

	CreateToken(ctx context.Context, hash []byte, reviewerID int64, label string) error
	// TokenReviewer returns the reviewer of a live token, or ErrNoMatch.
	TokenReviewer(ctx context.Context, hash []byte) (Reviewer, error)
	// RevokeTokens revokes a reviewer's tokens with label, or all of them
	// when label is empty, and says how many.
	RevokeTokens(ctx context.Context, email, label string) (int64, error)

	// Audit appends a record to the audit log.
	Audit(ctx context.Context, actor, action, subject string, detail map[string]any) error
	// AuditLog returns the newest records first, about subject (all when
	// empty).
	AuditLog(ctx context.Context, subject string, limit int) ([]AuditRecord, error)
}

// AuditRecord is one entry of the audit log.
type AuditRecord struct {
	At      time.Time      `json:"at"`
	Actor   string         `json:"actor"`
	Action  string         `json:"action"`
	Subject string         `json:"subject"`
	Detail  map[string]any `json:"detail"`
}

// AuditLog returns up to limit records about subject (all when empty),
// newest first.
func (s *Service) AuditLog(ctx context.Context, subject string, limit int) ([]AuditRecord, error) {
	if limit < 1 || limit > 500 {
		return nil, invalidf("limit", "limit must be between 1 and 500, got %d", limit)
	}
	return s.store.AuditLog(ctx, subject, limit)
}

// DefaultSessionTTL is how long a page sign-in lasts at most; a work day
// plus slack. Sign-out ends it sooner.
const DefaultSessionTTL = 12 * time.Hour

// Limits on what accounts hold.
const (
	minPasswordLen = 12
	maxPasswordLen = 256
	maxNameLen     = 200
	maxLabelLen    = 100
)

// Params are the argon2id cost parameters; DefaultParams is OWASP's
// minimum-memory recommendation for argon2id (19 MiB, t=2, p=1), which
// hashes in tens of milliseconds so sign-in stays quick.
var DefaultParams = &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// Service runs account, session and token use cases.
type Service struct {
	store      Store
	params     *argon2id.Params
	sessionTTL time.Duration
	now        func() time.Time
	// dummyHash is compared against when an e-mail is unknown, so a wrong
	// address costs the same time as a wrong password and sign-in does
	// not reveal who has an account. Made on first use: commands that
	// never sign anyone in should not pay for a hash.
	dummyOnce sync.Once
	dummyHash string
}

func (s *Service) dummy() string {
	s.dummyOnce.Do(func() {
		h, err := argon2id.CreateHash("not a password of anyone", s.params)
		if err != nil {
			panic(fmt.Sprintf("staff: hashing: %v", err))
		}
		s.dummyHash = h
	})
	return s.dummyHash
}

// NewService returns the service; params nil means DefaultParams.
func NewService(store Store, params *argon2id.Params) *Service {
	if store == nil {
		panic("staff: nil store")
	}
	if params == nil {
		params = DefaultParams
	}
	return &Service{store: store, params: params, sessionTTL: DefaultSessionTTL, now: time.Now}
}

// SetClock replaces the clock (tests of expiry).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

func invalidf(field, format string, args ...any) error {
	return apperr.Newf(CodeInvalid, format, args...).WithField(field)
}

// NormalizeEmail lower-cases and checks an address. Only a bare address is
// accepted ("Ana <ana@x>" is refused), so the audit trail shows one form.
func NormalizeEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	if e == "" {
		return "", invalidf("email", "email is required")
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" {
		return "", invalidf("email", "email %q is not a bare e-mail address like ana@seller.example", email)
	}
	return e, nil
}

func checkPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < minPasswordLen {
		return invalidf("password", "password must have at least %d characters, got %d", minPasswordLen, n)
	}
	if len(pw) > maxPasswordLen {
		return invalidf("password", "password must be at most %d bytes", maxPasswordLen)
	}
	return nil
}

// NewReviewer describes an account to create.
type NewReviewer struct {
	Email string
	Name  string
	Role  Role
	// Password may be empty for an OIDC-only reviewer.
	Password string
}

// AddReviewer creates an account. actor is who did it, for the audit log.
func (s *Service) AddReviewer(ctx context.Context, actor string, n NewReviewer) (Reviewer, error) {
	email, err := NormalizeEmail(n.Email)
	if err != nil {
		return Reviewer{}, err
	}
	name := strings.TrimSpace(n.Name)
	if name == "" {
		name = email
	}
	if utf8.RuneCountInString(name) > maxNameLen {
		return Reviewer{}, invalidf("name", "name is longer than %d characters", maxNameLen)
	}
	if !n.Role.Valid() {
		return Reviewer{}, invalidf("role", "role must be reviewer, lead or admin, got %q", n.Role)
	}
	var hash string
	if n.Password != "" {
		if err := checkPassword(n.Password); err != nil {
			return Reviewer{}, err
		}
		if hash, err = argon2id.CreateHash(n.Password, s.params); err != nil {
			return Reviewer{}, fmt.Errorf("hashing password: %w", err)
		}
	}
	r, err := s.store.CreateReviewer(ctx, Reviewer{Email: email, Name: name, Role: n.Role}, hash)
	if err != nil {
		return Reviewer{}, err
	}
	return r, s.store.Audit(ctx, actor, "reviewer.create", "reviewer:"+email, map[string]any{"role": string(n.Role), "name": name})
}

// SetPassword replaces a reviewer's password and ends their sessions, so a
// leaked password stops working everywhere it was used.
func (s *Service) SetPassword(ctx context.Context, actor, email, password string) error {
	email, err := NormalizeEmail(email)
	if err != nil {
		return err
	}
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := argon2id.CreateHash(password, s.params)
	if err != nil {
		return fmt.Errorf("hashing password: %w", err)
	}
	if err := s.store.SetPassword(ctx, email, hash); err != nil {
		return s.notFound(err, email)
	}
	if _, err := s.store.RevokeSessions(ctx, email); err != nil {
		return err
	}
	return s.store.Audit(ctx, actor, "reviewer.password", "reviewer:"+email, nil)
}

// SetRole changes what a reviewer may do.
func (s *Service) SetRole(ctx context.Context, actor, email string, role Role) error {
	email, err := NormalizeEmail(email)
	if err != nil {
		return err
	}
	if !role.Valid() {
		return invalidf("role", "role must be reviewer, lead or admin, got %q", role)
	}
	if err := s.store.SetRole(ctx, email, role); err != nil {
		return s.notFound(err, email)
	}
	return s.store.Audit(ctx, actor, "reviewer.role", "reviewer:"+email, map[string]any{"role": string(role)})
}

// SetDisabled disables (ending every session and token) or re-enables a
// reviewer. Accounts are never deleted: decisions refer to them.
func (s *Service) SetDisabled(ctx context.Context, actor, email string, disabled bool) error {
	email, err := NormalizeEmail(email)
	if err != nil {
		return err
	}
	if err := s.store.SetDisabled(ctx, email, disabled); err != nil {
		return s.notFound(err, email)
	}
	action := "reviewer.enable"
	if disabled {
		action = "reviewer.disable"
	}
	return s.store.Audit(ctx, actor, action, "reviewer:"+email, nil)
}

// List returns every account.
func (s *Service) List(ctx context.Context) ([]Reviewer, error) { return s.store.ListReviewers(ctx) }

func (s *Service) notFound(err error, email string) error {
	if errors.Is(err, ErrNoMatch) {
		return apperr.Newf(CodeNotFound, "no reviewer with e-mail %q", email).WithField("email")
	}
	return err
}

// errBadCredentials is the one answer to a failed sign-in, whether the
// e-mail, the password or the account's state was wrong.
func errBadCredentials() error {
	return apperr.New(CodeUnauthorized, "e-mail or password is wrong, or the account is disabled")
}

// Authenticate checks an e-mail and password.
func (s *Service) Authenticate(ctx context.Context, email, password string) (Reviewer, error) {
	e, err := NormalizeEmail(email)
	if err != nil {
		return Reviewer{}, err
	}
	r, hash, err := s.store.ReviewerByEmail(ctx, e)
	if err != nil && !errors.Is(err, ErrNoMatch) {
		return Reviewer{}, err
	}
	if hash == "" {
		// Unknown, or OIDC-only: spend the time a real check would.
		_, _ = argon2id.ComparePasswordAndHash(password, s.dummy())
		return Reviewer{}, errBadCredentials()
	}
	ok, err := argon2id.ComparePasswordAndHash(password, hash)
	if err != nil {
		return Reviewer{}, fmt.Errorf("checking password of %s: %w", e, err)
	}
	if !ok || r.Disabled {
		return Reviewer{}, errBadCredentials()
	}
	return r, nil
}

// OIDCIdentity is what a verified ID token says about a person.
type OIDCIdentity struct {
	Issuer        string
	Subject       string
	Email         string
	EmailVerified bool
}

// OIDCReviewer maps a verified OIDC identity to a reviewer account. An
// identity seen before signs in as the reviewer it is linked to, whatever
// its e-mail says now. A new identity is linked to the account with its
// e-mail only if the provider verified that e-mail, so nobody can claim an
// account by setting an unverified address. Accounts are never created
// here: an admin decides who reviews.
func (s *Service) OIDCReviewer(ctx context.Context, id OIDCIdentity) (Reviewer, error) {
	refuse := func(msg string) (Reviewer, error) {
		return Reviewer{}, apperr.New(CodeForbidden, msg)
	}
	if id.Issuer == "" || id.Subject == "" {
		return refuse("the identity provider's token has no issuer or subject")
	}
	r, err := s.store.ReviewerByOIDC(ctx, id.Issuer, id.Subject)
	switch {
	case err == nil:
	case errors.Is(err, ErrNoMatch):
		if !id.EmailVerified {
			return refuse("your identity provider has not verified your e-mail, so it cannot be matched to a reviewer account")
		}
		email, err := NormalizeEmail(id.Email)
		if err != nil {
			return refuse("your identity provider sent no usable e-mail address")
		}
		r, err = s.store.LinkOIDC(ctx, email, id.Issuer, id.Subject)
		if errors.Is(err, ErrNoMatch) {
			return refuse(fmt.Sprintf("there is no reviewer account for %s (or it is linked to another sign-in); ask an admin to run `review admin add`", email))
		}
		if err != nil {
			return Reviewer{}, err
		}
		if err := s.store.Audit(ctx, email, "reviewer.oidc_link", "reviewer:"+email, map[string]any{"issuer": id.Issuer, "subject": id.Subject}); err != nil {
			return Reviewer{}, err
		}
	default:
		return Reviewer{}, err
	}
	if r.Disabled {
		return refuse("this reviewer account is disabled")
	}
	return r, nil
}

// newSecret returns 32 random bytes, URL-safe, and their SHA-256.
func newSecret(prefix string) (string, []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	secret := prefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, hashSecret(secret)
}

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// StartSession opens a page session for an authenticated reviewer and
// returns the secret the cookie carries and when it expires.
func (s *Service) StartSession(ctx context.Context, r Reviewer) (string, time.Time, error) {
	id, hash := newSecret("")
	expires := s.now().Add(s.sessionTTL).UTC()
	if err := s.store.CreateSession(ctx, hash, r.ID, expires); err != nil {
		return "", time.Time{}, err
	}
	return id, expires, nil
}

// Session returns the reviewer of a live session.
func (s *Service) Session(ctx context.Context, id string) (Reviewer, error) {
	if id == "" {
		return Reviewer{}, apperr.New(CodeUnauthorized, "sign in first")
	}
	r, err := s.store.SessionReviewer(ctx, hashSecret(id), s.now())
	if errors.Is(err, ErrNoMatch) {
		return Reviewer{}, apperr.New(CodeUnauthorized, "your session has ended (signed out, expired or revoked); sign in again")
	}
	return r, err
}

// EndSession revokes a session (sign-out). Ending an unknown or ended
// session is not an error: the outcome the caller wants holds.
func (s *Service) EndSession(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	return s.store.RevokeSession(ctx, hashSecret(id))
}

// RevokeSessions ends every session of a reviewer (an admin action).
func (s *Service) RevokeSessions(ctx context.Context, actor, email string) (int64, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return 0, err
	}
	if _, _, err := s.store.ReviewerByEmail(ctx, email); err != nil {
		return 0, s.notFound(err, email)
	}
	n, err := s.store.RevokeSessions(ctx, email)
	if err != nil {
		return 0, err
	}
	return n, s.store.Audit(ctx, actor, "reviewer.revoke_sessions", "reviewer:"+email, map[string]any{"sessions": n})
}

// TokenPrefix marks reviewer API tokens, so a leaked one is recognisable
// in logs and by secret scanners.
const TokenPrefix = "rvt_"

// IssueToken creates an API token for a reviewer and returns it; only its
// hash is kept, so it is shown once.
func (s *Service) IssueToken(ctx context.Context, actor, email, label string) (string, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return "", err
	}
	label = strings.TrimSpace(label)
	if label == "" || utf8.RuneCountInString(label) > maxLabelLen {
		return "", invalidf("label", "label is required (up to %d characters), so the token can be revoked by name", maxLabelLen)
	}
	r, _, err := s.store.ReviewerByEmail(ctx, email)
	if err != nil {
		return "", s.notFound(err, email)
	}
	if r.Disabled {
		return "", invalidf("email", "reviewer %q is disabled", email)
	}
	tok, hash := newSecret(TokenPrefix)
	if err := s.store.CreateToken(ctx, hash, r.ID, label); err != nil {
		return "", err
	}
	return tok, s.store.Audit(ctx, actor, "token.issue", "reviewer:"+email, map[string]any{"label": label})
}

// RevokeTokens revokes a reviewer's tokens named label (all when empty).
func (s *Service) RevokeTokens(ctx context.Context, actor, email, label string) (int64, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return 0, err
	}
	n, err := s.store.RevokeTokens(ctx, email, strings.TrimSpace(label))
	if err != nil {
		return 0, err
	}
	return n, s.store.Audit(ctx, actor, "token.revoke", "reviewer:"+email, map[string]any{"label": label, "tokens": n})
}

// TokenReviewer returns the reviewer an API token belongs to.
func (s *Service) TokenReviewer(ctx context.Context, token string) (Reviewer, error) {
	if !strings.HasPrefix(token, TokenPrefix) {
		return Reviewer{}, apperr.New(CodeUnauthorized, "send a reviewer API token (rvt_…) as Authorization: Bearer; create one with `review admin token`")
	}
	r, err := s.store.TokenReviewer(ctx, hashSecret(token))
	if errors.Is(err, ErrNoMatch) {
		return Reviewer{}, apperr.New(CodeUnauthorized, "this API token is unknown, revoked, or its reviewer is disabled")
	}
	return r, err
}

// Require returns a FORBIDDEN error unless r has at least role min.
func Require(r Reviewer, min Role, what string) error {
	if r.Role.AtLeast(min) {
		return nil
	}
	return apperr.Newf(CodeForbidden, "%s needs the %s role; %s is a %s", what, min, r.Email, r.Role)
}
