package challenge

import (
	"crypto/ed25519"
	"strings"
	"testing"

	"example.com/creativesync/platform/signing"
	"example.com/creativesync/services/ingest/internal/creative"
)

// Targets that are not public are refused before any request, by the
// rules of platform/netguard: literal and numeric-looking addresses are
// judged as addresses and local names refused, none of them sent to DNS.
func TestProveRefusesNonPublicTargets(t *testing.T) {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	signer, err := signing.NewWebhookSigner(signing.NewKey("k1", key), signing.MaxValidity, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := New(nil, signer, "https://seller.example", false)
	for _, host := range []string{"127.0.0.1", "[::1]", "10.1.2.3", "169.254.169.254", "100.64.0.1", "2130706433",
		"0x7f000001", "127.1", "localhost", "localhost.", "db.internal", "printer.local"} {
		err := p.Prove(t.Context(), creative.Challenge{AccountID: "acct_1", SubscriberID: "s", URL: "https://" + host + "/hook",
			EventTypes: []string{"creative.status_changed"}})
		if err == nil || !strings.Contains(err.Error(), "not a public") {
			t.Errorf("%s: %v", host, err)
		}
	}
}
