package e2e

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"example.com/creativesync/platform/broker"
	"example.com/creativesync/platform/browsertest"
	"example.com/creativesync/platform/natstest"
	"example.com/creativesync/platform/pgtest"
)

// binDir holds the three binaries, built once for every test of the run.
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// TestMain closes the shared browser and removes the binaries after the
// run.
func TestMain(m *testing.M) {
	code := m.Run()
	browsertest.Close()
	if binDir != "" {
		_ = os.RemoveAll(binDir) // a temp dir; the OS cleans it otherwise
	}
	os.Exit(code)
}

// buildServices compiles the three binaries once per test run.
func buildServices(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := filepath.Abs("..")
		if err != nil {
			buildErr = err
			return
		}
		if binDir, buildErr = os.MkdirTemp("", "creativesync-e2e-"); buildErr != nil {
			return
		}
		for _, svc := range []string{"ingest", "review", "notifier"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, svc), "./services/"+svc)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("building %s: %v\n%s", svc, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// process is a running service binary whose log is kept for failures.
type process struct {
	name string
	cmd  *exec.Cmd
	log  *bytes.Buffer
	mu   sync.Mutex
}

func start(t *testing.T, bin, name string, env ...string) *process {
	t.Helper()
	p := &process{name: name, log: &bytes.Buffer{}}
	p.cmd = exec.Command(filepath.Join(bin, name))
	p.cmd.Env = append(os.Environ(), env...)
	out, _ := p.cmd.StdoutPipe()
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		// Graceful shutdown is part of the contract: SIGTERM must end the
		// process cleanly and promptly.
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- p.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s exited with %v after SIGTERM", name, err)
			}
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			t.Errorf("%s did not stop within 30s of SIGTERM", name)
		}
		if t.Failed() {
			p.mu.Lock()
			t.Logf("---- %s log ----\n%s", name, p.log.String())
			p.mu.Unlock()
		}
	})
	return p
}

func waitReady(t *testing.T, name, addr string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s at %s never became ready", name, addr)
}

type delivery struct {
	header http.Header
	body   []byte
}

func TestCreativeFlowsFromSyncToBuyerWebhook(t *testing.T) {
	bin := buildServices(t)
	prefix := natstest.Prefix(t)
	dbs := map[string]string{}
	for _, svc := range []string{"ingest", "review", "notifier"} {
		dbs[svc] = pgtest.NewDatabase(t)
	}
	addrs := map[string]string{"ingest": freeAddr(t), "review": freeAddr(t), "notifier": freeAddr(t)}
	common := []string{"NATS_URL=" + natstest.URL(), "TOPIC_PREFIX=" + prefix, "LOG_LEVEL=info", "OUTBOX_POLL_INTERVAL=20ms"}

	// The buyer's endpoint.
	got := make(chan delivery, 4)
	buyer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- delivery{r.Header.Clone(), b}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer buyer.Close()

	const key = "e2e_key_0123456789abcdef"
	admin := exec.Command(filepath.Join(bin, "ingest"), "admin", "bootstrap-demo")
	admin.Env = append(os.Environ(), append(common, "DATABASE_URL="+dbs["ingest"], "DEMO_API_KEY="+key)...)
	if out, err := admin.CombinedOutput(); err != nil {
		t.Fatalf("bootstrap-demo: %v\n%s", err, out)
	}
	start(t, bin, "ingest", append(common, "DATABASE_URL="+dbs["ingest"], "HTTP_ADDR="+addrs["ingest"])...)
	start(t, bin, "review", append(common, "DATABASE_URL="+dbs["review"], "HTTP_ADDR="+addrs["review"],
		// The creatives' asset URLs are placeholders no test may reach.
		"REVIEW_INSPECT_ASSETS=false")...)
	start(t, bin, "notifier", append(common, "DATABASE_URL="+dbs["notifier"], "HTTP_ADDR="+addrs["notifier"],
		"NOTIFIER_ALLOW_PRIVATE_TARGETS=true")...)
	for name, addr := range addrs {
		waitReady(t, name, addr)
	}

	ingest := "http://" + addrs["ingest"]
	req := map[string]any{
		"idempotency_key": "e2e-sync-0000000000000001",
		"account":         map[string]any{"account_id": "acct_demo"},
		"creatives": []any{map[string]any{
			"creative_id": "e2e_banner", "name": "E2E banner",
			"format_id": map[string]any{"agent_url": ingest, "id": "display_300x250"},
			"assets": map[string]any{"image": map[string]any{"asset_type": "image", "url": "https://cdn.example.com/e2e.png", "width": 300, "height": 250},
				"click_url": map[string]any{"asset_type": "url", "url": "https://brand.example.com/"}},
			"provenance": map[string]any{"digital_source_type": "digital_creation"},
		}},
		"push_notification_config": map[string]any{"url": buyer.URL + "/adcp/webhooks", "token": "buyer-token-0123456789"},
		"context":                  map[string]any{"correlation_id": "e2e-corr"},
	}
	status, respBody := callJSON(t, "POST", ingest+"/api/v1/creatives/sync", bearer(key), req)
	var submitted struct {
		Status string `json:"status"`
		TaskID string `json:"task_id"`
	}
	if err := json.Unmarshal(respBody, &submitted); err != nil || status != 202 || submitted.Status != "submitted" || submitted.TaskID == "" {
		t.Fatalf("sync: %d %s", status, respBody)
	}

	d := receive(t, got, 30*time.Second, "task webhook")
	var payload struct {
		IdempotencyKey string `json:"idempotency_key"`
		TaskID         string `json:"task_id"`
		TaskType       string `json:"task_type"`
		Status         string `json:"status"`
		Result         struct {
			Creatives []struct {
				CreativeID string `json:"creative_id"`
				Action     string `json:"action"`
				Status     string `json:"status"`
			} `json:"creatives"`
		} `json:"result"`
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(d.body, &payload); err != nil {
		t.Fatalf("webhook body: %v: %s", err, d.body)
	}
	if payload.TaskID != submitted.TaskID || payload.Status != "completed" || payload.TaskType != "sync_creatives" ||
		len(payload.Result.Creatives) != 1 || payload.Result.Creatives[0].Status != "approved" || payload.Context["correlation_id"] != "e2e-corr" {
		t.Fatalf("webhook payload: %s", d.body)
	}
	verifySignature(t, "http://"+addrs["notifier"], buyer.URL+"/adcp/webhooks", d)

	// The library, the task and the event streams tell the same story.
	var creative struct {
		Status   string `json:"status"`
		Revision int64  `json:"revision"`
	}
	getJSON(t, ingest+"/api/v1/creatives/e2e_banner", key, &creative)
	if creative.Status != "approved" || creative.Revision != 1 {
		t.Errorf("creative: %+v", creative)
	}
	var task struct {
		Status string `json:"status"`
	}
	getJSON(t, ingest+"/api/v1/tasks/"+submitted.TaskID, key, &task)
	if task.Status != "completed" {
		t.Errorf("task: %+v", task)
	}
	nc, err := nats.Connect(natstest.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := nc.JetStream()
	for topic, want := range map[string]uint64{"creative_synced_v1": 1, "creative_approved_v1": 1, "creative_rejected_v1": 0, "notification_requested_v1": 1} {
		info, err := js.StreamInfo(broker.Topic(prefix, topic))
		if err != nil {
			t.Fatalf("%s: %v", topic, err)
		}
		if info.State.Msgs != want {
			t.Errorf("%s holds %d events, want %d", topic, info.State.Msgs, want)
		}
	}
	msg, err := js.GetLastMsg(broker.Topic(prefix, "creative_approved_v1"), broker.Topic(prefix, "creative_approved_v1"))
	if err != nil {
		t.Fatal(err)
	}
	var approved struct {
		CreativeID    string `json:"creative_id"`
		Revision      int64  `json:"revision"`
		DecidedBy     string `json:"decided_by"`
		CorrelationID string `json:"correlation_id"`
	}
	_ = json.Unmarshal(msg.Data, &approved)
	if approved.CreativeID != "e2e_banner" || approved.Revision != 1 || approved.DecidedBy != "auto" || approved.CorrelationID == "" {
		t.Errorf("approved event: %s", msg.Data)
	}

	nothingMore(t, got, func(d delivery) string { return string(d.body) })

	reviewerRejects(t, bin, append(common, "DATABASE_URL="+dbs["review"]), "http://"+addrs["review"], ingest, key)
}

// verifySignature checks the RFC 9421 signature of a delivery against the
// notifier's published JWKS, as a buyer would.
func verifySignature(t *testing.T, notifier, targetURI string, d delivery) {
	t.Helper()
	input, sig := d.header.Get("Signature-Input"), d.header.Get("Signature")
	if input == "" || sig == "" || d.header.Get("Content-Digest") == "" {
		t.Fatalf("delivery is not signed: %v", d.header)
	}
	resp, err := http.Get(notifier + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jwks struct {
		Keys []struct {
			Kid string `json:"kid"`
			X   string `json:"x"`
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&jwks); err != nil || len(jwks.Keys) == 0 {
		t.Fatalf("jwks: %v", err)
	}
	params := strings.TrimPrefix(input, "sig1=")
	u, _ := http.NewRequest("POST", targetURI, nil)
	base := strings.Join([]string{
		`"@method": POST`,
		`"@target-uri": ` + targetURI,
		`"@authority": ` + u.URL.Host,
		`"content-type": ` + d.header.Get("Content-Type"),
		`"content-digest": ` + d.header.Get("Content-Digest"),
		`"@signature-params": ` + params,
	}, "\n")
	raw := strings.TrimSuffix(strings.TrimPrefix(sig, "sig1=:"), ":")
	sigBytes, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(raw, "="))
	if err != nil {
		sigBytes, err = base64.StdEncoding.DecodeString(raw)
	}
	if err != nil {
		t.Fatalf("signature encoding: %v", err)
	}
	for _, k := range jwks.Keys {
		pub, err := base64.RawURLEncoding.DecodeString(k.X)
		if err == nil && strings.Contains(params, fmt.Sprintf("keyid=%q", k.Kid)) && ed25519.Verify(pub, []byte(base), sigBytes) {
			return
		}
	}
	t.Fatalf("signature does not verify with the published key\nbase:\n%s", base)
}
