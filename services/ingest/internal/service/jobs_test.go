package service_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/drivetest"
	"example.com/creativesync/platform/servicetest"
	driveapi "example.com/creativesync/services/ingest/internal/drive"
	"example.com/creativesync/services/ingest/internal/service"
)

func imageBytes(t *testing.T, kind string, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	img.Set(1, 1, color.RGBA{G: 200, A: 255})
	var b bytes.Buffer
	var err error
	if kind == "png" {
		err = png.Encode(&b, img)
	} else {
		err = jpeg.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// jobsOpts are the Drive job settings a test may change.
type jobsOpts struct{ maxFileBytes int64 }

// startJobs runs ingest with Drive jobs pointed at a local Drive stand-in.
func startJobs(t *testing.T, files ...*drivetest.File) (*stack, *drivetest.Server) {
	t.Helper()
	t.Parallel()
	return startJobsSerial(t, nil, files...)
}

// startJobsSerial is startJobs for a test that must not run in parallel.
func startJobsSerial(t *testing.T, edit func(*jobsOpts), files ...*drivetest.File) (*stack, *drivetest.Server) {
	t.Helper()
	o := jobsOpts{maxFileBytes: 1 << 20}
	if edit != nil {
		edit(&o)
	}
	d := drivetest.New(files...)
	t.Cleanup(d.Close)
	s := startIngestWith(t, func(c *service.Config) {
		c.Jobs = service.JobsConfig{
			Drive:          driveapi.Config{Endpoint: d.Endpoint(), APIKey: "test-key", HTTPClient: http.DefaultClient, Attempts: 3, Backoff: 5 * time.Millisecond},
			AssetBucketURL: "file://" + t.TempDir(), MaxLinks: 10, MaxFileBytes: o.maxFileBytes, AllowPrivateWebhooks: true,
		}
	})
	d.APIKey = "test-key"
	return s, d
}

type jobView struct {
	JobID   string `json:"job_id"`
	Status  string `json:"status"`
	Message string `json:"message"`
	Counts  struct {
		Total, Pending, Done, Failed, Approved, Rejected int
		PendingReview                                    int `json:"pending_review"`
	} `json:"counts"`
	Files []struct {
		Link, Name, Status, Reason, Action string
		FileID                             string `json:"file_id"`
		CreativeID                         string `json:"creative_id"`
		FormatID                           string `json:"format_id"`
		CreativeStatus                     string `json:"creative_status"`
		Inspection                         *struct {
			MIME          string `json:"mime_type"`
			Width, Height int
			SHA256        string `json:"sha256"`
		} `json:"inspection"`
	} `json:"files"`
}

func (s *stack) job(id string) jobView {
	s.t.Helper()
	st, body := s.do("GET", "/api/external/creative_sync/"+id, "", nil, "X-Api-Key", s.key)
	if st != 200 {
		s.t.Fatalf("job %s: %d %s", id, st, body)
	}
	var v jobView
	must(s.t, json.Unmarshal(body, &v))
	return v
}

func (s *stack) startJob(body any, hdr ...string) (int, map[string]any, []byte) {
	s.t.Helper()
	st, out := s.do("POST", "/api/external/creative_sync", "", jsonOf(body), append([]string{"X-Api-Key", s.key}, hdr...)...)
	var m map[string]any
	_ = json.Unmarshal(out, &m) // error answers are checked by the caller through st and out
	return st, m, out
}

func TestDriveJobFromLinksToWebhook(t *testing.T) {
	banner := imageBytes(t, "png", 300, 250)
	leader := imageBytes(t, "jpeg", 728, 90)
	s, d := startJobs(t,
		&drivetest.File{ID: "file_banner_0001", Name: "Spring banner.png", MIMEType: "image/png", Content: banner},
		&drivetest.File{ID: "folder_campaign1", Name: "campaign", MIMEType: drivetest.FolderMIME},
		&drivetest.File{ID: "file_leader_0001", Name: "leader.jpg", MIMEType: "image/jpeg", Content: leader, Parent: "folder_campaign1", Fail: []int{429, 503}},
		&drivetest.File{ID: "file_odd_size_01", Name: "odd.png", MIMEType: "image/png", Content: imageBytes(t, "png", 123, 45), Parent: "folder_campaign1"},
		&drivetest.File{ID: "file_liar_000001", Name: "liar.png", MIMEType: "image/png", Content: []byte("<html>not an image</html>")},
		&drivetest.File{ID: "file_private_001", Name: "secret.png", MIMEType: "image/png", Private: true},
	)
	st, m, raw := s.startJob(map[string]any{
		"file_links": []string{
			"https://drive.google.com/file/d/file_banner_0001/view?usp=sharing",
			"file_banner_0001", // the same file again collapses
			"https://drive.google.com/drive/folders/folder_campaign1",
			"https://drive.google.com/open?id=file_liar_000001",
			"https://drive.google.com/uc?id=file_private_001&export=download",
			"https://drive.google.com/file/d/file_missing_01/view",
		},
		"ad_account_id": "acct_1",
		"webhook_url":   "http://127.0.0.1:9/hook",
	})
	if st != 202 || m["status"] != "pending" || m["message"] != "Uploading files is running" || !strings.HasPrefix(fmt.Sprint(m["job_id"]), "job_") {
		t.Fatalf("create: %d %s", st, raw)
	}
	id := m["job_id"].(string)
	var v jobView
	servicetest.Eventually(t, within, func() error {
		v = s.job(id)
		if v.Status != "completed" {
			return fmt.Errorf("job %s: %s", v.Status, v.Message)
		}
		return nil
	})
	byFile := map[string]int{}
	for i, f := range v.Files {
		byFile[f.FileID] = i
	}
	want := map[string]string{"file_banner_0001": "done", "folder_campaign1": "expanded", "file_leader_0001": "done",
		"file_odd_size_01": "failed", "file_liar_000001": "failed", "file_private_001": "failed", "file_missing_01": "failed"}
	for id, st := range want {
		i, ok := byFile[id]
		if !ok || v.Files[i].Status != st {
			t.Errorf("file %s: %+v, want %s", id, v.Files, st)
		}
	}
	reason := func(id string) string { return v.Files[byFile[id]].Reason }
	for id, part := range map[string]string{"file_odd_size_01": "no format accepts a 123x45", "file_liar_000001": "not an image",
		"file_private_001": "no permission", "file_missing_01": "not found"} {
		if !strings.Contains(reason(id), part) {
			t.Errorf("%s: reason %q, want %q", id, reason(id), part)
		}
	}
	if v.Counts.Total != 6 || v.Counts.Done != 2 || v.Counts.Failed != 4 || v.Counts.PendingReview != 2 || len(v.Files) != 7 {
		t.Errorf("counts %+v over %d rows", v.Counts, len(v.Files))
	}
	b := v.Files[byFile["file_banner_0001"]]
	if b.CreativeID != "drive_file_banner_0001" || b.FormatID != "display_300x250" || b.Action != "created" || b.Inspection == nil || b.Inspection.Width != 300 {
		t.Errorf("banner %+v", b)
	}
	if n := d.Requests("get", "file_banner_0001"); n != 1 {
		t.Errorf("banner metadata read %d times: duplicates must collapse", n)
	}
	// The creative is in the library with its asset served by ingest.
	st, body := s.do("GET", "/api/v1/creatives/drive_file_banner_0001", s.key, nil)
	if st != 200 || !strings.Contains(string(body), "/assets/"+b.Inspection.SHA256+".png") || !strings.Contains(string(body), `"width":300`) {
		t.Fatalf("creative: %d %s", st, body)
	}
	st, asset := s.do("GET", "/assets/"+b.Inspection.SHA256+".png", "", nil)
	if st != 200 || !bytes.Equal(asset, banner) {
		t.Fatalf("asset: %d, %d bytes", st, len(asset))
	}

	// No webhook before review decided both creatives; then exactly one.
	if n := s.bk.Count("notification_requested_v1"); n != 0 {
		t.Fatalf("%d webhooks before decisions", n)
	}
	for _, cid := range []string{"drive_file_banner_0001", "drive_file_leader_0001"} {
		s.publish(&events.CreativeApprovedV1{Header: events.Header{EventID: watermill.NewUUID()},
			Decision: events.Decision{AccountID: "acct_1", CreativeID: cid, Revision: 1, Score: 1, DecidedBy: "auto"}})
	}
	servicetest.EventuallyTrue(t, within, "the job webhook", func() bool { return s.bk.Count("notification_requested_v1") == 1 })
	var note events.NotificationRequestedV1
	s.lastEvent("notification_requested_v1", &note)
	var hook jobView
	must(t, json.Unmarshal(note.Payload, &hook))
	if note.Kind != "creative_sync_job" || note.URL != "http://127.0.0.1:9/hook" || hook.JobID != id || hook.Status != "completed" ||
		hook.Counts.Approved != 2 || hook.Message == "" {
		t.Errorf("webhook %s: %s", note.Kind, note.Payload)
	}

	// Syncing the same file again is unchanged, and the job says so.
	st, m, raw = s.startJob(map[string]any{"file_links": []string{"file_banner_0001"}, "ad_account_id": "acct_1"})
	if st != 202 {
		t.Fatalf("again: %d %s", st, raw)
	}
	servicetest.Eventually(t, within, func() error {
		v = s.job(m["job_id"].(string))
		if v.Status != "completed" {
			return fmt.Errorf("job %s", v.Status)
		}
		return nil
	})
	if v.Files[0].Action != "unchanged" || v.Files[0].CreativeStatus != "approved" {
		t.Errorf("re-sync: %+v", v.Files[0])
	}
}

func TestDriveJobIntakeIsPreciseAndIdempotent(t *testing.T) {
	s, _ := startJobs(t, &drivetest.File{ID: "file_banner_0001", Name: "b.png", MIMEType: "image/png", Content: imageBytes(t, "png", 300, 250)})
	other := s.provision("other", "acct_other")
	cases := []struct {
		name   string
		key    string
		body   any
		status int
		field  string
	}{
		{"no links", s.key, map[string]any{"ad_account_id": "acct_1"}, 400, "file_links"},
		{"empty links", s.key, map[string]any{"file_links": []string{}, "ad_account_id": "acct_1"}, 400, "file_links"},
		{"not a drive link", s.key, map[string]any{"file_links": []string{"https://example.com/a.png"}, "ad_account_id": "acct_1"}, 400, "file_links[0]"},
		{"too many links", s.key, map[string]any{"file_links": strings.Split(strings.Repeat("file_banner_0001,", 11)[:17*11-1], ","), "ad_account_id": "acct_1"}, 400, "file_links"},
		{"no account", s.key, map[string]any{"file_links": []string{"file_banner_0001"}}, 400, "ad_account_id"},
		{"unknown account", s.key, map[string]any{"file_links": []string{"file_banner_0001"}, "ad_account_id": "acct_nope"}, 404, "ad_account_id"},
		{"another's account", other, map[string]any{"file_links": []string{"file_banner_0001"}, "ad_account_id": "acct_1"}, 404, "ad_account_id"},
		{"webhook with credentials", s.key, map[string]any{"file_links": []string{"file_banner_0001"}, "ad_account_id": "acct_1", "webhook_url": "https://u:p@hooks.example.com/x"}, 400, "webhook_url"},
	}
	for _, tc := range cases {
		st, body := s.do("POST", "/api/external/creative_sync", "", jsonOf(tc.body), "X-Api-Key", tc.key)
		if st != tc.status || !strings.Contains(string(body), `"field":"`+tc.field+`"`) {
			t.Errorf("%s: %d %s", tc.name, st, body)
		}
	}
	if n := s.count(`SELECT count(*) FROM sync_jobs`); n != 0 {
		t.Fatalf("bad requests created %d jobs", n)
	}
	req := map[string]any{"file_links": []string{"file_banner_0001"}, "ad_account_id": "acct_1"}
	_, first, _ := s.startJob(req, "Idempotency-Key", "job-key-0000000000001")
	_, again, _ := s.startJob(req, "Idempotency-Key", "job-key-0000000000001")
	if first["job_id"] == nil || first["job_id"] != again["job_id"] {
		t.Errorf("replay: %v then %v", first, again)
	}
	req["file_links"] = []string{"https://drive.google.com/file/d/file_banner_0001/view", "file_other_00001"}
	if st, _, raw := s.startJob(req, "Idempotency-Key", "job-key-0000000000001"); st != 409 || !strings.Contains(string(raw), "IDEMPOTENCY_CONFLICT") {
		t.Errorf("conflict: %d %s", st, raw)
	}
	if n := s.count(`SELECT count(*) FROM sync_jobs`); n != 1 {
		t.Errorf("%d jobs, want 1", n)
	}
}

// A job survives a restart: a file whose Drive download keeps failing is
// still pending when ingest stops; the new process picks the work up from
// JetStream, the file succeeds once Drive recovers, and nothing done
// before the restart is done twice.
func TestDriveJobResumesAfterRestart(t *testing.T) {
	banner := imageBytes(t, "png", 300, 250)
	down := make([]int, 1000)
	for i := range down {
		down[i] = 503
	}
	s, d := startJobs(t,
		&drivetest.File{ID: "file_banner_0001", Name: "a.png", MIMEType: "image/png", Content: banner},
		&drivetest.File{ID: "file_flaky_00002", Name: "b.png", MIMEType: "image/png", Content: imageBytes(t, "png", 728, 90), Fail: down},
	)
	_, m, raw := s.startJob(map[string]any{"file_links": []string{"file_banner_0001", "file_flaky_00002"}, "ad_account_id": "acct_1"})
	id, _ := m["job_id"].(string)
	if id == "" {
		t.Fatalf("create: %s", raw)
	}
	servicetest.Eventually(t, within, func() error {
		v := s.job(id)
		if v.Counts.Done != 1 || d.Requests("get", "file_flaky_00002") < 2 {
			return fmt.Errorf("job %s %+v, flaky file asked %d times", v.Status, v.Counts, d.Requests("get", "file_flaky_00002"))
		}
		return nil
	})
	s.restart()
	d.Put(&drivetest.File{ID: "file_flaky_00002", Name: "b.png", MIMEType: "image/png", Content: imageBytes(t, "png", 728, 90)})
	var v jobView
	servicetest.Eventually(t, 90*time.Second, func() error {
		if v = s.job(id); v.Status != "completed" {
			return fmt.Errorf("job %s %+v", v.Status, v.Counts)
		}
		return nil
	})
	if v.Counts.Done != 2 || v.Counts.Failed != 0 {
		t.Errorf("after restart: %+v", v.Counts)
	}
	if n := d.Requests("media", "file_banner_0001"); n != 1 {
		t.Errorf("the file done before the restart was downloaded %d times", n)
	}
	if n := s.count(`SELECT count(*) FROM creatives WHERE creative_id LIKE 'drive_%'`); n != 2 {
		t.Errorf("%d creatives, want 2", n)
	}
}
