// Package adcptest validates response bodies against the official AdCP 3.0
// JSON schemas in tests. The schemas are embedded in the platform module
// (platform/adcpschema), so nothing outside the repository is read.
package adcptest

import (
	"bytes"
	"encoding/json"
	"testing"

	"example.com/creativesync/platform/adcpschema"
)

// Validate checks body against the schema at rel (e.g.
// "creative/sync-creatives-response.json") and fails tb on a mismatch.
func Validate(tb testing.TB, rel string, body []byte) {
	tb.Helper()
	sch, err := adcpschema.Load(rel)
	if err != nil {
		tb.Fatalf("compiling %s: %v", rel, err)
	}
	if !json.Valid(body) {
		tb.Fatalf("response is not JSON:\n%s", body)
	}
	if err := sch.Validate(body); err != nil {
		var pretty bytes.Buffer
		_ = json.Indent(&pretty, body, "", "  ")
		tb.Fatalf("response does not match %s:\n%v\nbody:\n%s", rel, err, pretty.String())
	}
}
