package review

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"example.com/creativesync/platform/inspect"
)

// Codes of the findings asset inspection produces (AdCP's names).
const (
	CodeAssetProcessingFailed = "ASSET_PROCESSING_FAILED"
	CodeFormatMismatch        = "FORMAT_MISMATCH"
)

// AssetFetcher loads and inspects the asset at a URL (platform/inspect's
// Fetcher: SSRF-safe, size-capped, cached).
type AssetFetcher interface {
	Fetch(ctx context.Context, url string) (inspect.Result, error)
}

// AssetInspector is a Classifier that looks at every hosted image, video
// and audio asset's real bytes and compares them with what the creative
// declares: a missing or broken asset, or one whose real type, size or
// duration contradicts the manifest, is an explainable finding. It never
// fails as a whole: an asset it cannot load is itself the finding.
type AssetInspector struct {
	Fetcher AssetFetcher
	// Timeout bounds the whole inspection of one creative (default 20s).
	Timeout time.Duration
}

// mediaTypes are the asset types whose url holds the asset's own bytes.
var mediaTypes = map[string]inspect.Kind{"image": inspect.KindImage, "video": inspect.KindVideo, "audio": inspect.KindAudio}

// durationTolerance absorbs container rounding between a declared and a
// measured duration.
const durationTolerance = 500 // ms

// Classify implements Classifier.
func (ai AssetInspector) Classify(ctx context.Context, c *Creative, _ Snapshot) ([]Finding, error) {
	timeout := ai.Timeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ids := make([]string, 0, len(c.Assets))
	for id, a := range c.Assets {
		if _, ok := mediaTypes[a.Type]; ok && a.URLs["url"] != "" {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	findings := make([][]Finding, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { findings[i] = ai.check(ctx, id, c.Assets[id]) })
	}
	wg.Wait()
	var out []Finding
	for _, f := range findings {
		out = append(out, f...)
	}
	return out, nil
}

func (ai AssetInspector) check(ctx context.Context, id string, a Asset) []Finding {
	field := "assets." + id
	res, err := ai.Fetcher.Fetch(ctx, a.URLs["url"])
	switch {
	case errors.Is(err, inspect.ErrUnreachable) || errors.Is(err, context.DeadlineExceeded):
		// Possibly passing (a CDN hiccup): a person looks, nothing is
		// rejected for it alone.
		return []Finding{{Code: CodeAssetProcessingFailed, Field: field + ".url", Factor: 0.5,
			Message: fmt.Sprintf("asset %s could not be loaded: %v", id, err)}}
	case inspect.IsProblem(err):
		return []Finding{{Code: CodeAssetProcessingFailed, Field: field + ".url", Factor: 0,
			Message: fmt.Sprintf("asset %s is broken: %v", id, err)}}
	case err != nil:
		return []Finding{{Code: CodeAssetProcessingFailed, Field: field + ".url", Factor: 0.5,
			Message: fmt.Sprintf("asset %s could not be inspected: %v", id, err)}}
	}
	var out []Finding
	if want := mediaTypes[a.Type]; res.Kind != want {
		out = append(out, Finding{Code: CodeFormatMismatch, Field: field + ".asset_type", Factor: 0,
			Message: fmt.Sprintf("asset %s is declared %s but its bytes are %s", id, a.Type, res.MIME)})
		return out
	}
	d := a.Declared
	if (d.Width > 0 && res.Width > 0 && d.Width != res.Width) || (d.Height > 0 && res.Height > 0 && d.Height != res.Height) {
		out = append(out, Finding{Code: CodeFormatMismatch, Field: field + ".width", Factor: 0,
			Message: fmt.Sprintf("asset %s is declared %dx%d but measures %dx%d", id, d.Width, d.Height, res.Width, res.Height)})
	}
	if d.DurationMS > 0 && res.DurationMS > 0 && abs(d.DurationMS-res.DurationMS) > durationTolerance {
		out = append(out, Finding{Code: CodeFormatMismatch, Field: field + ".duration_ms", Factor: 0,
			Message: fmt.Sprintf("asset %s is declared %d ms long but plays %d ms", id, d.DurationMS, res.DurationMS)})
	}
	return out
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// Classifiers consults several classifiers in turn; their findings add
// up, and any one failing fails the whole (a person then decides).
type Classifiers []Classifier

// Classify implements Classifier.
func (cs Classifiers) Classify(ctx context.Context, c *Creative, snap Snapshot) ([]Finding, error) {
	var out []Finding
	for _, cl := range cs {
		f, err := cl.Classify(ctx, c, snap)
		if err != nil {
			return nil, err
		}
		out = append(out, f...)
	}
	return out, nil
}
