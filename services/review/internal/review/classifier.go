package review

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"time"
)

// Classifier is an external judge (a moderation API, a model service)
// consulted after the rules. Its findings join the rules' findings and
// count like a rule's.
type Classifier interface {
	Classify(ctx context.Context, c *Creative, snap Snapshot) ([]Finding, error)
}

// CodeClassifierUnavailable is the finding recorded when the classifier
// fails; it holds the creative for a person.
const CodeClassifierUnavailable = "CLASSIFIER_UNAVAILABLE"

// Classification is the external classifier's answer on one revision.
type Classification struct {
	Findings []Finding
	Err      error
}

// errNotClassified stands for the answer of a classifier that was set but
// not consulted on an item.
var errNotClassified = errors.New("the revision was not classified")

// Classify consults the external classifier, if one is set, on c; nil
// means there is none. It does network I/O: call it outside any batch or
// transaction, and fold the answer in through Item.Classification.
func (s *Service) Classify(ctx context.Context, c Creative, snap Snapshot) *Classification {
	if s.classifier == nil {
		return nil
	}
	findings, err := s.classifier.Classify(ctx, &c, snap)
	return &Classification{Findings: findings, Err: err}
}

// fold adds the classifier's answer to a. A failure never decides: it
// records why and sends the creative to a person.
func (cl *Classification) fold(a Assessment) Assessment {
	if cl.Err != nil {
		a.ClassifierFailed = true
		a.Findings = append(a.Findings, Finding{
			Code:    CodeClassifierUnavailable,
			Message: fmt.Sprintf("the content classifier gave no usable answer (%v); a person decides", cl.Err),
			Factor:  1,
		})
		return a
	}
	factor := 1.0
	for _, f := range cl.Findings {
		f.Factor = clamp01(f.Factor)
		factor = min(factor, f.Factor)
		a.ForceHuman = a.ForceHuman || f.ForceHuman
		a.Findings = append(a.Findings, f)
	}
	a.Score = roundScore(a.Score * factor)
	return a
}

// HTTPClassifier posts the creative to a moderation service:
//
//	POST URL {"account_id","creative_id","revision","name","tags","assets","provenance"}
//	200 {"findings":[{"code":"HATE_SPEECH","message":"…","field":"assets.headline","factor":0.1,"force_human":false}]}
//
// Anything else — another status, a slow answer, a body that is not that
// shape, a finding without a code or with a factor outside [0, 1] — is a
// failure, which holds the creative for a person.
type HTTPClassifier struct {
	URL     string
	Timeout time.Duration
	Client  *http.Client
}

var findingCodeRe = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,63}$`)

// Classify implements Classifier.
func (h HTTPClassifier) Classify(ctx context.Context, c *Creative, snap Snapshot) ([]Finding, error) {
	ctx, cancel := context.WithTimeout(ctx, h.Timeout)
	defer cancel()
	body, err := json.Marshal(map[string]any{
		"account_id": c.AccountID, "creative_id": c.CreativeID, "revision": c.Revision,
		"name": snap.Name, "tags": snap.Tags, "assets": snap.Assets, "provenance": snap.Provenance,
	})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("calling the classifier: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("classifier answered %s", resp.Status)
	}
	var out struct {
		Findings *[]Finding `json:"findings"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("classifier answer is not JSON: %w", err)
	}
	if out.Findings == nil {
		return nil, fmt.Errorf("classifier answer has no findings array")
	}
	for i, f := range *out.Findings {
		if !findingCodeRe.MatchString(f.Code) {
			return nil, fmt.Errorf("classifier finding %d has code %q; want upper-case letters, digits and _", i, f.Code)
		}
		if f.Factor < 0 || f.Factor > 1 {
			return nil, fmt.Errorf("classifier finding %d (%s) has factor %v outside [0, 1]", i, f.Code, f.Factor)
		}
	}
	return *out.Findings, nil
}
