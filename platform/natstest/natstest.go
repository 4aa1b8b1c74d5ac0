// Package natstest points tests at a real JetStream server and gives each
// test its own topic prefix, so its streams and consumers are its own.
package natstest

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// URL is the server tests use: TEST_NATS_URL, else NATS_URL, else the
// standard local server.
func URL() string {
	for _, k := range []string{"TEST_NATS_URL", "NATS_URL"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return nats.DefaultURL
}

// Prefix returns a fresh topic prefix for tb and deletes every stream that
// carries it when tb ends.
func Prefix(tb testing.TB) string {
	tb.Helper()
	var b [5]byte
	_, _ = rand.Read(b[:])
	prefix := "t" + hex.EncodeToString(b[:]) + "_"
	tb.Cleanup(func() {
		nc, err := nats.Connect(URL(), nats.Timeout(5*time.Second))
		if err != nil {
			return
		}
		defer nc.Close()
		js, err := nc.JetStream()
		if err != nil {
			return
		}
		for name := range js.StreamNames() {
			if strings.HasPrefix(name, prefix) {
				_ = js.DeleteStream(name)
			}
		}
	})
	return prefix
}
