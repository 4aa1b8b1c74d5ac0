package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"example.com/creativesync/platform/apperr"
	"example.com/creativesync/services/review/internal/staff"
)

// sessionCookie holds a random session id; the session itself (who, until
// when, revoked or not) lives in the database, so sign-out and revocation
// end it at once. The cookie is scoped to /reviews, HttpOnly and
// SameSite=Strict, so other sites can neither read it nor make a browser
// send it with a forged form post.
const (
	sessionCookie = "review_session"
	pagePath      = "/reviews"
)

// Staff is what the HTTP edge needs of reviewer accounts.
type Staff interface {
	Authenticate(ctx context.Context, email, password string) (staff.Reviewer, error)
	StartSession(ctx context.Context, r staff.Reviewer) (string, time.Time, error)
	Session(ctx context.Context, id string) (staff.Reviewer, error)
	EndSession(ctx context.Context, id string) error
	TokenReviewer(ctx context.Context, token string) (staff.Reviewer, error)
	RevokeSessions(ctx context.Context, actor, email string) (int64, error)
	AuditLog(ctx context.Context, subject string, limit int) ([]staff.AuditRecord, error)
	OIDCReviewer(ctx context.Context, id staff.OIDCIdentity) (staff.Reviewer, error)
}

// devReviewer is who the development-only shared token acts as. Its e-mail
// is not an address, so decisions made with it stand out in any audit.
var devReviewer = staff.Reviewer{Email: "shared-token (development)", Name: "shared development token", Role: staff.RoleAdmin}

// auth resolves credentials to a reviewer.
type auth struct {
	staff Staff
	// devToken is REVIEWER_TOKEN, a development switch: when set, the API
	// also accepts it as an admin. The page never does.
	devToken []byte
	logger   *slog.Logger
}

type reviewerKey struct{}

func withReviewer(ctx context.Context, r staff.Reviewer) context.Context {
	return context.WithValue(ctx, reviewerKey{}, r)
}

// reviewerOf returns the authenticated reviewer a middleware stored.
func reviewerOf(ctx context.Context) staff.Reviewer {
	r, _ := ctx.Value(reviewerKey{}).(staff.Reviewer)
	return r
}

// devTokenOK compares in constant time; hashing first also hides the
// token's length.
func (a auth) devTokenOK(got string) bool {
	if len(a.devToken) == 0 {
		return false
	}
	want := sha256.Sum256(a.devToken)
	have := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(want[:], have[:]) == 1
}

// requireBearer guards the JSON API with a reviewer's API token and checks
// the role. Browsers never attach Authorization headers on their own, so
// the API needs no CSRF defence.
func (a auth) requireBearer(min staff.Role, what string, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		token = strings.TrimSpace(token)
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			unauthorized(w, "send a reviewer API token as Authorization: Bearer rvt_…; create one with `review admin token`")
			return
		}
		var who staff.Reviewer
		if a.devTokenOK(token) {
			who = devReviewer
		} else {
			var err error
			if who, err = a.staff.TokenReviewer(r.Context(), token); err != nil {
				if e := apperr.As(err); e != nil && e.Code == staff.CodeUnauthorized {
					unauthorized(w, e.Message)
					return
				}
				writeError(w, r, a.logger, err)
				return
			}
		}
		if err := staff.Require(who, min, what); err != nil {
			writeError(w, r, a.logger, err)
			return
		}
		next(w, r.WithContext(withReviewer(r.Context(), who)))
	})
}

func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="review"`)
	writeJSON(w, http.StatusUnauthorized, errorBody{Error: errorJSON{Code: codeUnauthorized, Message: msg}})
}

// session returns the signed-in reviewer of a page request.
func (a auth) session(r *http.Request) (staff.Reviewer, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return staff.Reviewer{}, false
	}
	who, err := a.staff.Session(r.Context(), c.Value)
	return who, err == nil
}

func sessionID(r *http.Request) string {
	if c, err := r.Cookie(sessionCookie); err == nil {
		return c.Value
	}
	return ""
}

func setSessionCookie(w http.ResponseWriter, r *http.Request, id string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    id,
		Path:     pagePath,
		MaxAge:   int(time.Until(expires) / time.Second),
		HttpOnly: true,
		Secure:   isHTTPS(r),
		SameSite: http.SameSiteStrictMode,
	})
}

func clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: pagePath, MaxAge: -1,
		HttpOnly: true, Secure: isHTTPS(r), SameSite: http.SameSiteStrictMode,
	})
}

// isHTTPS decides the cookie's Secure flag. Behind a TLS-terminating proxy
// X-Forwarded-Proto says so; on plain http (a dev box, an SSH tunnel) a
// Secure cookie would never come back and login would silently fail.
func isHTTPS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func errUnauthorized(msg string) error { return apperr.New(codeUnauthorized, msg) }
