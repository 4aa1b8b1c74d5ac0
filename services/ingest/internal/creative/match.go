package creative

import (
	"fmt"
	"slices"
	"strings"

	"example.com/creativesync/platform/inspect"
)

// MatchAsset finds the first format (in registry order) that a single file
// can be on its own: its only required asset is of the file's kind and the
// file meets that slot's requirements (dimensions, duration, container,
// size). It returns the format and the slot, or a reason no format fits.
func (r *Registry) MatchAsset(res inspect.Result) (Format, FormatAsset, error) {
	kind := string(res.Kind)
	var near []string
	for _, f := range r.ordered {
		var slot *FormatAsset
		required := 0
		for i, a := range f.Assets {
			if a.Required {
				required++
				if a.AssetType == kind {
					slot = &f.Assets[i]
				}
			}
		}
		if required != 1 || slot == nil {
			continue
		}
		if why := unmet(slot.Requirements, res); why != "" {
			near = append(near, f.ID+" ("+why+")")
			continue
		}
		return f, *slot, nil
	}
	if res.Kind == inspect.KindOther {
		return Format{}, FormatAsset{}, fmt.Errorf("%s is not an image, video or audio file", res.MIME)
	}
	var what []string
	if res.Width > 0 {
		what = append(what, fmt.Sprintf("%dx%d", res.Width, res.Height))
	}
	if res.DurationMS > 0 {
		what = append(what, fmt.Sprintf("%.1f s", float64(res.DurationMS)/1000))
	}
	what = append(what, res.Container, kind)
	msg := "no format accepts a " + strings.Join(what, " ")
	if len(near) > 0 {
		if len(near) > 4 {
			near = append(near[:4], "…")
		}
		msg += ": " + strings.Join(near, "; ")
	}
	return Format{}, FormatAsset{}, fmt.Errorf("%s", msg)
}

// unmet says which requirement res fails, or "" when it meets them all.
func unmet(req Requirements, res inspect.Result) string {
	switch {
	case req.MinWidth != nil && res.Width < *req.MinWidth, req.MaxWidth != nil && res.Width > *req.MaxWidth,
		req.MinHeight != nil && res.Height < *req.MinHeight, req.MaxHeight != nil && res.Height > *req.MaxHeight:
		return "size"
	case req.MinDurationMS != nil && res.DurationMS < *req.MinDurationMS, req.MaxDurationMS != nil && res.DurationMS > *req.MaxDurationMS:
		return "duration"
	case len(req.Formats) > 0 && !slices.Contains(req.Formats, res.Container) && !(res.Container == "jpeg" && slices.Contains(req.Formats, "jpg")):
		return "file type " + res.Container
	case len(req.Containers) > 0 && !slices.Contains(req.Containers, res.Container):
		return "container " + res.Container
	case req.MaxFileSizeKB != nil && res.Size > int64(*req.MaxFileSizeKB)*1024:
		return fmt.Sprintf("over %d KB", *req.MaxFileSizeKB)
	}
	return ""
}
