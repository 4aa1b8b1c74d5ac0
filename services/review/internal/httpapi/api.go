package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/apperr"
	"example.com/creativesync/services/review/internal/review"
	"example.com/creativesync/services/review/internal/staff"
)

// Reviews is what the HTTP edge needs from the domain.
type Reviews interface {
	Get(ctx context.Context, k review.Key) (review.Review, error)
	List(ctx context.Context, q review.ListQuery) (review.Page, error)
	Decide(ctx context.Context, k review.Key, d review.HumanDecision) (review.Review, error)
	Claim(ctx context.Context, k review.Key, reviewer string) (review.Review, error)
	Release(ctx context.Context, k review.Key, reviewer string, force bool) (review.Review, error)
	History(ctx context.Context, accountID, creativeID string) ([]review.Review, error)
	Queue(ctx context.Context, q review.QueueQuery) (review.QueuePage, error)
	Policy(ctx context.Context, accountID string) (review.Standards, bool, error)
	SetPolicy(ctx context.Context, actor, accountID string, st review.Standards) error
}

// maxBody bounds request bodies; a decision is a few hundred bytes.
const maxBody = 64 << 10

type api struct {
	reviews Reviews
	staff   Staff
	logger  *slog.Logger
}

type findingJSON struct {
	Code       string  `json:"code"`
	Message    string  `json:"message"`
	Field      string  `json:"field,omitempty"`
	Factor     float64 `json:"factor"`
	ForceHuman bool    `json:"force_human,omitempty"`
}

type thresholdsJSON struct {
	Approve float64 `json:"approve_threshold"`
	Reject  float64 `json:"reject_threshold"`
}

type creativeJSON struct {
	Name       string          `json:"name"`
	FormatID   events.FormatID `json:"format_id"`
	FormatName string          `json:"format_name,omitempty"`
	Assets     json.RawMessage `json:"assets"`
	Tags       []string        `json:"tags,omitempty"`
	Provenance json.RawMessage `json:"provenance,omitempty"`
}

type reviewJSON struct {
	AccountID       string         `json:"account_id"`
	CreativeID      string         `json:"creative_id"`
	Revision        int64          `json:"revision"`
	State           string         `json:"state"`
	Score           float64        `json:"score"`
	Reasons         []findingJSON  `json:"reasons"`
	Recommendation  string         `json:"recommendation"`
	PolicyTriggered string         `json:"policy_triggered"`
	DecidedBy       string         `json:"decided_by,omitempty"`
	Reviewer        string         `json:"reviewer,omitempty"`
	DecisionReason  string         `json:"decision_reason,omitempty"`
	HumanOverride   bool           `json:"human_override"`
	Thresholds      thresholdsJSON `json:"thresholds"`
	SupersededBy    int64          `json:"superseded_by,omitempty"`
	ClaimedBy       string         `json:"claimed_by,omitempty"`
	ClaimedUntil    *time.Time     `json:"claimed_until,omitempty"`
	CorrelationID   string         `json:"correlation_id,omitempty"`
	Creative        creativeJSON   `json:"creative"`
	CreatedAt       time.Time      `json:"created_at"`
	DecidedAt       *time.Time     `json:"decided_at,omitempty"`
}

func toReviewJSON(rv review.Review) reviewJSON {
	out := reviewJSON{
		AccountID:       rv.AccountID,
		CreativeID:      rv.CreativeID,
		Revision:        rv.Revision,
		State:           string(rv.State),
		Score:           rv.Score,
		Reasons:         make([]findingJSON, 0, len(rv.Findings)),
		Recommendation:  string(rv.Recommendation),
		PolicyTriggered: rv.PolicyTriggered,
		DecidedBy:       rv.DecidedBy,
		Reviewer:        rv.Reviewer,
		DecisionReason:  rv.DecisionReason,
		HumanOverride:   rv.HumanOverride,
		Thresholds:      thresholdsJSON(rv.Thresholds),
		SupersededBy:    rv.SupersededBy,
		CorrelationID:   rv.CorrelationID,
		Creative: creativeJSON{
			Name:       rv.Creative.Name,
			FormatID:   rv.Creative.FormatID,
			FormatName: rv.Creative.FormatName,
			Assets:     rv.Creative.Assets,
			Tags:       rv.Creative.Tags,
			Provenance: rv.Creative.Provenance,
		},
		CreatedAt: rv.CreatedAt,
	}
	if len(out.Creative.Assets) == 0 {
		out.Creative.Assets = json.RawMessage(`{}`)
	}
	for _, f := range rv.Findings {
		out.Reasons = append(out.Reasons, findingJSON(f))
	}
	if !rv.DecidedAt.IsZero() {
		t := rv.DecidedAt
		out.DecidedAt = &t
	}
	if rv.ClaimedBy != "" && time.Now().Before(rv.ClaimedUntil) {
		t := rv.ClaimedUntil
		out.ClaimedBy, out.ClaimedUntil = rv.ClaimedBy, &t
	}
	return out
}

type listJSON struct {
	Reviews       []reviewJSON `json:"reviews"`
	NextPageToken string       `json:"next_page_token,omitempty"`
}

// listQuery reads the list parameters shared by the API and the page.
func listQuery(r *http.Request) (review.ListQuery, error) {
	v := r.URL.Query()
	q := review.ListQuery{State: review.State(v.Get("state")), AccountID: v.Get("account_id")}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return q, apperr.New(review.CodeInvalidRequest, "limit must be an integer").WithField("limit")
		}
		q.Limit = n
	}
	if tok := v.Get("page_token"); tok != "" {
		c, err := decodePageToken(tok)
		if err != nil {
			return q, err
		}
		q.After = c
	}
	return q, nil
}

func (a api) listReviews(w http.ResponseWriter, r *http.Request) {
	q, err := listQuery(r)
	if err != nil {
		writeError(w, r, a.logger, err)
		return
	}
	page, err := a.reviews.List(r.Context(), q)
	if err != nil {
		writeError(w, r, a.logger, err)
		return
	}
	out := listJSON{Reviews: make([]reviewJSON, 0, len(page.Reviews))}
	for _, rv := range page.Reviews {
		out.Reviews = append(out.Reviews, toReviewJSON(rv))
	}
	if page.Next != nil {
		out.NextPageToken = encodePageToken(*page.Next)
	}
	writeJSON(w, http.StatusOK, out)
}

func (a api) getReview(w http.ResponseWriter, r *http.Request) {
	k, err := keyFromPath(r)
	if err != nil {
		writeError(w, r, a.logger, err)
		return
	}
	rv, err := a.reviews.Get(r.Context(), k)
	if err != nil {
		writeError(w, r, a.logger, err)
		return
	}
	writeJSON(w, http.StatusOK, toReviewJSON(rv))
}

// decisionRequest is a decision's body. Reviewer is read only to refuse
// it: the decision is recorded under the token's reviewer, and a body
// naming someone else must not be silently re-attributed.
type decisionRequest struct {
	Decision string  `json:"decision"`
	Reviewer *string `json:"reviewer"`
	Reason   string  `json:"reason"`
}

func (a api) decide(w http.ResponseWriter, r *http.Request) {
	k, err := keyFromPath(r)
	if err != nil {
		writeError(w, r, a.logger, err)
		return
	}
	var req decisionRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, a.logger, err)
		return
	}
	who := reviewerOf(r.Context())
	if req.Reviewer != nil && *req.Reviewer != who.Email {
		writeError(w, r, a.logger, apperr.Newf(review.CodeInvalidRequest,
			"reviewer %q does not match your credentials (%s); decisions are recorded under the authenticated reviewer, so leave reviewer out", *req.Reviewer, who.Email).WithField("reviewer"))
		return
	}
	rv, err := a.reviews.Decide(r.Context(), k, review.HumanDecision{
		Verdict:  review.Verdict(req.Decision),
		Reviewer: who.Email,
		Reason:   req.Reason,
	})
	if err != nil {
		writeError(w, r, a.logger, err)
		return
	}
	a.logger.InfoContext(r.Context(), "human decision recorded", "account_id", rv.AccountID, "creative_id", rv.CreativeID,
		"revision", rv.Revision, "state", rv.State, "reviewer", rv.Reviewer, "human_override", rv.HumanOverride)
	writeJSON(w, http.StatusOK, toReviewJSON(rv))
}

func (a api) claim(w http.ResponseWriter, r *http.Request) {
	k, err := keyFromPath(r)
	if err != nil {
		writeError(w, r, a.logger, err)
		return
	}
	rv, err := a.reviews.Claim(r.Context(), k, reviewerOf(r.Context()).Email)
	if err != nil {
		writeError(w, r, a.logger, err)
		return
	}
	writeJSON(w, http.StatusOK, toReviewJSON(rv))
}

// release gives up a claim; ?force=true frees someone else's, which only
// a lead may do.
func (a api) release(w http.ResponseWriter, r *http.Request) {
	k, err := keyFromPath(r)
	if err != nil {
		writeError(w, r, a.logger, err)
		return
	}
	who := reviewerOf(r.Context())
	force := false
	switch f := r.URL.Query().Get("force"); f {
	case "", "false":
	case "true":
		if err := staff.Require(who, staff.RoleLead, "releasing someone else's claim"); err != nil {
			writeError(w, r, a.logger, err)
			return
		}
		force = true
	default:
		writeError(w, r, a.logger, apperr.Newf(review.CodeInvalidRequest, "force must be true or false, got %q", f).WithField("force"))
		return
	}
	rv, err := a.reviews.Release(r.Context(), k, who.Email, force)
	if err != nil {
		writeError(w, r, a.logger, err)
		return
	}
	writeJSON(w, http.StatusOK, toReviewJSON(rv))
}

func (a api) history(w http.ResponseWriter, r *http.Request) {
	revs, err := a.reviews.History(r.Context(), r.PathValue("account_id"), r.PathValue("creative_id"))
	if err != nil {
		writeError(w, r, a.logger, err)
		return
	}
	out := struct {
		Revisions []reviewJSON `json:"revisions"`
	}{Revisions: make([]reviewJSON, 0, len(revs))}
	for _, rv := range revs {
		out.Revisions = append(out.Revisions, toReviewJSON(rv))
	}
	writeJSON(w, http.StatusOK, out)
}

type meJSON struct {
	Email string `json:"email"`
	Name  string `json:"name"`
	Role  string `json:"role"`
}

func (a api) me(w http.ResponseWriter, r *http.Request) {
	who := reviewerOf(r.Context())
	writeJSON(w, http.StatusOK, meJSON{Email: who.Email, Name: who.Name, Role: string(who.Role)})
}

func (a api) audit(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			writeError(w, r, a.logger, apperr.New(review.CodeInvalidRequest, "limit must be an integer").WithField("limit"))
			return
		}
		limit = n
	}
	recs, err := a.staff.AuditLog(r.Context(), r.URL.Query().Get("subject"), limit)
	if err != nil {
		writeError(w, r, a.logger, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Records []staff.AuditRecord `json:"records"`
	}{recs})
}

func (a api) revokeSessions(w http.ResponseWriter, r *http.Request) {
	n, err := a.staff.RevokeSessions(r.Context(), reviewerOf(r.Context()).Email, r.PathValue("email"))
	if err != nil {
		writeError(w, r, a.logger, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Revoked int64 `json:"revoked_sessions"`
	}{n})
}

// policyJSON is an account's content standards on the wire.
type policyJSON struct {
	AccountID        string              `json:"account_id"`
	ApproveThreshold float64             `json:"approve_threshold"`
	RejectThreshold  float64             `json:"reject_threshold"`
	BlockedTerms     []string            `json:"blocked_terms"`
	BlockedDomains   []string            `json:"blocked_domains"`
	AllowedDomains   []string            `json:"allowed_domains"`
	HumanCategories  map[string][]string `json:"human_categories"`
	AIDisclosure     string              `json:"ai_disclosure"`
	Reasons          []string            `json:"reasons"`
	// Source is "tenant" for the account's own standards and "default"
	// when the service defaults apply.
	Source string `json:"source"`
}

func (a api) getPolicy(w http.ResponseWriter, r *http.Request) {
	account := r.PathValue("account_id")
	st, own, err := a.reviews.Policy(r.Context(), account)
	if err != nil {
		writeError(w, r, a.logger, err)
		return
	}
	writeJSON(w, http.StatusOK, toPolicyJSON(account, st, own))
}

// policyRequest replaces an account's standards as a whole; the thresholds
// are required so a partial document cannot reset them by accident.
type policyRequest struct {
	ApproveThreshold *float64          `json:"approve_threshold"`
	RejectThreshold  *float64          `json:"reject_threshold"`
	BlockedTerms     []string          `json:"blocked_terms"`
	BlockedDomains   []string          `json:"blocked_domains"`
	AllowedDomains   []string          `json:"allowed_domains"`
	HumanCategories  review.Categories `json:"human_categories"`
	AIDisclosure     string            `json:"ai_disclosure"`
	Reasons          []string          `json:"reasons"`
}

func (a api) putPolicy(w http.ResponseWriter, r *http.Request) {
	account := r.PathValue("account_id")
	var req policyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, a.logger, err)
		return
	}
	if req.ApproveThreshold == nil || req.RejectThreshold == nil {
		writeError(w, r, a.logger, apperr.New(review.CodeInvalidRequest, "approve_threshold and reject_threshold are both required"))
		return
	}
	st := review.Standards{
		Thresholds:      review.Thresholds{Approve: *req.ApproveThreshold, Reject: *req.RejectThreshold},
		BlockedTerms:    req.BlockedTerms,
		BlockedDomains:  req.BlockedDomains,
		AllowedDomains:  req.AllowedDomains,
		HumanCategories: req.HumanCategories,
		AIDisclosure:    req.AIDisclosure,
		Reasons:         req.Reasons,
	}
	who := reviewerOf(r.Context())
	if err := a.reviews.SetPolicy(r.Context(), who.Email, account, st); err != nil {
		writeError(w, r, a.logger, err)
		return
	}
	stored, _, err := a.reviews.Policy(r.Context(), account)
	if err != nil {
		writeError(w, r, a.logger, err)
		return
	}
	a.logger.InfoContext(r.Context(), "content standards set", "account_id", account, "by", who.Email)
	writeJSON(w, http.StatusOK, toPolicyJSON(account, stored, true))
}

func toPolicyJSON(account string, st review.Standards, own bool) policyJSON {
	src := "default"
	if own {
		src = "tenant"
	}
	nonNil := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	cats := map[string][]string(st.HumanCategories)
	if cats == nil {
		cats = map[string][]string{}
	}
	return policyJSON{
		AccountID: account, ApproveThreshold: st.Approve, RejectThreshold: st.Reject,
		BlockedTerms: nonNil(st.BlockedTerms), BlockedDomains: nonNil(st.BlockedDomains), AllowedDomains: nonNil(st.AllowedDomains),
		HumanCategories: cats, AIDisclosure: st.AIDisclosure, Reasons: nonNil(st.Reasons), Source: src,
	}
}

func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return apperr.Newf(review.CodeInvalidRequest, "request body is larger than %d bytes", maxBody)
		}
		return apperr.Newf(review.CodeInvalidRequest, "request body is not valid JSON for this endpoint: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return apperr.New(review.CodeInvalidRequest, "request body must hold a single JSON object")
	}
	return nil
}

func keyFromPath(r *http.Request) (review.Key, error) {
	rev, err := strconv.ParseInt(r.PathValue("revision"), 10, 64)
	if err != nil || rev < 1 {
		return review.Key{}, apperr.Newf(review.CodeInvalidRequest, "revision must be a positive integer, got %q", r.PathValue("revision")).WithField("revision")
	}
	return review.Key{AccountID: r.PathValue("account_id"), CreativeID: r.PathValue("creative_id"), Revision: rev}, nil
}

// pageToken is opaque to callers; it is the position after the last review
// of a page.
type pageToken struct {
	CreatedAt  time.Time `json:"t"`
	AccountID  string    `json:"a"`
	CreativeID string    `json:"c"`
	Revision   int64     `json:"r"`
}

func encodePageToken(c review.Cursor) string {
	b, _ := json.Marshal(pageToken{CreatedAt: c.CreatedAt, AccountID: c.AccountID, CreativeID: c.CreativeID, Revision: c.Revision})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(s string) (*review.Cursor, error) {
	bad := apperr.New(review.CodeInvalidRequest, "page_token is not one this service issued").WithField("page_token")
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, bad
	}
	var t pageToken
	if err := json.Unmarshal(b, &t); err != nil || t.CreatedAt.IsZero() {
		return nil, bad
	}
	return &review.Cursor{CreatedAt: t.CreatedAt, Key: review.Key{AccountID: t.AccountID, CreativeID: t.CreativeID, Revision: t.Revision}}, nil
}

func pathKey(k review.Key) string {
	return fmt.Sprintf("%s/%s/%d", escape(k.AccountID), escape(k.CreativeID), k.Revision)
}
