package drivetest

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if v != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
	}
	return resp.StatusCode
}

func TestNewDirServesADirectoryAsADrive(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "banner 1.png"), []byte("png"), 0o600))
	must(os.Mkdir(filepath.Join(dir, "campaign"), 0o700))
	must(os.WriteFile(filepath.Join(dir, "campaign", "spot.mp4"), []byte("mp4"), 0o600))
	s := NewDir(dir)
	defer s.Close()

	var meta map[string]any
	if st := getJSON(t, s.Endpoint()+"files/"+DirID("banner 1.png"), &meta); st != 200 || meta["name"] != "banner 1.png" || meta["mimeType"] != "image/png" {
		t.Fatalf("file: %d %v", st, meta)
	}
	var list struct{ Files []map[string]any }
	if st := getJSON(t, s.Endpoint()+"files?q='"+DirID("campaign")+"'+in+parents", &list); st != 200 || len(list.Files) != 1 || list.Files[0]["name"] != "spot.mp4" {
		t.Fatalf("folder: %d %v", st, list)
	}
	// The directory is read again at each request: new files appear.
	must(os.WriteFile(filepath.Join(dir, "late.gif"), []byte("gif"), 0o600))
	if st := getJSON(t, s.Endpoint()+"files/"+DirID("late.gif"), nil); st != 200 {
		t.Fatalf("late file: %d", st)
	}
	if st := getJSON(t, s.Endpoint()+"files/dev_nothing_here", nil); st != 404 {
		t.Fatalf("missing file: %d", st)
	}
	if DirID("a.png") != "dev_a_png_" || len(DirID("x")) < 10 {
		t.Errorf("ids: %q %q", DirID("a.png"), DirID("x"))
	}
}
