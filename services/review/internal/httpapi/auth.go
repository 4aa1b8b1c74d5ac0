package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"example.com/creativesync/platform/apperr"
)

// sessionCookie holds a reviewer's signed name and expiry. It is scoped to
// /reviews, HttpOnly and SameSite=Strict, so other sites can neither read it
// nor make a browser send it with a forged form post.
const (
	sessionCookie = "review_session"
	sessionTTL    = 12 * time.Hour
	pagePath      = "/reviews"
)

// auth checks reviewer credentials against REVIEWER_TOKEN.
type auth struct {
	token []byte
	now   func() time.Time
}

// tokenOK compares in constant time; hashing first also hides the token's
// length.
func (a auth) tokenOK(got string) bool {
	want := sha256.Sum256(a.token)
	have := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(want[:], have[:]) == 1
}

// requireBearer guards the JSON API. Browsers never attach Authorization
// headers on their own, so the API needs no CSRF defence.
func (a auth) requireBearer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || !a.tokenOK(strings.TrimSpace(token)) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="review"`)
			writeJSON(w, http.StatusUnauthorized, errorBody{Error: errorJSON{
				Code:    codeUnauthorized,
				Message: "send the reviewer token as Authorization: Bearer <REVIEWER_TOKEN>",
			}})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// mac signs a session with a key derived from the token, so rotating
// REVIEWER_TOKEN ends every session and the cookie never holds the token.
func (a auth) mac(reviewer string, expires int64) []byte {
	key := sha256.Sum256(append([]byte("review-session:"), a.token...))
	m := hmac.New(sha256.New, key[:])
	m.Write([]byte(reviewer))
	m.Write([]byte{0})
	m.Write([]byte(strconv.FormatInt(expires, 10)))
	return m.Sum(nil)
}

func (a auth) newSession(w http.ResponseWriter, r *http.Request, reviewer string) {
	expires := a.now().Add(sessionTTL).Unix()
	value := base64.RawURLEncoding.EncodeToString([]byte(reviewer)) + "." +
		strconv.FormatInt(expires, 10) + "." + hex.EncodeToString(a.mac(reviewer, expires))
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    value,
		Path:     pagePath,
		MaxAge:   int(sessionTTL / time.Second),
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

// session returns the signed-in reviewer, or false.
func (a auth) session(r *http.Request) (string, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", false
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 3 {
		return "", false
	}
	name, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return "", false
	}
	expires, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || a.now().Unix() > expires {
		return "", false
	}
	sig, err := hex.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, a.mac(string(name), expires)) {
		return "", false
	}
	return string(name), true
}

// isHTTPS decides the cookie's Secure flag. Behind a TLS-terminating proxy
// X-Forwarded-Proto says so; on plain http (a dev box, an SSH tunnel) a
// Secure cookie would never come back and login would silently fail.
func isHTTPS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func errUnauthorized(msg string) error { return apperr.New(codeUnauthorized, msg) }
