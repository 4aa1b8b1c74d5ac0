package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"example.com/creativesync/services/review/internal/staff"
)

// OIDCConfig enables "sign in with your company account" on the page.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL; its discovery document is read
	// from Issuer/.well-known/openid-configuration.
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is this service's /reviews/oidc/callback as the
	// provider reaches it back through the browser.
	RedirectURL string
	// Name is shown on the sign-in button.
	Name string
	// HTTPClient talks to the provider; nil means http.DefaultClient.
	HTTPClient *http.Client
}

// oidcFlowCookie carries the state, nonce and PKCE verifier of one sign-in
// from /reviews/oidc/login to the callback. It is SameSite=Lax because the
// callback is a top-level navigation coming back from the provider's
// site, which a Strict cookie would not survive.
const (
	oidcFlowCookie = "review_oidc"
	oidcFlowPath   = pagePath + "/oidc"
	oidcFlowTTL    = 10 * time.Minute
)

// oidcLogin runs the authorization-code flow with PKCE, state and nonce.
type oidcLogin struct {
	cfg   OIDCConfig
	staff Staff
	page  page

	mu       sync.Mutex
	provider *oidc.Provider
}

// discover reads the provider's discovery document once it answers. It
// is lazy so a provider that is down at our start only breaks OIDC
// sign-in (with a precise message), not the service or password sign-in.
func (o *oidcLogin) discover(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(o.clientContext(ctx), o.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("reading the discovery document of %s: %w", o.cfg.Issuer, err)
	}
	o.provider = p
	return p, nil
}

func (o *oidcLogin) clientContext(ctx context.Context) context.Context {
	if o.cfg.HTTPClient != nil {
		return oidc.ClientContext(ctx, o.cfg.HTTPClient)
	}
	return ctx
}

func (o *oidcLogin) oauth(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     o.cfg.ClientID,
		ClientSecret: o.cfg.ClientSecret,
		RedirectURL:  o.cfg.RedirectURL,
		Endpoint:     p.Endpoint(),
		Scopes:       []string{oidc.ScopeOpenID, "email", "profile"},
	}
}

func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (o *oidcLogin) start(w http.ResponseWriter, r *http.Request) {
	p, err := o.discover(r.Context())
	if err != nil {
		o.page.logger.ErrorContext(r.Context(), "OIDC discovery failed", "err", err)
		o.page.render(w, r, http.StatusBadGateway, "login", loginData{OIDCName: o.cfg.Name,
			Error: "The identity provider cannot be reached right now; sign in with your password or try again later."}, nil)
		return
	}
	state, nonce, verifier := randomString(), randomString(), oauth2.GenerateVerifier()
	http.SetCookie(w, &http.Cookie{
		Name: oidcFlowCookie, Value: state + "." + nonce + "." + verifier, Path: oidcFlowPath,
		MaxAge: int(oidcFlowTTL / time.Second), HttpOnly: true, Secure: isHTTPS(r), SameSite: http.SameSiteLaxMode,
	})
	url := o.oauth(p).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
	http.Redirect(w, r, url, http.StatusFound)
}

func (o *oidcLogin) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	http.SetCookie(w, &http.Cookie{Name: oidcFlowCookie, Value: "", Path: oidcFlowPath, MaxAge: -1, HttpOnly: true, Secure: isHTTPS(r), SameSite: http.SameSiteLaxMode})
	o.page.render(w, r, status, "login", loginData{OIDCName: o.cfg.Name, Error: msg}, nil)
}

func (o *oidcLogin) callback(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(oidcFlowCookie)
	parts := []string{}
	if err == nil {
		parts = strings.Split(c.Value, ".")
	}
	if len(parts) != 3 {
		o.fail(w, r, http.StatusBadRequest, "This sign-in was not started here or took longer than 10 minutes; start again.")
		return
	}
	state, nonce, verifier := parts[0], parts[1], parts[2]
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		o.fail(w, r, http.StatusUnauthorized, "The identity provider refused the sign-in: "+clip(e+" "+q.Get("error_description"), 200))
		return
	}
	// The state ties the answer to the browser that asked: without it a
	// forged callback could sign someone in as the attacker.
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
		o.fail(w, r, http.StatusBadRequest, "The sign-in answer does not belong to this browser's sign-in; start again.")
		return
	}
	p, err := o.discover(r.Context())
	if err != nil {
		o.fail(w, r, http.StatusBadGateway, "The identity provider cannot be reached right now; try again later.")
		return
	}
	ctx := o.clientContext(r.Context())
	tok, err := o.oauth(p).Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		o.page.logger.WarnContext(r.Context(), "OIDC code exchange failed", "err", err)
		o.fail(w, r, http.StatusUnauthorized, "The identity provider did not accept the sign-in code; start again.")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		o.fail(w, r, http.StatusUnauthorized, "The identity provider sent no ID token.")
		return
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID}).Verify(ctx, raw)
	if err != nil {
		o.page.logger.WarnContext(r.Context(), "OIDC ID token rejected", "err", err)
		o.fail(w, r, http.StatusUnauthorized, "The identity provider's ID token did not verify.")
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		o.fail(w, r, http.StatusUnauthorized, "The ID token was issued for another sign-in (nonce mismatch); start again.")
		return
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
	}
	if err := idt.Claims(&claims); err != nil {
		o.fail(w, r, http.StatusUnauthorized, "The ID token's claims could not be read.")
		return
	}
	who, err := o.staff.OIDCReviewer(r.Context(), staff.OIDCIdentity{
		Issuer: idt.Issuer, Subject: idt.Subject, Email: claims.Email, EmailVerified: claims.EmailVerified,
	})
	if err != nil {
		status, e := publicError(r, o.page.logger, err)
		o.fail(w, r, status, e.Message)
		return
	}
	id, expires, err := o.staff.StartSession(r.Context(), who)
	if err != nil {
		o.page.renderError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: oidcFlowCookie, Value: "", Path: oidcFlowPath, MaxAge: -1, HttpOnly: true, Secure: isHTTPS(r), SameSite: http.SameSiteLaxMode})
	setSessionCookie(w, r, id, expires)
	o.page.logger.InfoContext(r.Context(), "reviewer signed in through OIDC", "email", who.Email, "issuer", idt.Issuer)
	// A page rather than a redirect: the browser arrived here from the
	// provider's site, and a redirect in that chain would not carry the
	// SameSite=Strict session cookie; a fresh navigation from our own page
	// does.
	o.page.render(w, r, http.StatusOK, "continue", nil, nil)
}
