// Package assets keeps the files ingest fetches (Drive jobs) in blob
// storage through gocloud.dev/blob — a directory by default, S3 or GCS by
// URL in production — content-addressed by SHA-256, and serves them at
// /assets/{key} so reviewers and ad servers can load them.
package assets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"

	"gocloud.dev/blob"
	// The bucket URL picks the driver: file:// (development, one host),
	// s3:// (AWS S3 and compatibles) or gs:// (Google Cloud Storage), with
	// each cloud's usual credentials from the environment.
	_ "gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/gcsblob"
	_ "gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"
)

// Store is a bucket plus the public base URL of its keys.
type Store struct {
	bucket  *blob.Bucket
	baseURL string // e.g. https://seller.example.com/assets/
}

// Open opens the bucket at bucketURL (file:///abs/dir, s3://…, gs://…,
// for which the matching driver must be linked in); keys are served under
// baseURL.
func Open(ctx context.Context, bucketURL, baseURL string) (*Store, error) {
	b, err := blob.OpenBucket(ctx, bucketURL)
	if err != nil {
		return nil, fmt.Errorf("opening asset bucket %s: %w", bucketURL, err)
	}
	return &Store{bucket: b, baseURL: baseURL}, nil
}

// Close closes the bucket.
func (s *Store) Close() error { return s.bucket.Close() }

// Put stores r under key unless it is already there (keys are content
// hashes, so the same key is the same bytes).
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if ok, err := s.bucket.Exists(ctx, key); err != nil {
		return err
	} else if ok {
		return nil
	}
	w, err := s.bucket.NewWriter(ctx, key, &blob.WriterOptions{ContentType: contentType})
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, io.LimitReader(r, size)); err != nil {
		return errors.Join(err, w.Close())
	}
	return w.Close()
}

// URL is where the world reads key.
func (s *Store) URL(key string) string { return s.baseURL + key }

var keyPattern = regexp.MustCompile(`^[0-9a-f]{64}(\.[a-z0-9]{1,8})?$`)

// ServeHTTP answers GET /assets/{key}: the bytes with their stored type,
// cacheable forever (a key never changes content).
func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if !keyPattern.MatchString(key) {
		http.Error(w, "no such asset", http.StatusNotFound)
		return
	}
	rd, err := s.bucket.NewReader(r.Context(), key, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		http.Error(w, "no such asset", http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, "asset storage unavailable", http.StatusServiceUnavailable)
		return
	}
	defer rd.Close() // read-only
	w.Header().Set("Content-Type", rd.ContentType())
	w.Header().Set("Content-Length", strconv.FormatInt(rd.Size(), 10))
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// A copy error means the client went away mid-body.
	_, _ = io.Copy(w, rd)
}
