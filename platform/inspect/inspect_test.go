package inspect

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"example.com/creativesync/platform/inspect/inspecttest"
)

// The fixtures are made here, so what each asset is, is known exactly.

func rgba(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := 0; x < w; x++ {
		img.Set(x, x%h, color.RGBA{R: 200, A: 255})
	}
	return img
}

func pngOf(t *testing.T, w, h int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, rgba(w, h)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegOf(t *testing.T, w, h int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, rgba(w, h), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gifOf(t *testing.T, w, h int) []byte {
	var b bytes.Buffer
	if err := gif.Encode(&b, rgba(w, h), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// webp1x1 is the smallest lossless WebP (1x1), as browsers' feature tests
// use it.
const webp1x1 = "UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA=="

func TestInspect(t *testing.T) {
	webp, err := base64.StdEncoding.DecodeString(webp1x1)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name               string
		data               []byte
		mime, container    string
		kind               Kind
		w, h, durLo, durHi int
	}{
		{"png", pngOf(t, 300, 250), "image/png", "png", KindImage, 300, 250, 0, 0},
		{"jpeg", jpegOf(t, 728, 90), "image/jpeg", "jpeg", KindImage, 728, 90, 0, 0},
		{"gif", gifOf(t, 160, 600), "image/gif", "gif", KindImage, 160, 600, 0, 0},
		{"webp", webp, "image/webp", "webp", KindImage, 1, 1, 0, 0},
		{"mp4 with moov last", inspecttest.MP4(30000, 1920, 1080, 200_000), "video/mp4", "mp4", KindVideo, 1920, 1080, 30000, 30000},
		{"mp3", inspecttest.MP3(100), "audio/mpeg", "mp3", KindAudio, 0, 0, 2600, 2625},
		{"text", []byte("<html><body>hi</body></html>"), "text/html", "", KindOther, 0, 0, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Inspect(bytes.NewReader(tc.data), int64(len(tc.data)))
			if err != nil {
				t.Fatal(err)
			}
			if r.MIME != tc.mime || r.Kind != tc.kind || r.Container != tc.container || r.Width != tc.w || r.Height != tc.h ||
				r.DurationMS < tc.durLo || r.DurationMS > tc.durHi || r.Size != int64(len(tc.data)) || len(r.SHA256) != 64 {
				t.Fatalf("got %+v", r)
			}
		})
	}
}

func TestInspectRefusesBytesThatContradictTheirType(t *testing.T) {
	// A PNG signature followed by garbage: sniffed as PNG, unreadable as one.
	broken := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0xAB}, 64)...)
	full := inspecttest.MP4(1000, 640, 360, 0)
	mp4NoMoov := full[:36]                                                                 // ftyp (28 bytes) and an empty mdat (8)
	badBox := append(append([]byte{}, full[:36]...), 0, 0, 0xFF, 0xFF, 'm', 'o', 'o', 'v') // moov claims 65535 bytes
	for name, data := range map[string][]byte{"broken png": broken, "mp4 without moov": mp4NoMoov, "mp4 box past the end": badBox} {
		t.Run(name, func(t *testing.T) {
			_, err := Inspect(bytes.NewReader(data), int64(len(data)))
			if !IsProblem(err) || strings.TrimSpace(err.Error()) == "" {
				t.Fatalf("want a Problem, got %v", err)
			}
		})
	}
}

func FuzzInspect(f *testing.F) {
	f.Add(inspecttest.MP4(1000, 640, 360, 10))
	f.Add(inspecttest.MP3(3))
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Never panics, never loops: a result or an error.
		_, _ = Inspect(bytes.NewReader(b), int64(len(b)))
	})
}
