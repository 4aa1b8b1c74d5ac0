package inspect

import (
	"errors"
	"io"
	"time"

	"github.com/tcolgate/mp3"
)

// mp3Duration sums the duration of every MPEG audio frame, which is exact
// for constant and variable bit rates alike (a header-based estimate is
// not, for VBR). Frames are decoded one at a time, so memory stays small.
func mp3Duration(r io.Reader) (int, error) {
	d := mp3.NewDecoder(r)
	var (
		f       mp3.Frame
		skipped int
		total   time.Duration
		frames  int
	)
	for {
		err := d.Decode(&f, &skipped)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			if frames == 0 {
				return 0, &Problem{Reason: "mp3 has no readable audio frame: " + err.Error()}
			}
			break // trailing garbage after real frames (tags, padding)
		}
		frames++
		total += f.Duration()
	}
	if frames == 0 {
		return 0, &Problem{Reason: "mp3 has no audio frames"}
	}
	return int(total / time.Millisecond), nil
}
