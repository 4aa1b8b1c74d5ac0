package drive

import (
	"context"
	"errors"
	"io"

	"example.com/creativesync/services/ingest/internal/creative"
)

// Source is the Drive client as the domain's creative.FileSource.
type Source struct{ C *Client }

var _ creative.FileSource = Source{}

func refOf(l creative.JobLink) Ref {
	return Ref{ID: l.ID, ResourceKey: l.ResourceKey, Folder: l.Folder}
}

func sourceFile(f File) creative.SourceFile {
	return creative.SourceFile{ID: f.ID, ResourceKey: f.ResourceKey, Name: f.Name, MIMEType: f.MIMEType, Size: f.Size,
		MD5: f.MD5, Folder: f.Folder()}
}

// domainErr turns a classified Drive error into the domain's SourceError.
func domainErr(err error) error {
	var de *Error
	if errors.As(err, &de) {
		return &creative.SourceError{Reason: de.Reason, Permanent: de.Permanent}
	}
	return err
}

func (s Source) Stat(ctx context.Context, l creative.JobLink) (creative.SourceFile, error) {
	f, err := s.C.Get(ctx, refOf(l))
	if err != nil {
		return creative.SourceFile{}, domainErr(err)
	}
	return sourceFile(f), nil
}

func (s Source) List(ctx context.Context, folder creative.JobLink, max int) ([]creative.SourceFile, error) {
	fs, err := s.C.List(ctx, refOf(folder), max)
	if err != nil {
		return nil, domainErr(err)
	}
	out := make([]creative.SourceFile, len(fs))
	for i, f := range fs {
		out[i] = sourceFile(f)
	}
	return out, nil
}

func (s Source) Copy(ctx context.Context, l creative.JobLink, dst io.Writer) (int64, error) {
	body, err := s.C.Open(ctx, refOf(l))
	if err != nil {
		return 0, domainErr(err)
	}
	defer body.Close() // read-only; a close error changes nothing
	n, err := io.Copy(dst, body)
	var se *creative.SourceError
	if err != nil && !errors.As(err, &se) {
		// A body cut short is Drive's (or the network's) failure: retried.
		return n, &creative.SourceError{Reason: "downloading from Drive was interrupted: " + err.Error()}
	}
	return n, err
}
