package service_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"example.com/creativesync/services/review/internal/service"
)

// Review loads every hosted asset and judges its real bytes: a declared
// size the file does not have, or bytes of another type, reject; an
// asset that cannot be loaded goes to a person.
func TestReviewInspectsRealAssets(t *testing.T) {
	t.Parallel()
	pngOf := func(w, h int) []byte {
		var b bytes.Buffer
		if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, w, h))); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/right.png":
			_, _ = w.Write(pngOf(300, 250)) // a write error means the fetcher went away
		case "/wrong-size.png":
			_, _ = w.Write(pngOf(320, 50))
		case "/not-an-image.png":
			_, _ = w.Write([]byte("<html><body>landing page</body></html>"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer cdn.Close()
	s := newStack(t)
	s.start(func(c *service.Config) {
		c.Assets = service.AssetsConfig{Inspect: true, AllowPrivate: true, Timeout: 5 * time.Second, MaxBytes: 1 << 20}
	})
	cases := map[string]struct{ path, topic, code string }{
		"right":        {"/right.png", "creative_review_requested_v1", ""}, // plain http alone holds it for a person
		"wrong_size":   {"/wrong-size.png", "creative_rejected_v1", "FORMAT_MISMATCH"},
		"not_an_image": {"/not-an-image.png", "creative_rejected_v1", "FORMAT_MISMATCH"},
		"missing":      {"/missing.png", "creative_review_requested_v1", "ASSET_PROCESSING_FAILED"},
	}
	for id, tc := range cases {
		ev := creative("acct_assets", id)
		ev.Assets = json.RawMessage(fmt.Sprintf(`{"image":{"asset_type":"image","url":%q,"width":300,"height":250}}`, cdn.URL+tc.path))
		s.publish(ev)
	}
	for id, tc := range cases {
		got := s.waitOne(tc.topic, "acct_assets", id)
		reasons, err := json.Marshal(got.Payload["reasons"])
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case tc.code != "" && !strings.Contains(string(reasons), `"code":"`+tc.code+`"`):
			t.Errorf("%s: reasons %s, want %s", id, reasons, tc.code)
		case tc.code == "" && (strings.Contains(string(reasons), "FORMAT_MISMATCH") || strings.Contains(string(reasons), "ASSET_PROCESSING_FAILED")):
			t.Errorf("%s: a correct asset was faulted: %s", id, reasons)
		}
	}
}
