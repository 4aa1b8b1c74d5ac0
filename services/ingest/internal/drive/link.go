// Package drive reads files from Google Drive for creative_sync jobs: it
// understands every link form people paste, and fetches metadata, folder
// listings and content through the official Drive v3 client.
package drive

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Ref names one Drive file or folder.
type Ref struct {
	ID          string
	ResourceKey string // for files shared by link before 2021 (resourcekey=…)
	Folder      bool
}

// idPattern is what Drive ids look like: URL-safe base64 characters. Real
// ids are 25–44 long; 10 keeps room for test fixtures without accepting
// words pasted by mistake.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{10,128}$`)

// driveHosts are the hosts whose links we read.
var driveHosts = map[string]bool{"drive.google.com": true, "docs.google.com": true}

// ParseLink reads a bare id or a Drive URL: /file/d/ID/view (and /edit,
// /preview, …), /open?id=ID, /uc?id=ID&export=download,
// /drive/folders/ID (also under /drive/u/N/), docs.google.com/<kind>/d/ID,
// each with an optional resourcekey parameter.
func ParseLink(s string) (Ref, error) {
	s = strings.TrimSpace(s)
	if idPattern.MatchString(s) {
		return Ref{ID: s}, nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Ref{}, fmt.Errorf("not a Google Drive link or file id")
	}
	if !driveHosts[strings.ToLower(u.Hostname())] {
		return Ref{}, fmt.Errorf("host %s is not Google Drive (drive.google.com or docs.google.com)", u.Hostname())
	}
	q := u.Query()
	ref := Ref{ResourceKey: q.Get("resourcekey")}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	// Drive's multi-account paths: /drive/u/0/folders/ID, /u/1/…
	for i := 0; i+1 < len(parts); i++ {
		if parts[i] == "u" && isDigits(parts[i+1]) {
			parts = append(parts[:i:i], parts[i+2:]...)
			break
		}
	}
	switch {
	case len(parts) >= 3 && parts[1] == "d" && (parts[0] == "file" || isDocKind(parts[0])):
		ref.ID = parts[2]
	case len(parts) >= 3 && parts[0] == "drive" && parts[1] == "folders":
		ref.ID, ref.Folder = parts[2], true
	case len(parts) >= 2 && parts[0] == "folders":
		ref.ID, ref.Folder = parts[1], true
	case len(parts) == 1 && (parts[0] == "open" || parts[0] == "uc"):
		ref.ID = q.Get("id")
	case len(parts) == 2 && parts[0] == "drive" && parts[1] == "folders":
		return Ref{}, fmt.Errorf("folder link has no folder id")
	default:
		return Ref{}, fmt.Errorf("unrecognised Google Drive link path %s", u.Path)
	}
	if !idPattern.MatchString(ref.ID) {
		return Ref{}, fmt.Errorf("link does not carry a valid Drive id")
	}
	return ref, nil
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// isDocKind names the docs.google.com editors whose files can be shared.
func isDocKind(s string) bool {
	switch s {
	case "document", "spreadsheets", "presentation", "drawings", "forms":
		return true
	}
	return false
}
