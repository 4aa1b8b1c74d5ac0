package httpapi

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestSDKLogKeepsWarningsButNotTheKnownToolNameComplaint(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(minLevel{slog.NewTextHandler(&buf, nil), slog.LevelWarn})
	log.Error(`AddTool: invalid tool name "tasks/get": tool name contains invalid characters: "/"`)
	log.Info("session opened")
	log.Error(`AddTool: invalid tool name "sync creatives": tool name contains invalid characters: " "`)
	log.Warn("client went away")
	out := buf.String()
	if strings.Contains(out, "tasks/get") || strings.Contains(out, "session opened") {
		t.Errorf("dropped records leaked:\n%s", out)
	}
	if !strings.Contains(out, "sync creatives") || !strings.Contains(out, "client went away") {
		t.Errorf("kept records missing:\n%s", out)
	}
}
