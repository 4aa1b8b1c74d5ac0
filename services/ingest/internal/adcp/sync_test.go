package adcp

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRequestHashIgnoresOnlyTheExcludedFields(t *testing.T) {
	base := `{"idempotency_key":"k1234567890123456","account":{"account_id":"a"},"creatives":[{"creative_id":"c"}],
		"context":{"x":1},"push_notification_config":{"url":"https://b.example/h","authentication":{"schemes":["HMAC-SHA256"],"credentials":"secret-one-0123456789012345678901"}}}`
	hash := func(s string) string {
		t.Helper()
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(s), &raw); err != nil {
			t.Fatal(err)
		}
		push, perr := decodePushConfig(raw["push_notification_config"])
		if perr != nil {
			t.Fatal(perr)
		}
		h, err := requestHash(raw, push)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h0 := hash(base)
	same := []string{
		strings.Replace(base, `"k1234567890123456"`, `"other-key-0000000000"`, 1),
		strings.Replace(base, `{"x":1}`, `{"y":2}`, 1),
		strings.Replace(base, "secret-one", "secret-two", 1),
		// Key order and whitespace do not matter (RFC 8785).
		`{"creatives":[{"creative_id":"c"}],"account":{"account_id":"a"},"idempotency_key":"k1234567890123456",
		  "push_notification_config":{"authentication":{"credentials":"x-0123456789012345678901234567890","schemes":["HMAC-SHA256"]},"url":"https://b.example/h"}}`,
	}
	for i, s := range same {
		if hash(s) != h0 {
			t.Errorf("variant %d changed the hash", i)
		}
	}
	differ := []string{
		strings.Replace(base, `"creative_id":"c"`, `"creative_id":"d"`, 1),
		strings.Replace(base, "https://b.example/h", "https://b.example/g", 1),
		strings.Replace(base, `"context"`, `"dry_run":false,"context"`, 1), // absent != false
		strings.Replace(base, `"context"`, `"ext":{"v":1},"context"`, 1),
	}
	for i, s := range differ {
		if hash(s) == h0 {
			t.Errorf("variant %d did not change the hash", i)
		}
	}
}

func TestJobWebhookURLRefusesAddressesThatLookLikeNames(t *testing.T) {
	for _, u := range []string{"https://2130706433/hook", "https://0x7f000001/hook", "https://127.1/hook", "https://10.1/hook",
		"https://localhost./hook", "https://[::1]/hook", "https://169.254.169.254/latest"} {
		if msg := checkWebhookURL(u, false); msg == "" {
			t.Errorf("%s accepted", u)
		}
	}
	if msg := checkWebhookURL("https://hooks.example.com/x", false); msg != "" {
		t.Errorf("public URL refused: %s", msg)
	}
}
