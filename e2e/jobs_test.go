package e2e

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"example.com/creativesync/platform/drivetest"
	"example.com/creativesync/platform/natstest"
	"example.com/creativesync/platform/pgtest"
)

// A Drive creative_sync job end to end, through the three binaries: POST
// with Drive links, the real Drive client reading a local stand-in, review
// deciding, and the buyer receiving the job webhook signed with the
// notifier's published key.
func TestDriveJobFromPostToSignedWebhook(t *testing.T) {
	bin := buildServices(t)
	prefix := natstest.Prefix(t)
	img := image.NewRGBA(image.Rect(0, 0, 300, 250))
	img.Set(3, 3, color.RGBA{B: 255, A: 255})
	var banner bytes.Buffer
	if err := png.Encode(&banner, img); err != nil {
		t.Fatal(err)
	}
	drive := drivetest.New(&drivetest.File{ID: "e2e_drive_banner_1", Name: "Spring.png", MIMEType: "image/png", Content: banner.Bytes()})
	defer drive.Close()

	got := make(chan delivery, 4)
	buyer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		got <- delivery{r.Header.Clone(), b}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer buyer.Close()

	dbs := map[string]string{"ingest": pgtest.NewDatabase(t), "review": pgtest.NewDatabase(t), "notifier": pgtest.NewDatabase(t)}
	addrs := map[string]string{"ingest": freeAddr(t), "review": freeAddr(t), "notifier": freeAddr(t)}
	common := []string{"NATS_URL=" + natstest.URL(), "TOPIC_PREFIX=" + prefix, "LOG_LEVEL=info", "OUTBOX_POLL_INTERVAL=20ms"}
	const key = "e2e_job_key_0123456789abcdef"
	// The public URL is https so review's URL rules approve the hosted
	// asset; nothing in this test fetches it through that name.
	ingestEnv := append(common, "DATABASE_URL="+dbs["ingest"], "HTTP_ADDR="+addrs["ingest"],
		"PUBLIC_BASE_URL=https://seller.e2e.example", "DRIVE_ENDPOINT="+drive.Endpoint(), "DRIVE_API_KEY=e2e-drive-key",
		"ASSET_BUCKET_URL=file://"+t.TempDir(), "NOTIFIER_ALLOW_PRIVATE_TARGETS=true")
	drive.APIKey = "e2e-drive-key"
	admin := exec.Command(filepath.Join(bin, "ingest"), "admin", "bootstrap-demo")
	admin.Env = append(os.Environ(), append(ingestEnv, "DEMO_API_KEY="+key)...)
	if out, err := admin.CombinedOutput(); err != nil {
		t.Fatalf("bootstrap-demo: %v\n%s", err, out)
	}
	start(t, bin, "ingest", ingestEnv...)
	start(t, bin, "review", append(common, "DATABASE_URL="+dbs["review"], "HTTP_ADDR="+addrs["review"],
		// The creatives' asset URLs are placeholders no test may reach.
		"REVIEW_INSPECT_ASSETS=false")...)
	start(t, bin, "notifier", append(common, "DATABASE_URL="+dbs["notifier"], "HTTP_ADDR="+addrs["notifier"],
		"NOTIFIER_ALLOW_PRIVATE_TARGETS=true")...)
	for name, addr := range addrs {
		waitReady(t, name, addr)
	}

	status, raw := callJSON(t, "POST", "http://"+addrs["ingest"]+"/api/external/creative_sync", map[string]string{"X-Api-Key": key},
		map[string]any{
			"file_links":    []string{"https://drive.google.com/file/d/e2e_drive_banner_1/view?usp=sharing"},
			"ad_account_id": "acct_demo",
			"webhook_url":   buyer.URL + "/scalemate/hook",
		})
	var accepted struct {
		JobID   string `json:"job_id"`
		Status  string `json:"status"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(raw, &accepted); err != nil || status != 202 || accepted.Status != "pending" {
		t.Fatalf("create: %d %s", status, raw)
	}

	d := receive(t, got, 60*time.Second, "job webhook")
	var hook struct {
		JobID   string `json:"job_id"`
		Status  string `json:"status"`
		Message string `json:"message"`
		Files   []struct {
			Status         string `json:"status"`
			CreativeID     string `json:"creative_id"`
			CreativeStatus string `json:"creative_status"`
		} `json:"files"`
	}
	if err := json.Unmarshal(d.body, &hook); err != nil {
		t.Fatalf("webhook body: %v: %s", err, d.body)
	}
	if hook.JobID != accepted.JobID || hook.Status != "completed" || hook.Message != "Files uploaded successfully" ||
		len(hook.Files) != 1 || hook.Files[0].CreativeStatus != "approved" || hook.Files[0].CreativeID != "drive_e2e_drive_banner_1" {
		t.Fatalf("webhook: %s", d.body)
	}
	verifySignature(t, "http://"+addrs["notifier"], buyer.URL+"/scalemate/hook", d)
	nothingMore(t, got, func(d delivery) string { return string(d.body) })
}
