package inspect

import (
	"encoding/binary"
	"fmt"
	"io"
)

// No maintained MP4 (ISO BMFF) parser is available to this build, and the
// little we need is fixed by ISO/IEC 14496-12: the movie header (mvhd) for
// duration and the video track's header (tkhd) for its display size. Boxes
// are walked by offset through an io.ReaderAt, so the moov box may sit at
// the end of a large file without reading what lies between.

type mp4Info struct {
	durationMS    int
	width, height int
}

// maxBoxes bounds the walk so a crafted file cannot loop us for long.
const maxBoxes = 10000

type boxWalker struct {
	r     io.ReaderAt
	boxes int
}

// header reads the box header at off: its type, where its payload starts
// and where the box ends.
func (w *boxWalker) header(off, end int64) (typ string, payload, next int64, err error) {
	w.boxes++
	if w.boxes > maxBoxes {
		return "", 0, 0, &Problem{Reason: "mp4 has too many boxes"}
	}
	var b [16]byte
	if _, err := w.r.ReadAt(b[:8], off); err != nil {
		return "", 0, 0, &Problem{Reason: fmt.Sprintf("mp4 box header at %d cannot be read", off)}
	}
	size := int64(binary.BigEndian.Uint32(b[:4]))
	typ = string(b[4:8])
	payload = off + 8
	switch size {
	case 0: // to the end of the enclosing box
		size = end - off
	case 1: // 64-bit size follows
		if _, err := w.r.ReadAt(b[8:16], off+8); err != nil {
			return "", 0, 0, &Problem{Reason: "mp4 large box size cannot be read"}
		}
		size = int64(binary.BigEndian.Uint64(b[8:16]))
		payload = off + 16
	}
	if size < payload-off || off+size > end {
		return "", 0, 0, &Problem{Reason: fmt.Sprintf("mp4 box %q at %d has a size that does not fit", typ, off)}
	}
	return typ, payload, off + size, nil
}

// find returns the payload range of the first child of type typ within
// [off, end).
func (w *boxWalker) find(off, end int64, typ string) (int64, int64, bool, error) {
	for off+8 <= end {
		t, payload, next, err := w.header(off, end)
		if err != nil {
			return 0, 0, false, err
		}
		if t == typ {
			return payload, next, true, nil
		}
		off = next
	}
	return 0, 0, false, nil
}

func readMP4(r io.ReaderAt, size int64) (mp4Info, error) {
	w := &boxWalker{r: r}
	var info mp4Info
	moov, moovEnd, ok, err := w.find(0, size, "moov")
	if err != nil {
		return info, err
	}
	if !ok {
		return info, &Problem{Reason: "mp4 has no moov box (not a complete movie)"}
	}
	mvhd, mvhdEnd, ok, err := w.find(moov, moovEnd, "mvhd")
	if err != nil {
		return info, err
	}
	if !ok {
		return info, &Problem{Reason: "mp4 has no movie header (mvhd)"}
	}
	if info.durationMS, err = movieDuration(r, mvhd, mvhdEnd); err != nil {
		return info, err
	}
	// The display size is the first video track's (handler "vide").
	for off := moov; off+8 <= moovEnd; {
		t, payload, next, err := w.header(off, moovEnd)
		if err != nil {
			return info, err
		}
		off = next
		if t != "trak" {
			continue
		}
		isVideo, err := w.trackIsVideo(payload, next)
		if err != nil {
			return info, err
		}
		if !isVideo {
			continue
		}
		tkhd, tkhdEnd, ok, err := w.find(payload, next, "tkhd")
		if err != nil || !ok {
			return info, err
		}
		info.width, info.height, err = trackSize(r, tkhd, tkhdEnd)
		return info, err
	}
	return info, nil
}

func (w *boxWalker) trackIsVideo(trak, end int64) (bool, error) {
	mdia, mdiaEnd, ok, err := w.find(trak, end, "mdia")
	if err != nil || !ok {
		return false, err
	}
	hdlr, hdlrEnd, ok, err := w.find(mdia, mdiaEnd, "hdlr")
	if err != nil || !ok {
		return false, err
	}
	// version+flags (4), pre_defined (4), handler_type (4)
	if hdlrEnd-hdlr < 12 {
		return false, &Problem{Reason: "mp4 handler box is truncated"}
	}
	var h [4]byte
	if _, err := w.r.ReadAt(h[:], hdlr+8); err != nil {
		return false, &Problem{Reason: "mp4 handler box cannot be read"}
	}
	return string(h[:]) == "vide", nil
}

// movieDuration reads mvhd: version 0 has 32-bit times, version 1 64-bit.
func movieDuration(r io.ReaderAt, off, end int64) (int, error) {
	var b [32]byte
	n := end - off
	if n > int64(len(b)) {
		n = int64(len(b))
	}
	if n < 20 {
		return 0, &Problem{Reason: "mp4 movie header is truncated"}
	}
	if _, err := r.ReadAt(b[:n], off); err != nil {
		return 0, &Problem{Reason: "mp4 movie header cannot be read"}
	}
	var timescale, duration uint64
	if b[0] == 1 {
		if n < 32 {
			return 0, &Problem{Reason: "mp4 movie header (v1) is truncated"}
		}
		timescale = uint64(binary.BigEndian.Uint32(b[20:24]))
		duration = binary.BigEndian.Uint64(b[24:32])
	} else {
		timescale = uint64(binary.BigEndian.Uint32(b[12:16]))
		duration = uint64(binary.BigEndian.Uint32(b[16:20]))
	}
	if timescale == 0 {
		return 0, &Problem{Reason: "mp4 movie header has a zero timescale"}
	}
	return int(duration * 1000 / timescale), nil
}

// trackSize reads tkhd's width and height (16.16 fixed point, at the end
// of the box for both versions).
func trackSize(r io.ReaderAt, off, end int64) (int, int, error) {
	if end-off < 84 {
		return 0, 0, &Problem{Reason: "mp4 track header is truncated"}
	}
	var b [8]byte
	if _, err := r.ReadAt(b[:], end-8); err != nil {
		return 0, 0, &Problem{Reason: "mp4 track header cannot be read"}
	}
	return int(binary.BigEndian.Uint32(b[:4]) >> 16), int(binary.BigEndian.Uint32(b[4:]) >> 16), nil
}
