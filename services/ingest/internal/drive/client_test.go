package drive

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"example.com/creativesync/platform/drivetest"
)

func newClient(t *testing.T, s *drivetest.Server) *Client {
	t.Helper()
	c, err := New(context.Background(), Config{Endpoint: s.Endpoint(), APIKey: "test-key", HTTPClient: http.DefaultClient,
		Attempts: 3, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientAgainstTheStandIn(t *testing.T) {
	s := drivetest.New(
		&drivetest.File{ID: "file_banner_0001", Name: "banner.png", MIMEType: "image/png", Content: []byte("png bytes")},
		&drivetest.File{ID: "file_keyed_00001", Name: "old.png", MIMEType: "image/png", Content: []byte("k"), ResourceKey: "0-key"},
		&drivetest.File{ID: "file_private_001", Name: "secret.png", MIMEType: "image/png", Private: true},
		&drivetest.File{ID: "file_flaky_00001", Name: "flaky.png", MIMEType: "image/png", Content: []byte("ok"), Fail: []int{429, 503}},
		&drivetest.File{ID: "file_down_000001", Name: "down.png", MIMEType: "image/png", Fail: []int{500, 500, 500, 500}},
		&drivetest.File{ID: "folder_campaign1", Name: "campaign", MIMEType: drivetest.FolderMIME},
	)
	defer s.Close()
	s.APIKey = "test-key"
	for i := 0; i < 150; i++ { // more than one page
		s.Put(&drivetest.File{ID: "kid_" + string(rune('a'+i/26)) + string(rune('a'+i%26)) + "_0000001", Name: "k", MIMEType: "image/png", Parent: "folder_campaign1"})
	}
	c := newClient(t, s)
	ctx := context.Background()

	f, err := c.Get(ctx, Ref{ID: "file_banner_0001"})
	if err != nil || f.Name != "banner.png" || f.Size != 9 || f.MD5 == "" || f.Folder() {
		t.Fatalf("get: %+v %v", f, err)
	}
	body, err := c.Open(ctx, Ref{ID: "file_banner_0001"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(body)
	body.Close()
	if err != nil || string(b) != "png bytes" {
		t.Fatalf("content %q %v", b, err)
	}
	if _, err := c.Get(ctx, Ref{ID: "file_keyed_00001"}); !isPermanent(err) {
		t.Errorf("without resource key: %v", err)
	}
	if _, err := c.Get(ctx, Ref{ID: "file_keyed_00001", ResourceKey: "0-key"}); err != nil {
		t.Errorf("with resource key: %v", err)
	}
	if _, err := c.Get(ctx, Ref{ID: "nope_nope_nope"}); !isPermanent(err) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := c.Get(ctx, Ref{ID: "file_private_001"}); !isPermanent(err) {
		t.Errorf("private file: %v", err)
	}
	if f, err := c.Get(ctx, Ref{ID: "file_flaky_00001"}); err != nil || f.Name != "flaky.png" {
		t.Errorf("429 then 503 then success: %+v %v", f, err)
	}
	if _, err := c.Get(ctx, Ref{ID: "file_down_000001"}); err == nil || isPermanent(err) {
		t.Errorf("persistent 500 must be a transient failure after retries: %v", err)
	} else if n := s.Requests("get", "file_down_000001"); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
	kids, err := c.List(ctx, Ref{ID: "folder_campaign1", Folder: true}, 1000)
	if err != nil || len(kids) != 150 {
		t.Fatalf("list: %d %v", len(kids), err)
	}
	if _, err := c.List(ctx, Ref{ID: "folder_campaign1", Folder: true}, 100); !isPermanent(err) {
		t.Errorf("folder over the limit: %v", err)
	}
}

func isPermanent(err error) bool {
	var de *Error
	return errors.As(err, &de) && de.Permanent
}
