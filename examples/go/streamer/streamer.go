// SPDX-License-Identifier: Apache-2.0

// Package streamer streams an H.264 file and an Ogg/Opus file into a Kinesis Video Streams
// WebRTC storage session: kvsws does the signaling (the storage session's offer, ICE servers,
// reconnects) and pion does the WebRTC.
package streamer

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"sync"
	"sync/atomic"
	"time"

	kvsws "github.com/kvsws/kvsws/go"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// Options says what to stream where.
type Options struct {
	// Session is the storage session: the channel (ChannelARN or ChannelName) and its timings.
	Session kvsws.StorageSessionInput
	// VideoFile is an H.264 Annex-B file (constrained baseline, no B-frames, keyframes often);
	// AudioFile an Ogg/Opus file with one packet per page. Both play in a loop.
	VideoFile string
	AudioFile string
	// FrameRate of the video file (0: 30).
	FrameRate float64
	// LoopbackOnly gathers ICE host candidates on the loopback interface only: what the local
	// emulator, which serves loopback only, needs.
	LoopbackOnly bool
	// Logf logs what happens (nil: log.Printf).
	Logf func(format string, args ...interface{})
	// OnEvent, when set, sees every session event before it is handled.
	OnEvent func(kvsws.Event)
	// EditAnswer, when set, changes the SDP answer before it is sent (tests use it to send
	// answers the storage service cannot take).
	EditAnswer func(sdp string) string
}

// Stats counts what Stream did.
type Stats struct {
	Offers        int   // offers answered
	VideoFrames   int64 // H.264 pictures written to the tracks
	AudioPackets  int64 // Opus packets written
	FirstOfferIn  time.Duration
	FirstMediaIn  time.Duration // from the start to the first picture written to a connected peer
	LastSessionID int           // which peer connection wrote last (1 for the first offer's)
}

// Stream runs the storage session until ctx is done (then it returns nil) or the session ends
// with an error: on each offer it makes a pion PeerConnection with the session's ICE servers,
// adds an H.264 and an Opus track, answers, trickles its candidates and applies the service's,
// and streams the files once connected. A new offer (after GO_AWAY, a dropped connection or
// the session's time limit) replaces the peer connection.
func Stream(ctx context.Context, client *kvsws.Client, opts Options) (*Stats, error) {
	if opts.Logf == nil {
		opts.Logf = log.Printf
	}
	if opts.FrameRate <= 0 {
		opts.FrameRate = 30
	}
	if err := checkFiles(opts); err != nil {
		return nil, err
	}
	st := &streamer{opts: opts, start: time.Now()}
	st.api = webrtc.NewAPI(webrtc.WithSettingEngine(settings(opts)))

	session, err := client.NewStorageSession(ctx, &opts.Session)
	if err != nil {
		return nil, err
	}
	defer session.Close()
	st.session = session
	defer st.closePeer()

	var iceServers []webrtc.ICEServer
	for ev := range session.Events() {
		if opts.OnEvent != nil {
			opts.OnEvent(ev)
		}
		switch ev.Type {
		case kvsws.EventState:
			if ev.Err != nil {
				opts.Logf("session: %s (%v)", ev.State, ev.Err)
			} else {
				opts.Logf("session: %s", ev.State)
			}
		case kvsws.EventICEServers:
			iceServers = iceServers[:0]
			for _, s := range ev.ICEServers {
				iceServers = append(iceServers, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
			}
		case kvsws.EventOffer:
			st.closePeer()
			if st.stats.Offers == 0 {
				st.stats.FirstOfferIn = time.Since(st.start)
			}
			opts.Logf("offer %d after %v: answering", st.stats.Offers+1, time.Since(st.start).Round(time.Millisecond))
			if err := st.answer(ev.SDP, iceServers); err != nil {
				var refused *kvsws.ParamValidationError
				if errors.As(err, &refused) {
					return st.result(), err // an answer the service cannot take: never works
				}
				opts.Logf("answering the offer failed: %v", err) // wait for the next offer
			}
		case kvsws.EventICECandidate:
			if p := st.currentPeer(); p != nil {
				if err := p.pc.AddICECandidate(webrtc.ICECandidateInit(ev.Candidate)); err != nil {
					opts.Logf("remote candidate %q: %v", ev.Candidate.Candidate, err)
				}
			}
		case kvsws.EventStatus:
			opts.Logf("the service refused a message: %v", ev.Err)
		case kvsws.EventClosed:
			if ev.Err == nil || errors.Is(ev.Err, context.Canceled) || errors.Is(ev.Err, context.DeadlineExceeded) {
				opts.Logf("session closed")
				return st.result(), nil
			}
			return st.result(), fmt.Errorf("the storage session ended: %w", ev.Err)
		}
	}
	return st.result(), nil
}

// checkFiles reads the first picture and the first Opus packet, before anything starts.
func checkFiles(opts Options) error {
	v, err := openH264(opts.VideoFile)
	if err != nil {
		return err
	}
	defer v.Close()
	if _, err := v.Next(); err != nil {
		return err
	}
	a, err := openOggOpus(opts.AudioFile)
	if err != nil {
		return err
	}
	defer a.Close()
	_, _, err = a.Next()
	return err
}

// settings: pion's defaults, or loopback candidates only for the local emulator.
func settings(opts Options) webrtc.SettingEngine {
	var se webrtc.SettingEngine
	if opts.LoopbackOnly {
		se.SetIncludeLoopbackCandidate(true)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	return se
}

type streamer struct {
	opts    Options
	api     *webrtc.API
	session *kvsws.StorageSession
	start   time.Time

	mu    sync.Mutex
	peer  *peer
	stats Stats
	video atomic.Int64
	audio atomic.Int64
	first atomic.Int64 // ns from start to the first picture, 0 before
	lastN atomic.Int64
}

func (st *streamer) result() *Stats {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.stats
	s.VideoFrames, s.AudioPackets = st.video.Load(), st.audio.Load()
	s.FirstMediaIn = time.Duration(st.first.Load())
	s.LastSessionID = int(st.lastN.Load())
	return &s
}

func (st *streamer) currentPeer() *peer {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.peer
}

func (st *streamer) closePeer() {
	st.mu.Lock()
	p := st.peer
	st.peer = nil
	st.mu.Unlock()
	if p != nil {
		p.close()
	}
}

// peer is one PeerConnection, for one offer.
type peer struct {
	n      int
	pc     *webrtc.PeerConnection
	ctx    context.Context // done when the peer is closed
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	answered bool
	queued   []webrtc.ICECandidateInit // local candidates gathered before the answer went out
}

func (p *peer) close() {
	p.mu.Lock()
	p.closed = true // no goroutine starts from here on
	p.mu.Unlock()
	p.cancel()
	p.pc.Close()
	p.wg.Wait()
}

// goStream starts the media goroutines, unless the peer is closed.
func (p *peer) goStream(fns ...func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	for _, fn := range fns {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			fn()
		}()
	}
}

// answer makes the peer connection for an offer and sends the answer.
func (st *streamer) answer(offer string, iceServers []webrtc.ICEServer) error {
	pc, err := st.api.NewPeerConnection(webrtc.Configuration{ICEServers: iceServers})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	st.mu.Lock()
	st.stats.Offers++
	p := &peer{n: st.stats.Offers, pc: pc, ctx: ctx, cancel: cancel}
	st.peer = p
	st.mu.Unlock()

	video, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264}, "video", "kvsws")
	if err != nil {
		return err
	}
	audio, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "kvsws")
	if err != nil {
		return err
	}
	for _, track := range []webrtc.TrackLocal{video, audio} {
		sender, err := pc.AddTrack(track)
		if err != nil {
			return err
		}
		p.wg.Add(1)
		go func() { // read RTCP so the interceptors (NACK, reports) work
			defer p.wg.Done()
			buf := make([]byte, 1500)
			for {
				if _, _, err := sender.Read(buf); err != nil {
					return
				}
			}
		}()
	}

	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		st.opts.Logf("peer %d: %s", p.n, s)
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() {
				p.goStream(func() { st.streamVideo(p, video) }, func() { st.streamAudio(p, audio) })
			})
		}
	})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return // gathering is complete
		}
		init := c.ToJSON()
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.answered {
			p.queued = append(p.queued, init)
			return
		}
		st.sendCandidate(init)
	})

	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fmt.Errorf("the offer: %w", err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("the answer: %w", err)
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		return err
	}
	sdp := pc.LocalDescription().SDP
	if st.opts.EditAnswer != nil {
		sdp = st.opts.EditAnswer(sdp)
	}
	if err := st.session.SendAnswer(sdp); err != nil {
		return err
	}
	p.mu.Lock()
	p.answered = true
	queued := p.queued
	p.queued = nil
	for _, c := range queued {
		st.sendCandidate(c)
	}
	p.mu.Unlock()
	return nil
}

func (st *streamer) sendCandidate(c webrtc.ICECandidateInit) {
	if err := st.session.SendCandidate(kvsws.ICECandidateInit(c)); err != nil {
		st.opts.Logf("sending a candidate: %v", err)
	}
}

// pace waits until next, or returns false when the peer is closed.
func pace(ctx context.Context, next time.Time) bool {
	t := time.NewTimer(time.Until(next))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (st *streamer) streamVideo(p *peer, track *webrtc.TrackLocalStaticSample) {
	f, err := openH264(st.opts.VideoFile)
	if err != nil {
		st.opts.Logf("video: %v", err)
		return
	}
	defer f.Close()
	frame := time.Duration(float64(time.Second) / st.opts.FrameRate)
	next := time.Now()
	for pace(p.ctx, next) {
		au, err := f.Next()
		if err != nil {
			st.opts.Logf("video: %v", err)
			return
		}
		if err := track.WriteSample(media.Sample{Data: au, Duration: frame}); err != nil {
			if p.ctx.Err() == nil {
				st.opts.Logf("video: %v", err)
			}
			return
		}
		st.video.Add(1)
		st.first.CompareAndSwap(0, int64(time.Since(st.start)))
		st.lastN.Store(int64(p.n))
		next = next.Add(frame)
	}
}

func (st *streamer) streamAudio(p *peer, track *webrtc.TrackLocalStaticSample) {
	f, err := openOggOpus(st.opts.AudioFile)
	if err != nil {
		st.opts.Logf("audio: %v", err)
		return
	}
	defer f.Close()
	next := time.Now()
	for pace(p.ctx, next) {
		packet, d, err := f.Next()
		if err != nil {
			st.opts.Logf("audio: %v", err)
			return
		}
		if err := track.WriteSample(media.Sample{Data: packet, Duration: d}); err != nil {
			if p.ctx.Err() == nil {
				st.opts.Logf("audio: %v", err)
			}
			return
		}
		st.audio.Add(1)
		next = next.Add(d)
	}
}
