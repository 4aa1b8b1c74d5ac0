package inspect

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
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

func box(typ string, payload ...[]byte) []byte {
	body := bytes.Join(payload, nil)
	b := make([]byte, 8, 8+len(body))
	binary.BigEndian.PutUint32(b, uint32(8+len(body)))
	copy(b[4:], typ)
	return append(b, body...)
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// mp4Of builds a movie: ftyp, then mdat (filler), then moov at the end as
// many encoders write it, with an audio track before the video track.
func mp4Of(durationMS uint32, w, h uint32, filler int) []byte {
	ftyp := box("ftyp", []byte("isom"), u32(512), []byte("isomiso2mp41"))
	mvhd := box("mvhd", make([]byte, 4), u32(0), u32(0), u32(1000), u32(durationMS), make([]byte, 80))
	tkhd := func(w, h uint32) []byte {
		return box("tkhd", make([]byte, 76), u32(w<<16), u32(h<<16))
	}
	hdlr := func(kind string) []byte { return box("hdlr", make([]byte, 4), u32(0), []byte(kind), make([]byte, 13)) }
	audio := box("trak", tkhd(0, 0), box("mdia", hdlr("soun")))
	video := box("trak", tkhd(w, h), box("mdia", hdlr("vide")))
	return bytes.Join([][]byte{ftyp, box("mdat", make([]byte, filler)), box("moov", mvhd, audio, video)}, nil)
}

// mp3Of builds n MPEG-1 Layer III frames at 128 kbit/s, 44.1 kHz: 417
// bytes and 1152 samples (26.12 ms) each.
func mp3Of(n int) []byte {
	frame := make([]byte, 417)
	copy(frame, []byte{0xFF, 0xFB, 0x90, 0x00})
	return bytes.Repeat(frame, n)
}

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
		{"mp4 with moov last", mp4Of(30000, 1920, 1080, 200_000), "video/mp4", "mp4", KindVideo, 1920, 1080, 30000, 30000},
		{"mp3", mp3Of(100), "audio/mpeg", "mp3", KindAudio, 0, 0, 2600, 2625},
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
	mp4NoMoov := box("ftyp", []byte("isom"), u32(512), []byte("isom"))
	badBox := append(box("ftyp", []byte("isom"), u32(512), []byte("isom")), 0, 0, 0xFF, 0xFF, 'm', 'o', 'o', 'v')
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
	f.Add(mp4Of(1000, 640, 360, 10))
	f.Add(mp3Of(3))
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Never panics, never loops: a result or an error.
		_, _ = Inspect(bytes.NewReader(b), int64(len(b)))
	})
}
