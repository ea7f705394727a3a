// SPDX-License-Identifier: Apache-2.0

package streamer_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvsws/kvsws/examples/go/streamer"
	kvsws "github.com/kvsws/kvsws/go"
	"github.com/kvsws/kvsws/go/kvswstest"
)

// running is a streamer.Stream in the background.
type running struct {
	cancel  context.CancelFunc
	done    chan struct{}
	stats   *streamer.Stats
	err     error
	mu      sync.Mutex
	events  []kvsws.Event
	started time.Time
}

func (r *running) eventsSoFar() []kvsws.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]kvsws.Event(nil), r.events...)
}

func (r *running) offers() int {
	n := 0
	for _, ev := range r.eventsSoFar() {
		if ev.Type == kvsws.EventOffer {
			n++
		}
	}
	return n
}

// stop cancels the stream and checks it returns promptly, without an error.
func (r *running) stop(t *testing.T) *streamer.Stats {
	t.Helper()
	r.cancel()
	start := time.Now()
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		t.Fatal("Stream did not return within 5 s of the cancel")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Stream returned %v after the cancel", d)
	}
	if r.err != nil {
		t.Errorf("Stream: %v", r.err)
	}
	return r.stats
}

func start(t *testing.T, channel string, edit ...func(*streamer.Options)) *running {
	t.Helper()
	client, err := kvsws.NewClient(kvsws.Config{RetryBaseDelay: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	r := &running{done: make(chan struct{}), started: time.Now()}
	opts := streamer.Options{
		Session:      kvsws.StorageSessionInput{ChannelName: channel, OfferTimeout: 2 * time.Second, PingInterval: time.Second},
		VideoFile:    videoFile,
		AudioFile:    audioFile,
		LoopbackOnly: true,
		Logf:         func(f string, a ...interface{}) { t.Logf(f, a...) },
		OnEvent: func(ev kvsws.Event) {
			r.mu.Lock()
			r.events = append(r.events, ev)
			r.mu.Unlock()
		},
	}
	for _, f := range edit {
		f(&opts)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		defer close(r.done)
		r.stats, r.err = streamer.Stream(ctx, client, opts)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

func checkCodecs(t *testing.T, s kvswstest.Session) {
	t.Helper()
	if !strings.EqualFold(s.Codecs["video"].MIME, "video/H264") || !strings.EqualFold(s.Codecs["audio"].MIME, "audio/opus") {
		t.Errorf("codecs = %+v, want H264 and opus", s.Codecs)
	}
	if s.Video.Width != 640 || s.Video.Height != 480 || s.Audio.SampleRate != 48000 {
		t.Errorf("video %dx%d, audio %d Hz", s.Video.Width, s.Video.Height, s.Audio.SampleRate)
	}
}

func TestStreamsH264AndOpus(t *testing.T) {
	emu.Must(t).Reset()
	emu.Must(t).AddChannel("pion-media", true)
	r := start(t, "pion-media")
	s := emu.Must(t).WaitForMedia("pion-media", 1, 30, 30*time.Second)
	checkCodecs(t, s)
	if len(s.Errors) > 0 {
		t.Errorf("the storage peer saw errors: %v", s.Errors)
	}
	stats := r.stop(t)
	if stats.Offers != 1 || emu.Must(t).Calls("JoinStorageSession") != 1 {
		t.Errorf("offers %d, joins %d: want one of each", stats.Offers, emu.Must(t).Calls("JoinStorageSession"))
	}
	if stats.VideoFrames < 30 || stats.AudioPackets < 30 {
		t.Errorf("stats = %+v", stats)
	}
	// How long things take (the emulator's timings count from its JoinStorageSession).
	joinAfter := time.Duration(s.JoinedAt*float64(time.Second)) - time.Duration(r.started.UnixNano())
	t.Logf("TIMINGS start->offer (Go) %v; start->join %v; from the join: %v; start->first picture written %v; selected pair %v",
		stats.FirstOfferIn.Round(time.Millisecond), joinAfter.Round(time.Millisecond), s.TimingsMS,
		stats.FirstMediaIn.Round(time.Millisecond), s.SelectedPair)
	// The session reads its events without polling: in the steady state, no CPU, no thread.
}

func TestMediaFlowsAgainAfter(t *testing.T) {
	for _, action := range []string{"go_away", "drop"} {
		t.Run(action, func(t *testing.T) {
			channel := "pion-" + strings.ReplaceAll(action, "_", "-")
			emu.Must(t).Reset()
			emu.Must(t).AddChannel(channel, true)
			r := start(t, channel)
			emu.Must(t).WaitForMedia(channel, 1, 30, 30*time.Second)
			emu.Must(t).Signal(channel, action)
			// A new offer, answered by a new peer connection, and media on the new session.
			s := emu.Must(t).WaitForMedia(channel, 2, 30, 30*time.Second)
			checkCodecs(t, s)
			stats := r.stop(t)
			if stats.Offers != 2 || stats.LastSessionID != 2 {
				t.Errorf("stats = %+v, want 2 offers and media from the second peer", stats)
			}
			reconnecting := false
			for _, ev := range r.eventsSoFar() {
				reconnecting = reconnecting || (ev.Type == kvsws.EventState && ev.State == kvsws.StateReconnecting)
			}
			if !reconnecting {
				t.Error("no reconnecting state event")
			}
		})
	}
}

func TestRejoinsWhenNoOfferComes(t *testing.T) {
	emu.Must(t).Reset()
	emu.Must(t).AddChannel("pion-nooffer", true)
	emu.Must(t).Fault("JoinStorageSession", map[string]interface{}{"no_offer": true, "count": 1})
	r := start(t, "pion-nooffer", func(o *streamer.Options) { o.Session.OfferTimeout = time.Second })
	s := emu.Must(t).WaitForMedia("pion-nooffer", 2, 30, 30*time.Second)
	checkCodecs(t, s)
	stats := r.stop(t)
	if n := emu.Must(t).Calls("JoinStorageSession"); n != 2 || stats.Offers != 1 {
		t.Errorf("joins %d, offers %d: want 2 and 1", n, stats.Offers)
	}
}

func TestCandidatesFirst(t *testing.T) {
	emu.Must(t).Reset()
	emu.Must(t).AddChannel("pion-early", true)
	emu.Must(t).Fault("JoinStorageSession", map[string]interface{}{"candidates_first": true, "count": 1})
	r := start(t, "pion-early")
	checkCodecs(t, emu.Must(t).WaitForMedia("pion-early", 1, 30, 30*time.Second))
	r.stop(t)
	offerSeen, candidates := false, 0
	for _, ev := range r.eventsSoFar() {
		switch ev.Type {
		case kvsws.EventOffer:
			offerSeen = true
		case kvsws.EventICECandidate:
			if !offerSeen {
				t.Fatal("a candidate was delivered before its offer")
			}
			candidates++
		}
	}
	if candidates == 0 {
		t.Error("no remote candidate was delivered")
	}
}

func TestAnswerWithoutH264IsRefused(t *testing.T) {
	emu.Must(t).Reset()
	emu.Must(t).AddChannel("pion-vp8", true)
	r := start(t, "pion-vp8", func(o *streamer.Options) {
		o.EditAnswer = func(sdp string) string { return strings.ReplaceAll(sdp, "H264/90000", "VP8/90000") }
	})
	select {
	case <-r.done:
	case <-time.After(20 * time.Second):
		t.Fatal("Stream did not give up on an answer without H.264")
	}
	var refused *kvsws.ParamValidationError
	if !errors.As(r.err, &refused) || !strings.Contains(r.err.Error(), "H.264") {
		t.Fatalf("Stream = %T %v, want a *ParamValidationError about H.264", r.err, r.err)
	}
	t.Logf("refused: %v", r.err)
	for _, s := range emu.Must(t).Sessions("pion-vp8") {
		if s.Video.Frames > 0 || s.Status == "connected" {
			t.Errorf("the storage peer got media: %+v", s)
		}
	}
}

func TestCancelStopsPromptly(t *testing.T) {
	emu.Must(t).Reset()
	emu.Must(t).AddChannel("pion-cancel", true)
	r := start(t, "pion-cancel")
	emu.Must(t).WaitForMedia("pion-cancel", 1, 10, 30*time.Second)
	r.stop(t) // returns within 2 s, no error
	// The storage peer sees the media stop.
	before := emu.Must(t).Sessions("pion-cancel")[0].Video.Frames
	time.Sleep(500 * time.Millisecond)
	if after := emu.Must(t).Sessions("pion-cancel")[0].Video.Frames; after > before+2 {
		t.Errorf("video frames kept coming after the stream stopped: %d -> %d", before, after)
	}
}

func TestBadFilesFailFirst(t *testing.T) {
	client, err := kvsws.NewClient(kvsws.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	emu.Must(t).Reset()
	_, err = streamer.Stream(context.Background(), client, streamer.Options{
		Session:   kvsws.StorageSessionInput{ChannelName: "demo-channel"},
		VideoFile: audioFile, // not H.264
		AudioFile: audioFile,
	})
	if err == nil || !strings.Contains(err.Error(), "H.264") {
		t.Errorf("Stream with an Ogg file as video: %v", err)
	}
	_, err = streamer.Stream(context.Background(), client, streamer.Options{
		Session:   kvsws.StorageSessionInput{ChannelName: "demo-channel"},
		VideoFile: videoFile,
		AudioFile: "/nonexistent.ogg",
	})
	if err == nil {
		t.Error("Stream with a missing audio file: no error")
	}
	if n := emu.Must(t).Calls("DescribeSignalingChannel"); n != 0 {
		t.Errorf("the emulator was called %d times: the files are checked first", n)
	}
}
