package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/alexedwards/argon2id"
	"github.com/jmoiron/sqlx"
	"github.com/nats-io/nats.go"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/broker"
	"example.com/creativesync/platform/natstest"
	"example.com/creativesync/platform/outbox"
	"example.com/creativesync/platform/pgdb"
	"example.com/creativesync/platform/pgtest"
	"example.com/creativesync/platform/servicetest"
	"example.com/creativesync/services/review/internal/postgres"
	"example.com/creativesync/services/review/internal/review"
	"example.com/creativesync/services/review/internal/service"
	"example.com/creativesync/services/review/internal/staff"
)

// stack is one test's Postgres database and JetStream prefix, shared by the
// service instances the test starts.
type stack struct {
	*natstest.Broker
	t      testing.TB
	dsn    string
	token  string // API token of ana, a lead
	db     *sqlx.DB
	logger *slog.Logger
}

func newStack(t testing.TB) *stack {
	t.Helper()
	s := &stack{Broker: natstest.NewBroker(t), t: t, dsn: pgtest.NewDatabase(t), logger: servicetest.Logger(t)}
	s.token = s.addReviewer("ana@seller.example", staff.RoleLead)
	return s
}

// reviewerPassword is every test reviewer's password.
const reviewerPassword = "correct horse battery"

// addReviewer creates a reviewer account the way `review admin` does and
// returns an API token of it.
func (s *stack) addReviewer(email string, role staff.Role) string {
	s.t.Helper()
	ctx := context.Background()
	db, err := pgdb.Open(ctx, s.dsn)
	if err != nil {
		s.t.Fatal(err)
	}
	defer db.Close()
	if err := postgres.Migrate(ctx, db); err != nil {
		s.t.Fatal(err)
	}
	st := staff.NewService(postgres.NewStaffStore(db), &argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	if _, err := st.AddReviewer(ctx, "test", staff.NewReviewer{Email: email, Role: role, Password: reviewerPassword}); err != nil {
		s.t.Fatal(err)
	}
	tok, err := st.IssueToken(ctx, "test", email, "component test")
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// running is a started service instance.
type running struct {
	*servicetest.Running[*service.Service]
	token string
}

// start runs the service until Stop or the end of the test.
func (s *stack) start(mod func(*service.Config)) running {
	s.t.Helper()
	cfg := service.Config{
		DatabaseURL:        s.dsn,
		NATSURL:            natstest.URL(),
		HTTPAddr:           "127.0.0.1:0",
		TopicPrefix:        s.Prefix,
		OutboxPollInterval: 20 * time.Millisecond,
		Thresholds:         review.DefaultThresholds(),
	}
	if mod != nil {
		mod(&cfg)
	}
	return running{servicetest.Start(s.t, func(ctx context.Context) (*service.Service, error) {
		return service.New(ctx, cfg, s.logger)
	}), s.token}
}

func (s *stack) waitFor(what string, cond func() bool) {
	s.t.Helper()
	servicetest.EventuallyTrue(s.t, servicetest.Timeout, what, cond)
}

func (s *stack) publish(ev *events.CreativeSyncedV1) *message.Message {
	s.t.Helper()
	msg, err := broker.NewMessage(ev)
	if err != nil {
		s.t.Fatal(err)
	}
	s.PublishMsg(ev.EventName(), msg)
	return msg
}

// received is an event read back from a stream.
type received struct {
	Seq     uint64
	Header  nats.Header
	Payload map[string]any
}

// stream returns every message in a stream, in order.
func (s *stack) stream(name string) []received {
	s.t.Helper()
	var out []received
	for _, m := range s.Messages(name) {
		var p map[string]any
		_ = json.Unmarshal(m.Data, &p)
		out = append(out, received{Seq: m.Sequence, Header: m.Header, Payload: p})
	}
	return out
}

// about returns the events in a stream about one creative.
func (s *stack) about(name, account, creative string) []received {
	var out []received
	for _, r := range s.stream(name) {
		if r.Payload["account_id"] == account && r.Payload["creative_id"] == creative {
			out = append(out, r)
		}
	}
	return out
}

// waitOne waits until the stream holds an event about the creative and
// returns the first.
func (s *stack) waitOne(name, account, creative string) received {
	s.t.Helper()
	var got []received
	s.waitFor(name+" for "+creative, func() bool {
		got = s.about(name, account, creative)
		return len(got) > 0
	})
	return got[0]
}

// settle waits until the service has acknowledged everything published so
// far and relayed every event that caused; only then are counts final.
func (s *stack) settle() {
	s.t.Helper()
	input := s.Topic("creative_synced_v1")
	si, err := s.JS.StreamInfo(input)
	if err != nil {
		s.t.Fatal(err)
	}
	last := si.State.LastSeq
	s.waitFor("consumer to acknowledge everything", func() bool {
		ci, err := s.JS.ConsumerInfo(input, broker.Durable(service.Name, "on_creative_synced"))
		return err == nil && ci.AckFloor.Stream >= last
	})
	if s.db == nil {
		s.db = pgtest.Connect(s.t, s.dsn)
	}
	s.waitFor("outbox to drain", func() bool {
		n, err := outbox.Backlog(context.Background(), s.db.DB)
		return err == nil && n == 0
	})
}

func (r running) do(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	return r.doAs(t, r.token, method, path, body)
}

// doAs calls the API with another reviewer's token.
func (r running) doAs(t *testing.T, token, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, r.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func creative(account, id string) *events.CreativeSyncedV1 {
	return &events.CreativeSyncedV1{
		Header:      events.Header{CorrelationID: "corr-" + id},
		AccountID:   account,
		PrincipalID: "prn_1",
		CreativeID:  id,
		Revision:    1,
		Action:      "created",
		Name:        "Banner " + id,
		FormatID:    events.FormatID{AgentURL: "https://creative.example.com", ID: "display_300x250"},
		Format: &events.FormatSnapshot{Name: "Medium rectangle", Assets: []events.FormatAsset{
			{AssetID: "image", AssetType: "image", Required: true},
			{AssetID: "click_url", AssetType: "url"},
		}},
		Assets:     json.RawMessage(`{"image":{"asset_type":"image","url":"https://cdn.example.com/b.png","width":300,"height":250}}`),
		Provenance: json.RawMessage(`{"digital_source_type":"digital_creation"}`),
	}
}

func aiUndisclosed(ev *events.CreativeSyncedV1) *events.CreativeSyncedV1 {
	ev.Provenance = json.RawMessage(`{"digital_source_type":"trained_algorithmic_model"}`)
	return ev
}

func TestService(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	svc := s.start(nil)

	t.Run("valid creative is approved with the correlation id carried", func(t *testing.T) {
		t.Parallel()
		ev := creative("acct_a", "valid")
		s.publish(ev)
		got := s.waitOne("creative_approved_v1", "acct_a", "valid")
		p := got.Payload
		if p["correlation_id"] != "corr-valid" || p["decided_by"] != "auto" || p["score"] != 1.0 || p["revision"] != 1.0 {
			t.Fatalf("approved = %v", p)
		}
		if got.Header.Get(nats.MsgIdHdr) != p["event_id"] {
			t.Fatalf("Nats-Msg-Id %q is not the event id %v", got.Header.Get(nats.MsgIdHdr), p["event_id"])
		}
		if p["event_id"] == ev.EventID {
			t.Fatal("the decision reused the synced event's id")
		}
	})

	t.Run("missing required asset is rejected with the reason", func(t *testing.T) {
		t.Parallel()
		ev := creative("acct_a", "missing")
		ev.Assets = json.RawMessage(`{"click_url":{"asset_type":"url","url":"https://shop.example.com"}}`)
		s.publish(ev)
		p := s.waitOne("creative_rejected_v1", "acct_a", "missing").Payload
		reasons, _ := p["reasons"].([]any)
		if len(reasons) == 0 {
			t.Fatalf("rejected without reasons: %v", p)
		}
		r := reasons[0].(map[string]any)
		if r["code"] != review.CodeRequiredAssetMissing || r["field"] != "assets.image" || p["decided_by"] != "auto" || p["correlation_id"] != "corr-missing" {
			t.Fatalf("rejected = %v", p)
		}
	})

	t.Run("AI without disclosure is queued and a human approves it", func(t *testing.T) {
		t.Parallel()
		s.publish(aiUndisclosed(creative("acct_h", "ai")))
		req := s.waitOne("creative_review_requested_v1", "acct_h", "ai").Payload
		reasons := req["reasons"].([]any)
		if req["score"] != 0.5 || reasons[0].(map[string]any)["code"] != review.CodeAIDisclosureMissing || req["correlation_id"] != "corr-ai" {
			t.Fatalf("review requested = %v", req)
		}

		status, body := svc.do(t, http.MethodGet, "/api/v1/reviews?state=pending_human&account_id=acct_h", nil)
		var list struct {
			Reviews []struct {
				CreativeID     string  `json:"creative_id"`
				State          string  `json:"state"`
				Score          float64 `json:"score"`
				Recommendation string  `json:"recommendation"`
			} `json:"reviews"`
		}
		if err := json.Unmarshal(body, &list); err != nil || status != http.StatusOK {
			t.Fatalf("queue: %d %s", status, body)
		}
		if len(list.Reviews) != 1 || list.Reviews[0].CreativeID != "ai" || list.Reviews[0].State != "pending_human" || list.Reviews[0].Score != 0.5 {
			t.Fatalf("queue = %s", body)
		}

		status, body = svc.do(t, http.MethodGet, "/api/v1/reviews/acct_h/ai/1", nil)
		if status != http.StatusOK || !strings.Contains(string(body), `"policy_triggered":"uncertain_score"`) {
			t.Fatalf("get: %d %s", status, body)
		}

		status, body = svc.do(t, http.MethodPost, "/api/v1/reviews/acct_h/ai/1/decision",
			map[string]string{"decision": "approve", "reviewer": "ana@seller.example", "reason": "label is in the image"})
		if status != http.StatusOK || !strings.Contains(string(body), `"decided_by":"human"`) {
			t.Fatalf("decision: %d %s", status, body)
		}
		p := s.waitOne("creative_approved_v1", "acct_h", "ai").Payload
		if p["decided_by"] != "human" || p["reviewer"] != "ana@seller.example" || p["correlation_id"] != "corr-ai" {
			t.Fatalf("approved = %v", p)
		}

		status, body = svc.do(t, http.MethodPost, "/api/v1/reviews/acct_h/ai/1/decision",
			map[string]string{"decision": "reject", "reason": "changed my mind"})
		if status != http.StatusConflict || !strings.Contains(string(body), review.CodeAlreadyDecided) {
			t.Fatalf("second decision: %d %s", status, body)
		}
		status, _ = svc.do(t, http.MethodPost, "/api/v1/reviews/acct_h/unknown/1/decision",
			map[string]string{"decision": "approve"})
		if status != http.StatusNotFound {
			t.Fatalf("unknown creative: %d", status)
		}
		status, body = svc.do(t, http.MethodGet, "/api/v1/reviews?state=pending_human&account_id=acct_h", nil)
		if status != http.StatusOK || !strings.Contains(string(body), `"reviews":[]`) {
			t.Fatalf("queue after decision: %d %s", status, body)
		}
	})

	t.Run("the same event delivered twice yields one decision", func(t *testing.T) {
		t.Parallel()
		ev := creative("acct_d", "dup")
		first := s.publish(ev)
		// A new broker message id gets past JetStream's duplicate window,
		// as a redelivery or a relay resend after a crash would.
		again := message.NewMessage(watermill.NewUUID(), first.Payload)
		again.Metadata = first.Metadata
		s.PublishMsg("creative_synced_v1", again)
		s.waitOne("creative_approved_v1", "acct_d", "dup")
		s.settle()
		if n := len(s.about("creative_synced_v1", "acct_d", "dup")); n != 2 {
			t.Fatalf("input stream holds %d copies, want 2", n)
		}
		if n := len(s.about("creative_approved_v1", "acct_d", "dup")); n != 1 {
			t.Fatalf("%d approvals for one revision, want 1", n)
		}
	})

	t.Run("tenant thresholds change the outcome", func(t *testing.T) {
		t.Parallel()
		status, body := svc.do(t, http.MethodPut, "/api/v1/policies/acct_lenient",
			map[string]float64{"approve_threshold": 0.4, "reject_threshold": 0.05})
		if status != http.StatusOK || !strings.Contains(string(body), `"source":"tenant"`) {
			t.Fatalf("put policy: %d %s", status, body)
		}
		status, body = svc.do(t, http.MethodPut, "/api/v1/policies/acct_lenient",
			map[string]float64{"approve_threshold": 0.4, "reject_threshold": 0.4})
		if status != http.StatusBadRequest {
			t.Fatalf("invalid policy: %d %s", status, body)
		}
		s.publish(aiUndisclosed(creative("acct_lenient", "ai")))
		p := s.waitOne("creative_approved_v1", "acct_lenient", "ai").Payload
		if p["decided_by"] != "auto" || p["score"] != 0.5 {
			t.Fatalf("approved = %v", p)
		}
		s.publish(aiUndisclosed(creative("acct_default", "ai")))
		s.waitOne("creative_review_requested_v1", "acct_default", "ai")
	})

	t.Run("an undecodable message goes to poison and does not block the next", func(t *testing.T) {
		t.Parallel()
		junk := message.NewMessage(watermill.NewUUID(), []byte(`{"account_id": `))
		s.PublishMsg("creative_synced_v1", junk)
		invalid := creative("", "no_account")
		s.publish(invalid)
		s.publish(creative("acct_p", "after_poison"))
		s.waitOne("creative_approved_v1", "acct_p", "after_poison")
		var poison []received
		servicetest.EventuallyTrue(t, servicetest.Timeout, "two poison messages", func() bool {
			poison = s.stream(broker.PoisonTopic)
			return len(poison) == 2
		})
		if id := poison[0].Header.Get(nats.MsgIdHdr); id != junk.UUID {
			t.Fatalf("poison holds %q, want the junk message %q", id, junk.UUID)
		}
		if poison[1].Payload["creative_id"] != "no_account" {
			t.Fatalf("second poison message = %v", poison[1].Payload)
		}
	})

	t.Run("metrics count decisions", func(t *testing.T) {
		t.Parallel()
		s.publish(creative("acct_m", "metric"))
		s.waitOne("creative_approved_v1", "acct_m", "metric")
		resp, err := http.Get(svc.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, want := range []string{`review_decisions_total{decided_by="auto",outcome="approved"}`, "review_score_count", "review_queue_depth", "review_outbox_backlog"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}

// TestServiceResumesAfterRestart shows the consumer is durable: an event
// published while no instance runs is reviewed by the next one, and
// nothing decided before the restart is decided again.
func TestServiceResumesAfterRestart(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	first := s.start(nil)
	s.publish(creative("acct_r", "before"))
	s.waitOne("creative_approved_v1", "acct_r", "before")
	first.Stop()

	s.publish(creative("acct_r", "while_down"))
	s.publish(aiUndisclosed(creative("acct_r", "queued_while_down")))
	second := s.start(nil)
	s.waitOne("creative_approved_v1", "acct_r", "while_down")
	s.waitOne("creative_review_requested_v1", "acct_r", "queued_while_down")
	s.settle()
	if n := len(s.about("creative_approved_v1", "acct_r", "before")); n != 1 {
		t.Fatalf("revision decided before the restart was announced %d times", n)
	}
	status, body := second.do(t, http.MethodGet, "/api/v1/reviews?account_id=acct_r", nil)
	if status != http.StatusOK || !strings.Contains(string(body), "queued_while_down") {
		t.Fatalf("queue after restart: %d %s", status, body)
	}
}

// TestOlderRevisionAfterNewer checks end to end that a late revision is
// stored but not announced, so downstream keeps the newer decision.
func TestOlderRevisionAfterNewer(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	svc := s.start(nil)
	newer := creative("acct_o", "c")
	newer.Revision = 2
	newer.Assets = json.RawMessage(`{}`)
	s.publish(newer)
	s.waitOne("creative_rejected_v1", "acct_o", "c")
	s.publish(creative("acct_o", "c")) // revision 1, would be approved
	s.settle()
	if n := len(s.about("creative_approved_v1", "acct_o", "c")); n != 0 {
		t.Fatalf("a late older revision was announced as approved")
	}
	status, body := svc.do(t, http.MethodGet, "/api/v1/reviews/acct_o/c/1", nil)
	if status != http.StatusOK || !strings.Contains(string(body), `"superseded_by":2`) {
		t.Fatalf("revision 1: %d %s", status, body)
	}
}

// BenchmarkPipeline measures throughput from publishing creative_synced_v1
// to the decision event landing in its stream: consume, score, one
// transaction with the outbox row, relay, JetStream.
func BenchmarkPipeline(b *testing.B) {
	s := newStack(b)
	s.start(nil)
	for b.Loop() {
		b.StopTimer()
		before := len(s.stream("creative_approved_v1"))
		b.StartTimer()
		const batch = 200
		for i := range batch {
			s.publish(creative("acct_bench", fmt.Sprintf("c%d-%d", before, i)))
		}
		s.waitFor("decisions", func() bool { return s.Count("creative_approved_v1") >= uint64(before+batch) })
	}
	b.ReportMetric(float64(b.N*200)/b.Elapsed().Seconds(), "creatives/s")
}
