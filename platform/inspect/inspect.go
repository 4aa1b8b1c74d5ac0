// Package inspect looks at an asset's bytes and says what it really is:
// the MIME type sniffed from the content (never the name or a declared
// type), and for images, video and audio the dimensions and duration a
// format is checked against. Ingest uses it on files it fetches (Drive
// jobs) and review on every hosted asset, so both judge an asset the same
// way.
package inspect

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"io"
	"strings"

	// Image decoders register with image.DecodeConfig; only headers are
	// read.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	"github.com/gabriel-vasile/mimetype"
	_ "golang.org/x/image/webp"
)

// Kind is the broad class of an asset, as formats name asset types.
type Kind string

const (
	KindImage Kind = "image"
	KindVideo Kind = "video"
	KindAudio Kind = "audio"
	KindOther Kind = "other"
)

// Result is what inspection found.
type Result struct {
	MIME       string `json:"mime_type"`
	Kind       Kind   `json:"kind"`
	Container  string `json:"container"` // png, jpeg, gif, webp, mp4, mp3, … ("" when unknown)
	Size       int64  `json:"size_bytes"`
	SHA256     string `json:"sha256"`
	Width      int    `json:"width,omitempty"`
	Height     int    `json:"height,omitempty"`
	DurationMS int    `json:"duration_ms,omitempty"`
}

// Problem is an asset whose bytes contradict what they claim to be, or
// that cannot be read as its type; its text says what was wrong.
type Problem struct{ Reason string }

func (p *Problem) Error() string { return p.Reason }

// IsProblem reports whether err says the asset itself is bad (as opposed
// to a failure reading it).
func IsProblem(err error) bool {
	var p *Problem
	return errors.As(err, &p)
}

// Inspect reads the asset held by r (size bytes; the whole asset, which
// may be a file or a blob range reader) and describes it. Only headers are
// decoded, so memory stays small whatever the size; the SHA-256 is of all
// size bytes.
func Inspect(r io.ReaderAt, size int64) (Result, error) {
	res := Result{Size: size, Kind: KindOther}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(r, 0, size)); err != nil {
		return res, fmt.Errorf("reading asset: %w", err)
	}
	res.SHA256 = hex.EncodeToString(h.Sum(nil))
	mt, err := mimetype.DetectReader(io.NewSectionReader(r, 0, size))
	if err != nil {
		return res, fmt.Errorf("sniffing asset: %w", err)
	}
	res.MIME = strings.Split(mt.String(), ";")[0]
	switch top, sub, _ := strings.Cut(res.MIME, "/"); {
	case top == "image" && (sub == "png" || sub == "jpeg" || sub == "gif" || sub == "webp"):
		res.Kind, res.Container = KindImage, sub
		cfg, _, err := image.DecodeConfig(io.NewSectionReader(r, 0, size))
		if err != nil {
			return res, &Problem{Reason: fmt.Sprintf("%s image header cannot be read: %v", sub, err)}
		}
		res.Width, res.Height = cfg.Width, cfg.Height
	case res.MIME == "video/mp4" || res.MIME == "video/quicktime" || res.MIME == "audio/mp4" || res.MIME == "video/x-m4v":
		res.Kind, res.Container = KindVideo, "mp4"
		if top == "audio" {
			res.Kind = KindAudio
		}
		info, err := readMP4(r, size)
		if err != nil {
			return res, err
		}
		res.DurationMS, res.Width, res.Height = info.durationMS, info.width, info.height
		if res.Kind == KindVideo && info.width == 0 {
			// An MP4 without a video track is audio.
			res.Kind = KindAudio
		}
	case res.MIME == "audio/mpeg":
		res.Kind, res.Container = KindAudio, "mp3"
		ms, err := mp3Duration(io.NewSectionReader(r, 0, size))
		if err != nil {
			return res, err
		}
		res.DurationMS = ms
	case top == "image":
		res.Kind, res.Container = KindImage, sub
	case top == "video":
		res.Kind, res.Container = KindVideo, sub
	case top == "audio":
		res.Kind, res.Container = KindAudio, sub
	}
	return res, nil
}
