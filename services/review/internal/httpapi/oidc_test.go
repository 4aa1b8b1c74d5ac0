package httpapi_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/creativesync/services/review/internal/httpapi"
)

// identity is who the stand-in provider signs in next.
type identity struct {
	sub, email string
	verified   bool
}

// idp is a small OpenID Connect provider: discovery, JWKS, an authorize
// endpoint that signs the configured identity in at once, and a token
// endpoint that checks the client secret, the redirect URI and the PKCE
// verifier before issuing an RS256 ID token. Written for these tests; the
// service talks to it with the real go-oidc and x/oauth2 clients.
type idp struct {
	t      *testing.T
	srv    *httptest.Server
	key    *rsa.PrivateKey
	rogue  *rsa.PrivateKey // signs tokens when forge is set
	client string
	secret string

	mu        sync.Mutex
	next      identity
	badNonce  bool
	forge     bool
	grants    map[string]grant
	exchanges int
}

type grant struct {
	id                            identity
	nonce, challenge, redirectURI string
}

func newIDP(t *testing.T) *idp {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rogue, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &idp{t: t, key: key, rogue: rogue, client: "review-test", secret: "client-secret", grants: map[string]grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *idp) set(id identity) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next = id
}

func (p *idp) discovery(w http.ResponseWriter, _ *http.Request) {
	u := p.srv.URL
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer": u, "authorization_endpoint": u + "/authorize", "token_endpoint": u + "/token", "jwks_uri": u + "/jwks",
		"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"}, "code_challenge_methods_supported": []string{"S256"},
	})
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (p *idp) jwks(w http.ResponseWriter, _ *http.Request) {
	_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
		"n": b64(p.key.N.Bytes()), "e": b64(big.NewInt(int64(p.key.E)).Bytes()),
	}}})
}

func (p *idp) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != p.client || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" ||
		q.Get("code_challenge") == "" || q.Get("nonce") == "" || !strings.Contains(q.Get("scope"), "openid") {
		http.Error(w, "bad authorization request: "+r.URL.RawQuery, http.StatusBadRequest)
		return
	}
	code := b64([]byte(fmt.Sprintf("code-%d", time.Now().UnixNano())))
	p.mu.Lock()
	p.grants[code] = grant{id: p.next, nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirectURI: q.Get("redirect_uri")}
	p.mu.Unlock()
	back, _ := url.Parse(q.Get("redirect_uri"))
	back.RawQuery = url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (p *idp) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	p.mu.Lock()
	g, found := p.grants[r.PostForm.Get("code")]
	delete(p.grants, r.PostForm.Get("code")) // codes are single-use
	p.exchanges++
	badNonce, forge := p.badNonce, p.forge
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case id != p.client || secret != p.secret:
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":"invalid_client"}`)
		return
	case !found || r.PostForm.Get("redirect_uri") != g.redirectURI || b64(sum[:]) != g.challenge:
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":"invalid_grant"}`)
		return
	}
	nonce := g.nonce
	if badNonce {
		nonce = "someone-else's"
	}
	key := p.key
	if forge {
		key = p.rogue
	}
	now := time.Now()
	claims, _ := json.Marshal(map[string]any{
		"iss": p.srv.URL, "sub": g.id.sub, "aud": p.client, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"nonce": nonce, "email": g.id.email, "email_verified": g.id.verified,
	})
	head, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": "k1", "typ": "JWT"})
	signing := b64(head) + "." + b64(claims)
	digest := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		p.t.Error(err)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": "at-" + g.id.sub, "token_type": "Bearer", "expires_in": 300, "id_token": signing + "." + b64(sig),
	})
}

// browser is a client with a cookie jar that follows redirects, as a
// browser going through the provider and back would.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestOIDCSignIn(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	e := newEnvWith(t, "", func(base string) *httpapi.OIDCConfig {
		return &httpapi.OIDCConfig{Issuer: p.srv.URL, ClientID: p.client, ClientSecret: p.secret,
			RedirectURL: base + "/reviews/oidc/callback", Name: "Seller SSO"}
	})
	signIn := func(c *http.Client) (int, string) {
		t.Helper()
		return get(t, c, e.srv.URL+"/reviews/oidc/login")
	}

	if _, body := get(t, browser(t), e.srv.URL+"/reviews"); !strings.Contains(body, "Sign in with Seller SSO") {
		t.Fatalf("login page lacks the OIDC button: %s", body)
	}

	// A verified e-mail of an existing reviewer links the identity.
	p.set(identity{sub: "sub-ana", email: "ana@seller.example", verified: true})
	ana := browser(t)
	if status, body := signIn(ana); status != http.StatusOK || !strings.Contains(body, `id="continue"`) {
		t.Fatalf("sign-in: %d %s", status, body)
	}
	if _, body := get(t, ana, e.srv.URL+"/reviews"); !strings.Contains(body, `Signed in as <strong id="me">ana@seller.example</strong>`) {
		t.Fatalf("after sign-in: %s", body)
	}
	// Linked: the subject signs in as ana even if the provider's e-mail
	// changes later.
	p.set(identity{sub: "sub-ana", email: "ana.new@seller.example", verified: true})
	again := browser(t)
	signIn(again)
	if _, body := get(t, again, e.srv.URL+"/reviews"); !strings.Contains(body, "ana@seller.example</strong>") {
		t.Fatalf("linked sign-in: %s", body)
	}
	recs, err := e.staff.AuditLog(context.Background(), "reviewer:ana@seller.example", 10)
	if err != nil || recs[0].Action != "reviewer.oidc_link" || recs[0].Detail["subject"] != "sub-ana" {
		t.Fatalf("audit: %+v %v", recs, err)
	}

	for _, tt := range []struct {
		name   string
		id     identity
		mod    func()
		status int
		want   string
	}{
		{"no account", identity{"sub-x", "stranger@seller.example", true}, nil, http.StatusForbidden, "no reviewer account"},
		{"unverified e-mail", identity{"sub-y", "bob@seller.example", false}, nil, http.StatusForbidden, "not verified"},
		{"wrong nonce", identity{"sub-bob", "bob@seller.example", true}, func() { p.badNonce = true }, http.StatusUnauthorized, "nonce"},
		{"forged signature", identity{"sub-bob", "bob@seller.example", true}, func() { p.forge = true }, http.StatusUnauthorized, "did not verify"},
	} {
		p.mu.Lock()
		p.badNonce, p.forge = false, false
		if tt.mod != nil {
			tt.mod()
		}
		p.mu.Unlock()
		p.set(tt.id)
		c := browser(t)
		status, body := signIn(c)
		if status != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %s", tt.name, status, body)
		}
		if _, body := get(t, c, e.srv.URL+"/reviews"); strings.Contains(body, "Signed in as") {
			t.Errorf("%s: signed in anyway", tt.name)
		}
	}
	p.mu.Lock()
	p.badNonce, p.forge = false, false
	p.mu.Unlock()

	// A second identity cannot take over a linked account.
	p.set(identity{sub: "sub-impostor", email: "ana@seller.example", verified: true})
	if status, body := signIn(browser(t)); status != http.StatusForbidden || !strings.Contains(body, "linked to another sign-in") {
		t.Fatalf("takeover: %d %s", status, body)
	}

	// A callback this browser did not start, or with another state, is
	// refused before any code is exchanged.
	p.mu.Lock()
	before := p.exchanges
	p.mu.Unlock()
	if status, body := get(t, browser(t), e.srv.URL+"/reviews/oidc/callback?code=x&state=y"); status != http.StatusBadRequest || !strings.Contains(body, "not started here") {
		t.Fatalf("unsolicited callback: %d %s", status, body)
	}
	c := browser(t)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	get(t, c, e.srv.URL+"/reviews/oidc/login") // sets the flow cookie, stops before the provider
	if status, body := get(t, c, e.srv.URL+"/reviews/oidc/callback?code=x&state=forged"); status != http.StatusBadRequest || !strings.Contains(body, "does not belong") {
		t.Fatalf("forged state: %d %s", status, body)
	}
	if status, body := get(t, browser(t), e.srv.URL+"/reviews/oidc/callback?error=access_denied"); status != http.StatusBadRequest {
		t.Fatalf("provider error without a flow: %d %s", status, body)
	}
	p.mu.Lock()
	after := p.exchanges
	p.mu.Unlock()
	if after != before {
		t.Fatalf("refused callbacks exchanged %d codes", after-before)
	}

	// A disabled reviewer cannot sign in through OIDC either.
	if err := e.staff.SetDisabled(context.Background(), "test", "ana@seller.example", true); err != nil {
		t.Fatal(err)
	}
	p.set(identity{sub: "sub-ana", email: "ana@seller.example", verified: true})
	if status, body := signIn(browser(t)); status != http.StatusForbidden || !strings.Contains(body, "disabled") {
		t.Fatalf("disabled: %d %s", status, body)
	}
}

func TestOIDCProviderDown(t *testing.T) {
	t.Parallel()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	e := newEnvWith(t, "", func(base string) *httpapi.OIDCConfig {
		return &httpapi.OIDCConfig{Issuer: down.URL, ClientID: "x", ClientSecret: "y", RedirectURL: base + "/reviews/oidc/callback"}
	})
	if status, body := get(t, browser(t), e.srv.URL+"/reviews/oidc/login"); status != http.StatusBadGateway || !strings.Contains(body, "cannot be reached") {
		t.Fatalf("provider down: %d %s", status, body)
	}
	// Password sign-in still works.
	r := e.call(t, http.MethodPost, "/reviews/login", url.Values{"email": {"ana@seller.example"}, "password": {password}}.Encode(),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin"})
	if r.status != http.StatusSeeOther {
		t.Fatalf("password sign-in with OIDC down: %d", r.status)
	}
}
