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
)

// Reviews is what the HTTP edge needs from the domain.
type Reviews interface {
	Get(ctx context.Context, k review.Key) (review.Review, error)
	List(ctx context.Context, q review.ListQuery) (review.Page, error)
	Decide(ctx context.Context, k review.Key, d review.HumanDecision) (review.Review, error)
	Policy(ctx context.Context, accountID string) (review.Thresholds, bool, error)
	SetPolicy(ctx context.Context, accountID string, t review.Thresholds) error
}

// maxBody bounds request bodies; a decision is a few hundred bytes.
const maxBody = 64 << 10

type api struct {
	reviews Reviews
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

type decisionRequest struct {
	Decision string `json:"decision"`
	Reviewer string `json:"reviewer"`
	Reason   string `json:"reason"`
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
	rv, err := a.reviews.Decide(r.Context(), k, review.HumanDecision{
		Verdict:  review.Verdict(req.Decision),
		Reviewer: req.Reviewer,
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

type policyJSON struct {
	AccountID        string  `json:"account_id"`
	ApproveThreshold float64 `json:"approve_threshold"`
	RejectThreshold  float64 `json:"reject_threshold"`
	// Source is "tenant" for the account's own policy and "default" when
	// the service defaults apply.
	Source string `json:"source"`
}

func (a api) getPolicy(w http.ResponseWriter, r *http.Request) {
	account := r.PathValue("account_id")
	t, own, err := a.reviews.Policy(r.Context(), account)
	if err != nil {
		writeError(w, r, a.logger, err)
		return
	}
	writeJSON(w, http.StatusOK, toPolicyJSON(account, t, own))
}

type policyRequest struct {
	ApproveThreshold *float64 `json:"approve_threshold"`
	RejectThreshold  *float64 `json:"reject_threshold"`
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
	t := review.Thresholds{Approve: *req.ApproveThreshold, Reject: *req.RejectThreshold}
	if err := a.reviews.SetPolicy(r.Context(), account, t); err != nil {
		writeError(w, r, a.logger, err)
		return
	}
	a.logger.InfoContext(r.Context(), "review policy set", "account_id", account, "approve_threshold", t.Approve, "reject_threshold", t.Reject)
	writeJSON(w, http.StatusOK, toPolicyJSON(account, t, true))
}

func toPolicyJSON(account string, t review.Thresholds, own bool) policyJSON {
	src := "default"
	if own {
		src = "tenant"
	}
	return policyJSON{AccountID: account, ApproveThreshold: t.Approve, RejectThreshold: t.Reject, Source: src}
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
