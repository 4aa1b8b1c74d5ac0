// Package inspecttest makes media files whose properties are known
// exactly, for tests of code that inspects them: MP4 movies (any size,
// streamed without holding them in memory) and MP3 streams.
package inspecttest

import (
	"bytes"
	"encoding/binary"
	"io"
)

func box(typ string, payload ...[]byte) []byte {
	body := bytes.Join(payload, nil)
	b := make([]byte, 8, 8+len(body))
	binary.BigEndian.PutUint32(b, uint32(8+len(body)))
	copy(b[4:], typ)
	return append(b, body...)
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// moov is a movie header of durationMS with an audio track and then a
// w×h video track.
func moov(durationMS, w, h uint32) []byte {
	mvhd := box("mvhd", make([]byte, 4), u32(0), u32(0), u32(1000), u32(durationMS), make([]byte, 80))
	tkhd := func(w, h uint32) []byte { return box("tkhd", make([]byte, 76), u32(w<<16), u32(h<<16)) }
	hdlr := func(kind string) []byte { return box("hdlr", make([]byte, 4), u32(0), []byte(kind), make([]byte, 13)) }
	audio := box("trak", tkhd(0, 0), box("mdia", hdlr("soun")))
	video := box("trak", tkhd(w, h), box("mdia", hdlr("vide")))
	return box("moov", mvhd, audio, video)
}

var ftyp = box("ftyp", []byte("isom"), u32(512), []byte("isomiso2mp41"))

// MP4 returns a movie of durationMS at w×h with filler bytes of media data
// before the moov box, as many encoders lay files out.
func MP4(durationMS, w, h uint32, filler int) []byte {
	return bytes.Join([][]byte{ftyp, box("mdat", make([]byte, filler)), moov(durationMS, w, h)}, nil)
}

// MP4Size is the size of WriteMP4's output for a filler size.
func MP4Size(filler int64) int64 {
	return int64(len(ftyp)) + 8 + filler + int64(len(moov(0, 0, 0)))
}

// WriteMP4 streams the same movie as MP4 to w, generating the filler in
// small chunks.
func WriteMP4(w io.Writer, durationMS, wd, ht uint32, filler int64) error {
	if _, err := w.Write(ftyp); err != nil {
		return err
	}
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(8+filler))
	copy(hdr[4:], "mdat")
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	chunk := make([]byte, 32<<10)
	for left := filler; left > 0; {
		n := min(left, int64(len(chunk)))
		if _, err := w.Write(chunk[:n]); err != nil {
			return err
		}
		left -= n
	}
	_, err := w.Write(moov(durationMS, wd, ht))
	return err
}

// MP3 returns n MPEG-1 Layer III frames at 128 kbit/s, 44.1 kHz: 417 bytes
// and 1152 samples (about 26.12 ms) each.
func MP3(n int) []byte {
	frame := make([]byte, 417)
	copy(frame, []byte{0xFF, 0xFB, 0x90, 0x00})
	return bytes.Repeat(frame, n)
}
