package drive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	drive "google.golang.org/api/drive/v3"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
)

// FolderMIME is the MIME type Drive gives folders.
const FolderMIME = "application/vnd.google-apps.folder"

// File is a Drive file's metadata as jobs need it.
type File struct {
	ID          string
	ResourceKey string
	Name        string
	MIMEType    string
	Size        int64
	MD5         string
}

// Folder reports whether f is a folder.
func (f File) Folder() bool { return f.MIMEType == FolderMIME }

// Config says how to reach Drive.
type Config struct {
	// Endpoint is the Drive v3 base URL; empty means Google's. Tests and
	// the development stand-in point it at a local server.
	Endpoint string
	// APIKey reads files shared by link; CredentialsJSON (a service
	// account) reads files shared with that account. One is required.
	APIKey          string
	CredentialsJSON []byte
	// HTTPClient, when set, carries every request (tests); it replaces
	// the credentials' own transport, so it must add auth itself if the
	// endpoint needs it.
	HTTPClient *http.Client
	// Attempts bounds tries of one call on 429/5xx (default 4); Backoff is
	// the first wait, doubled each time (default 250ms).
	Attempts int
	Backoff  time.Duration
}

// Client reads Drive.
type Client struct {
	svc      *drive.Service
	attempts int
	backoff  time.Duration
}

// New builds a client. It does not contact Drive.
func New(ctx context.Context, cfg Config) (*Client, error) {
	var opts []option.ClientOption
	switch {
	case cfg.HTTPClient != nil:
		hc := cfg.HTTPClient
		if cfg.APIKey != "" {
			// A custom HTTP client replaces the options' auth, so the key
			// is added here.
			c := *hc
			c.Transport = keyTransport{base: hc.Transport, key: cfg.APIKey}
			hc = &c
		}
		opts = append(opts, option.WithHTTPClient(hc))
	case len(cfg.CredentialsJSON) > 0:
		opts = append(opts, option.WithCredentialsJSON(cfg.CredentialsJSON), option.WithScopes(drive.DriveReadonlyScope))
	case cfg.APIKey != "":
		opts = append(opts, option.WithAPIKey(cfg.APIKey))
	default:
		return nil, errors.New("drive: an API key or service-account credentials are required")
	}
	if cfg.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(cfg.Endpoint))
	}
	svc, err := drive.NewService(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("drive client: %w", err)
	}
	c := &Client{svc: svc, attempts: cfg.Attempts, backoff: cfg.Backoff}
	if c.attempts <= 0 {
		c.attempts = 4
	}
	if c.backoff <= 0 {
		c.backoff = 250 * time.Millisecond
	}
	return c, nil
}

// Error is a Drive failure classified for the job: Permanent ones (not
// found, no permission) end the file; others were retried and may succeed
// on a later attempt of the whole file.
type Error struct {
	Status    int
	Reason    string
	Permanent bool
	Err       error
}

func (e *Error) Error() string { return e.Reason }
func (e *Error) Unwrap() error { return e.Err }

func classify(err error, what string) error {
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return &Error{Reason: fmt.Sprintf("%s: Drive could not be reached: %v", what, err), Err: err}
	}
	e := &Error{Status: ge.Code, Err: err}
	switch {
	case ge.Code == http.StatusNotFound:
		e.Reason, e.Permanent = what+": file not found, or not shared with this seller", true
	case ge.Code == http.StatusTooManyRequests || ge.Code >= 500 || rateLimited(ge):
		e.Reason = fmt.Sprintf("%s: Drive answered %d (rate limit or outage)", what, ge.Code)
	case ge.Code == http.StatusForbidden || ge.Code == http.StatusUnauthorized:
		e.Reason, e.Permanent = what+": no permission to read this file (share it with the seller or by link)", true
	default:
		e.Reason, e.Permanent = fmt.Sprintf("%s: Drive refused the request (%d %s)", what, ge.Code, ge.Message), true
	}
	return e
}

// rateLimited reports Drive's 403 rate-limit errors, which are transient.
func rateLimited(ge *googleapi.Error) bool {
	for _, it := range ge.Errors {
		if strings.Contains(it.Reason, "RateLimitExceeded") || strings.Contains(it.Reason, "rateLimitExceeded") {
			return true
		}
	}
	return false
}

// retry runs call until it succeeds, fails permanently, or attempts run out.
func (c *Client) retry(ctx context.Context, what string, call func() error) error {
	wait := c.backoff
	var err error
	for i := 0; i < c.attempts; i++ {
		if err = call(); err == nil {
			return nil
		}
		err = classify(err, what)
		var de *Error
		if !errors.As(err, &de) || de.Permanent {
			return err
		}
		if i == c.attempts-1 {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
	return err
}

const fileFields = "id, name, mimeType, size, md5Checksum, resourceKey"

func fileOf(f *drive.File) File {
	return File{ID: f.Id, ResourceKey: f.ResourceKey, Name: f.Name, MIMEType: f.MimeType, Size: f.Size, MD5: f.Md5Checksum}
}

// resourceKeyHeader passes a link's resource key, which Drive requires
// for files shared by link before 2021.
func resourceKeyHeader(ref Ref) string { return ref.ID + "/" + ref.ResourceKey }

// Get reads a file's (or folder's) metadata.
func (c *Client) Get(ctx context.Context, ref Ref) (File, error) {
	var out File
	err := c.retry(ctx, "reading file "+ref.ID, func() error {
		call := c.svc.Files.Get(ref.ID).Fields(fileFields).SupportsAllDrives(true).Context(ctx)
		if ref.ResourceKey != "" {
			call.Header().Set("X-Goog-Drive-Resource-Keys", resourceKeyHeader(ref))
		}
		f, err := call.Do()
		if err == nil {
			out = fileOf(f)
		}
		return err
	})
	return out, err
}

// List returns the files directly in a folder (not its subfolders), up
// to max; more is an error the job reports.
func (c *Client) List(ctx context.Context, folder Ref, max int) ([]File, error) {
	var out []File
	token := ""
	for {
		var page *drive.FileList
		err := c.retry(ctx, "listing folder "+folder.ID, func() error {
			call := c.svc.Files.List().Q(fmt.Sprintf("'%s' in parents and trashed = false", folder.ID)).
				Fields(googleapi.Field("nextPageToken, files(" + fileFields + ")")).
				SupportsAllDrives(true).IncludeItemsFromAllDrives(true).PageSize(100).OrderBy("name").Context(ctx)
			if token != "" {
				call = call.PageToken(token)
			}
			if folder.ResourceKey != "" {
				call.Header().Set("X-Goog-Drive-Resource-Keys", resourceKeyHeader(folder))
			}
			var err error
			page, err = call.Do()
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, f := range page.Files {
			out = append(out, fileOf(f))
		}
		if len(out) > max {
			return nil, &Error{Reason: fmt.Sprintf("folder %s holds more than %d files", folder.ID, max), Permanent: true}
		}
		if token = page.NextPageToken; token == "" {
			return out, nil
		}
	}
}

// Open streams a file's content. The caller closes it.
func (c *Client) Open(ctx context.Context, ref Ref) (io.ReadCloser, error) {
	var body io.ReadCloser
	err := c.retry(ctx, "downloading file "+ref.ID, func() error {
		call := c.svc.Files.Get(ref.ID).SupportsAllDrives(true).AcknowledgeAbuse(false).Context(ctx)
		if ref.ResourceKey != "" {
			call.Header().Set("X-Goog-Drive-Resource-Keys", resourceKeyHeader(ref))
		}
		resp, err := call.Download()
		if err == nil {
			body = resp.Body
		}
		return err
	})
	return body, err
}

// keyTransport adds the API key to every request.
type keyTransport struct {
	base http.RoundTripper
	key  string
}

func (t keyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	q := r.URL.Query()
	q.Set("key", t.key)
	r.URL.RawQuery = q.Encode()
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}
