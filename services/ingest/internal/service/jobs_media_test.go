package service_test

import (
	"fmt"
	"io"
	"runtime"
	"testing"

	"example.com/creativesync/platform/drivetest"
	"example.com/creativesync/platform/inspect/inspecttest"
	"example.com/creativesync/platform/servicetest"
)

// A large video is streamed from Drive to storage without being held in
// memory, its real duration and size decide its format, and an MP3 of the
// right length becomes an audio creative. Not parallel: it measures the
// process's allocations.
func TestDriveJobStreamsLargeVideoAndReadsAudio(t *testing.T) {
	const filler = 48 << 20
	size := inspecttest.MP4Size(filler)
	s, _ := startJobsSerial(t, func(c *jobsOpts) { c.maxFileBytes = 64 << 20 },
		&drivetest.File{ID: "file_video_00001", Name: "spot.mp4", MIMEType: "video/mp4", Size: size,
			Stream: func(w io.Writer) error { return inspecttest.WriteMP4(w, 30_000, 1920, 1080, filler) }},
		&drivetest.File{ID: "file_audio_00001", Name: "jingle.mp3", MIMEType: "audio/mpeg", Content: inspecttest.MP3(1149)},
		&drivetest.File{ID: "file_short_vid01", Name: "short.mp4", MIMEType: "video/mp4", Content: inspecttest.MP4(9_000, 1920, 1080, 1000)},
	)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, m, raw := s.startJob(map[string]any{"ad_account_id": "acct_1",
		"file_links": []string{"file_video_00001", "file_audio_00001", "file_short_vid01"}})
	id, _ := m["job_id"].(string)
	if id == "" {
		t.Fatalf("create: %s", raw)
	}
	var v jobView
	servicetest.Eventually(t, within, func() error {
		if v = s.job(id); v.Status != "completed" {
			return fmt.Errorf("job %s %+v", v.Status, v.Counts)
		}
		return nil
	})
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > uint64(size)/2 {
		t.Errorf("processing a %d-byte file allocated %d bytes: it is being held in memory", size, grew)
	}
	got := map[string]string{}
	for _, f := range v.Files {
		got[f.FileID] = f.Status + " " + f.FormatID + f.Reason
	}
	want := map[string]string{"file_video_00001": "done video_30s", "file_audio_00001": "done audio_30s",
		"file_short_vid01": "failed no format accepts a 1920x1080 9.0 s mp4 video: video_15s (duration); video_30s (duration)"}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
}
