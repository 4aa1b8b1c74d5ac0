// Package drivetest is a local stand-in for the part of the Google Drive
// v3 API that creative_sync jobs use (files.get, files.get?alt=media,
// files.list by parent, Drive's error bodies), so tests and local
// development point the real Drive client at it.
package drivetest

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// FolderMIME is Drive's folder type.
const FolderMIME = "application/vnd.google-apps.folder"

// File is one stand-in file.
type File struct {
	ID          string
	Name        string
	MIMEType    string // what Drive claims; may contradict the content
	Content     []byte
	Parent      string
	ResourceKey string // required in X-Goog-Drive-Resource-Keys when set
	// Private files answer 403, as a file not shared with the caller does.
	Private bool
	// Fail answers these statuses, one per request, before serving.
	Fail []int
	// Stream, when set, produces Size bytes of content instead of Content
	// (a large file that is never held whole in memory).
	Stream func(w io.Writer) error
	Size   int64
}

// Server is a running stand-in.
type Server struct {
	*httptest.Server
	mu       sync.Mutex
	files    map[string]*File
	requests map[string]int // "get:<id>", "media:<id>", "list:<id>"
	// APIKey, when set, must be the key= query parameter.
	APIKey string
	// load, when set, replaces the files before each request (NewDir).
	load func() []*File
}

// New starts a stand-in serving files. Close it when done.
func New(files ...*File) *Server {
	s := &Server{files: map[string]*File{}, requests: map[string]int{}}
	for _, f := range files {
		s.Put(f)
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Endpoint is the base URL to give the Drive client.
func (s *Server) Endpoint() string { return s.URL + "/drive/v3/" }

// Put adds or replaces a file.
func (s *Server) Put(f *File) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Stream == nil {
		f.Size = int64(len(f.Content))
	}
	s.files[f.ID] = f
}

// Requests is how many requests of a kind ("get", "media", "list") a file
// received.
func (s *Server) Requests(kind, id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[kind+":"+id]
}

var parentQuery = regexp.MustCompile(`^'([^']+)' in parents`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if s.load != nil {
		files := s.load()
		s.mu.Lock()
		s.files = map[string]*File{}
		s.mu.Unlock()
		for _, f := range files {
			s.Put(f)
		}
	}
	if s.APIKey != "" && r.URL.Query().Get("key") != s.APIKey {
		driveError(w, http.StatusBadRequest, "badRequest", "API key not valid")
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/drive/v3/")
	switch {
	case path == "files":
		m := parentQuery.FindStringSubmatch(r.URL.Query().Get("q"))
		if m == nil {
			driveError(w, http.StatusBadRequest, "invalid", "only 'ID' in parents queries are served")
			return
		}
		s.list(w, r, m[1])
	case strings.HasPrefix(path, "files/"):
		s.get(w, r, strings.TrimPrefix(path, "files/"))
	default:
		driveError(w, http.StatusNotFound, "notFound", "no such API path")
	}
}

// take records a request and returns the file and a failure status to
// answer with (0: none).
func (s *Server) take(kind, id string) (*File, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[kind+":"+id]++
	f := s.files[id]
	if f == nil {
		return nil, http.StatusNotFound
	}
	if len(f.Fail) > 0 {
		st := f.Fail[0]
		f.Fail = f.Fail[1:]
		return f, st
	}
	return f, 0
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, id string) {
	kind := "get"
	if r.URL.Query().Get("alt") == "media" {
		kind = "media"
	}
	f, fail := s.take(kind, id)
	if fail == 0 && f.ResourceKey != "" && r.Header.Get("X-Goog-Drive-Resource-Keys") != f.ID+"/"+f.ResourceKey {
		fail = http.StatusNotFound // Drive hides files whose resource key is missing
	}
	if fail == 0 && f.Private {
		fail = http.StatusForbidden
	}
	if fail != 0 {
		failWith(w, fail)
		return
	}
	if kind == "media" {
		if f.MIMEType == FolderMIME {
			driveError(w, http.StatusForbidden, "fileNotDownloadable", "folders have no content")
			return
		}
		w.Header().Set("Content-Type", f.MIMEType)
		w.Header().Set("Content-Length", strconv.FormatInt(f.Size, 10))
		if f.Stream != nil {
			_ = f.Stream(w) // the client sees a short body if this fails
			return
		}
		_, _ = w.Write(f.Content) // a write error means the client went away
		return
	}
	writeJSON(w, metadata(f))
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, parent string) {
	folder, fail := s.take("list", parent)
	if fail == 0 && folder.Private {
		fail = http.StatusForbidden
	}
	if fail != 0 {
		failWith(w, fail)
		return
	}
	s.mu.Lock()
	var kids []*File
	for _, f := range s.files {
		if f.Parent == parent {
			kids = append(kids, f)
		}
	}
	s.mu.Unlock()
	sort.Slice(kids, func(i, j int) bool { return kids[i].Name < kids[j].Name })
	size := 100
	if n, err := strconv.Atoi(r.URL.Query().Get("pageSize")); err == nil && n > 0 {
		size = n
	}
	start, _ := strconv.Atoi(r.URL.Query().Get("pageToken")) // "" is the first page
	end := min(start+size, len(kids))
	out := map[string]any{"files": []any{}}
	var files []any
	for _, f := range kids[start:end] {
		files = append(files, metadata(f))
	}
	if files != nil {
		out["files"] = files
	}
	if end < len(kids) {
		out["nextPageToken"] = strconv.Itoa(end)
	}
	writeJSON(w, out)
}

func metadata(f *File) map[string]any {
	m := map[string]any{"id": f.ID, "name": f.Name, "mimeType": f.MIMEType}
	if f.MIMEType != FolderMIME {
		m["size"] = strconv.FormatInt(f.Size, 10)
		if f.Stream == nil {
			sum := md5.Sum(f.Content)
			m["md5Checksum"] = hex.EncodeToString(sum[:])
		} else {
			m["md5Checksum"] = fmt.Sprintf("stream-%d", f.Size)
		}
	}
	if f.ResourceKey != "" {
		m["resourceKey"] = f.ResourceKey
	}
	return m
}

func failWith(w http.ResponseWriter, status int) {
	reason := map[int]string{http.StatusNotFound: "notFound", http.StatusForbidden: "insufficientFilePermissions",
		http.StatusTooManyRequests: "rateLimitExceeded"}[status]
	if reason == "" {
		reason = "backendError"
	}
	msg := http.StatusText(status)
	if status == http.StatusNotFound {
		msg = "File not found"
	}
	driveError(w, status, reason, msg)
}

// driveError writes Drive's error body.
func driveError(w http.ResponseWriter, status int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	writeBody(w, map[string]any{"error": map[string]any{"code": status, "message": msg,
		"errors": []any{map[string]any{"domain": "global", "reason": reason, "message": msg}}}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	writeBody(w, v)
}

func writeBody(w http.ResponseWriter, v any) {
	// Encoding maps of strings cannot fail; a write error means the client
	// went away.
	_ = json.NewEncoder(w).Encode(v)
}

// NewDir starts a stand-in serving a directory as a Drive, re-read at
// every request, for local development: each file is a Drive file and each
// subdirectory a folder of the files in it. Ids are DirID of the name.
func NewDir(dir string) *Server {
	s := New()
	s.load = func() []*File { return dirFiles(dir, "") }
	return s
}

// DirID is the Drive id NewDir gives a file or folder name: "dev_" and the
// name with anything but letters, digits, _ and - replaced by _.
func DirID(name string) string {
	var b strings.Builder
	b.WriteString("dev_")
	for _, c := range name {
		if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	id := b.String()
	for len(id) < 10 {
		id += "_"
	}
	return id
}

func dirFiles(dir, parent string) []*File {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil // a missing directory is an empty Drive
	}
	var out []*File
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		id := DirID(e.Name())
		if e.IsDir() {
			out = append(out, &File{ID: id, Name: e.Name(), MIMEType: FolderMIME, Parent: parent})
			out = append(out, dirFiles(path, id)...)
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			continue // unreadable files are simply not there
		}
		mt := mime.TypeByExtension(filepath.Ext(e.Name()))
		if mt == "" {
			mt = "application/octet-stream"
		}
		out = append(out, &File{ID: id, Name: e.Name(), MIMEType: mt, Content: b, Parent: parent})
	}
	return out
}
