// SPDX-License-Identifier: Apache-2.0

package kvsws_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	kvsws "github.com/kvsws/kvsws/go"
)

// nextEvent returns the next event, failing the test after timeout.
func nextEvent(t testing.TB, s *kvsws.StorageSession, timeout time.Duration) kvsws.Event {
	t.Helper()
	select {
	case ev, ok := <-s.Events():
		if !ok {
			t.Fatalf("Events was closed")
		}
		return ev
	case <-time.After(timeout):
		t.Fatalf("no event within %v", timeout)
	}
	return kvsws.Event{}
}

// until returns the first event of the type, with the ones before it.
func until(t testing.TB, s *kvsws.StorageSession, typ kvsws.EventType, timeout time.Duration) (kvsws.Event, []kvsws.Event) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var seen []kvsws.Event
	for {
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("no %v event within %v; saw %v", typ, timeout, types(seen))
		}
		ev := nextEvent(t, s, left)
		if ev.Type == typ {
			return ev, seen
		}
		if ev.Type == kvsws.EventClosed {
			t.Fatalf("closed (%v) while waiting for %v; saw %v", ev.Err, typ, types(seen))
		}
		seen = append(seen, ev)
	}
}

func types(evs []kvsws.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Type.String()
		if ev.Type == kvsws.EventState {
			out[i] += ":" + ev.State.String()
		}
	}
	return out
}

// newSession starts a session on a fresh channel with storage; closed when the test ends.
func newSession(t *testing.T, c *kvsws.Client, ctx context.Context, channel string, edit ...func(*kvsws.StorageSessionInput)) *kvsws.StorageSession {
	t.Helper()
	emu.Must(t).AddChannel(channel, true)
	in := &kvsws.StorageSessionInput{ChannelName: channel, OfferTimeout: 3 * time.Second, PingInterval: time.Second}
	for _, f := range edit {
		f(in)
	}
	s, err := c.NewStorageSession(ctx, in)
	if err != nil {
		t.Fatalf("NewStorageSession: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStorageSessionValidation(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		in    *kvsws.StorageSessionInput
		param bool   // *ParamValidationError, else *ConfigError
		field string // ConfigError.Field
		words string
	}{
		{"no channel", &kvsws.StorageSessionInput{}, true, "", "exactly one of channel ARN"},
		{"nil input", nil, true, "", "exactly one of channel ARN"},
		{"both", &kvsws.StorageSessionInput{ChannelARN: demoARN, ChannelName: "demo-channel"}, true, "", "exactly one"},
		{"bad ARN", &kvsws.StorageSessionInput{ChannelARN: "not-an-arn"}, true, "", "channelArn"},
		{"bad name", &kvsws.StorageSessionInput{ChannelName: strings.Repeat("x", 300)}, true, "", "ChannelName"},
		{"viewer without id", &kvsws.StorageSessionInput{ChannelARN: demoARN, Role: kvsws.ChannelRoleViewer}, true, "", "clientId"},
		{"master with id", &kvsws.StorageSessionInput{ChannelARN: demoARN, ClientID: "me"}, true, "", "VIEWER role only"},
		{"bad role", &kvsws.StorageSessionInput{ChannelARN: demoARN, Role: "BOSS"}, true, "", "StorageSessionInput.Role"},
		{"short offer timeout", &kvsws.StorageSessionInput{ChannelARN: demoARN, OfferTimeout: 50 * time.Millisecond}, false, "StorageSessionInput.OfferTimeout", "between 100 and 600000"},
		{"negative ping", &kvsws.StorageSessionInput{ChannelARN: demoARN, PingInterval: -time.Second}, false, "StorageSessionInput.PingInterval", "must not be negative"},
		{"too many joins", &kvsws.StorageSessionInput{ChannelARN: demoARN, MaxJoinAttempts: 5000}, false, "StorageSessionInput.MaxJoinAttempts", "between 1 and 1000"},
		{"long max duration", &kvsws.StorageSessionInput{ChannelARN: demoARN, MaxDuration: 2 * time.Hour}, false, "StorageSessionInput.MaxDuration", "3600000"},
		{"negative flood limit", &kvsws.StorageSessionInput{ChannelARN: demoARN, FloodLimit: -2}, false, "StorageSessionInput.FloodLimit", "must be -1 (no limit)"},
		{"huge flood limit", &kvsws.StorageSessionInput{ChannelARN: demoARN, FloodLimit: 2000000}, false, "StorageSessionInput.FloodLimit", "between 0 and 1000000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := c.NewStorageSession(ctx, tc.in)
			if s != nil || err == nil {
				t.Fatalf("NewStorageSession = %v, %v; want an error", s, err)
			}
			if tc.param {
				var pv *kvsws.ParamValidationError
				if !errors.As(err, &pv) || kvsws.StatusOf(err) != kvsws.StatusParamValidation {
					t.Fatalf("err = %T %v, want *ParamValidationError", err, err)
				}
			} else {
				var ce *kvsws.ConfigError
				if !errors.As(err, &ce) || ce.Field != tc.field {
					t.Fatalf("err = %T %#v, want *ConfigError for %s", err, err, tc.field)
				}
				if !strings.HasPrefix(err.Error(), "kvsws: invalid "+tc.field+": ") {
					t.Errorf("Error() = %q", err.Error())
				}
			}
			if !strings.Contains(err.Error(), tc.words) {
				t.Errorf("Error() = %q, want it to mention %q", err.Error(), tc.words)
			}
		})
	}
	if n := emu.Must(t).Calls(""); n != 0 {
		t.Errorf("the emulator saw %d requests: validation must come before any I/O", n)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.NewStorageSession(cancelled, &kvsws.StorageSessionInput{ChannelARN: demoARN}); !errors.Is(err, context.Canceled) {
		t.Errorf("with a cancelled context: %v", err)
	}
	c.Close()
	if _, err := c.NewStorageSession(ctx, &kvsws.StorageSessionInput{ChannelARN: demoARN}); !errors.Is(err, kvsws.ErrClientClosed) {
		t.Errorf("on a closed client: %v", err)
	}
}

func TestStorageSessionEvents(t *testing.T) {
	c := newClient(t)
	s := newSession(t, c, context.Background(), "go-events")
	offer, before := until(t, s, kvsws.EventOffer, 15*time.Second)
	if got := strings.Join(types(before), " "); got != "state:connecting ice_servers state:joining" {
		t.Errorf("events before the offer: %s", got)
	}
	ice := before[1].ICEServers
	if len(ice) != 1 || len(ice[0].URLs) != 1 || ice[0].URLs[0] != turnURI || ice[0].Username == "" || ice[0].Credential == "" {
		t.Errorf("ICE servers = %+v", ice)
	}
	// The TURN credentials' lifetime, as GetIceServerConfig's Ttl (the emulator's is minutes).
	if ttl := before[1].ICEServersTTL; ttl < time.Minute || ttl > 24*time.Hour {
		t.Errorf("ICEServersTTL = %v", ttl)
	}
	if !strings.Contains(offer.SDP, "m=video") || !strings.Contains(offer.SDP, "H264/90000") || offer.SenderID != "" {
		t.Errorf("offer = %.200q from %q", offer.SDP, offer.SenderID)
	}
	if ev := nextEvent(t, s, 5*time.Second); ev.Type != kvsws.EventState || ev.State != kvsws.StateConnected || ev.Err != nil {
		t.Errorf("after the offer: %+v", ev)
	}
	if s.State() != kvsws.StateConnected {
		t.Errorf("State() = %v", s.State())
	}
	cand, _ := until(t, s, kvsws.EventICECandidate, 5*time.Second)
	if !strings.HasPrefix(cand.Candidate.Candidate, "candidate:") || cand.Candidate.SDPMid == nil ||
		cand.Candidate.SDPMLineIndex == nil || cand.Candidate.UsernameFragment != nil {
		t.Errorf("candidate = %+v", cand.Candidate)
	}

	// An answer without H.264 is refused here, with a message that says so.
	err := s.SendAnswer(strings.ReplaceAll(offer.SDP, "H264/90000", "VP8/90000"))
	var pv *kvsws.ParamValidationError
	if !errors.As(err, &pv) || !strings.Contains(err.Error(), "H.264") || !strings.Contains(err.Error(), "Opus") {
		t.Errorf("SendAnswer(VP8) = %T %v", err, err)
	}
	if err := s.SendAnswer(""); !errors.As(err, &pv) {
		t.Errorf("SendAnswer(\"\") = %v", err)
	}

	start := time.Now()
	s.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	for range s.Events() { // closed: drains what was buffered
	}
	s.Close() // idempotent
	if err := s.SendAnswer(offer.SDP); !errors.Is(err, kvsws.ErrSessionClosed) {
		t.Errorf("SendAnswer after Close = %v", err)
	}
	if err := s.SendCandidate(kvsws.ICECandidateInit{Candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host"}); !errors.Is(err, kvsws.ErrSessionClosed) {
		t.Errorf("SendCandidate after Close = %v", err)
	}
	if s.State() != kvsws.StateClosed {
		t.Errorf("State() after Close = %v", s.State())
	}
}

func TestStorageSessionStatusEvent(t *testing.T) {
	c := newClient(t)
	s := newSession(t, c, context.Background(), "go-status", func(in *kvsws.StorageSessionInput) { in.DisableAnswerCheck = true })
	offer, _ := until(t, s, kvsws.EventOffer, 15*time.Second)
	until(t, s, kvsws.EventState, 5*time.Second) // connected
	// A STATUS_RESPONSE for a message this session never sent: dropped, never an event.
	foreign := `{"messageType":"STATUS_RESPONSE","statusResponse":{"correlationId":"kvsws-42",` +
		`"errorType":"InvalidArgumentException","statusCode":"400","description":"not ours"}}`
	if err := emu.Admin("POST", "signaling", map[string]any{"channel": "go-status", "action": "send", "text": foreign}, nil); err != nil {
		t.Fatal(err)
	}
	// With the check off, the service is the one that refuses it: a STATUS_RESPONSE.
	if err := s.SendAnswer(strings.ReplaceAll(offer.SDP, "H264/90000", "VP8/90000")); err != nil {
		t.Fatalf("SendAnswer: %v", err)
	}
	status, _ := until(t, s, kvsws.EventStatus, 10*time.Second)
	var ia *kvsws.InvalidArgumentException
	if !errors.As(status.Err, &ia) || ia.ErrorCode() != "InvalidArgumentException" || !strings.Contains(ia.ErrorMessage(), "H.264") {
		t.Fatalf("status event error = %T %v", status.Err, status.Err)
	}
	if ia.CorrelationID() != "kvsws-1" || ia.SentMessage() != "SDP_ANSWER" || ia.RequestID() != "" || ia.HTTPStatusCode() != 400 ||
		!strings.HasPrefix(ia.Error(), "signaling error when sending the SDP_ANSWER, StatusCode: 400, CorrelationID: kvsws-1, ") {
		t.Errorf("status event error = %q (correlation id %q, sent %q)", ia.Error(), ia.CorrelationID(), ia.SentMessage())
	}
	select {
	case ev := <-s.Events():
		if ev.Type == kvsws.EventStatus {
			t.Errorf("a second status event: %v", ev.Err)
		}
	case <-time.After(500 * time.Millisecond):
	}
}

func TestStorageSessionEarlyCandidatesFollowTheOffer(t *testing.T) {
	c := newClient(t)
	emu.Must(t).Fault("JoinStorageSession", map[string]interface{}{"candidates_first": true, "count": 1})
	s := newSession(t, c, context.Background(), "go-early")
	_, before := until(t, s, kvsws.EventOffer, 15*time.Second)
	for _, ev := range before {
		if ev.Type == kvsws.EventICECandidate {
			t.Fatalf("a candidate came before its offer: %v", types(before))
		}
	}
	if ev := nextEvent(t, s, 5*time.Second); ev.Type != kvsws.EventICECandidate {
		t.Errorf("right after the offer: %v, want the candidates that came first", types([]kvsws.Event{ev}))
	}
}

func TestStorageSessionRejoinsWithoutOffer(t *testing.T) {
	c := newClient(t)
	emu.Must(t).Fault("JoinStorageSession", map[string]interface{}{"no_offer": true, "count": 1})
	s := newSession(t, c, context.Background(), "go-nooffer", func(in *kvsws.StorageSessionInput) { in.OfferTimeout = 500 * time.Millisecond })
	until(t, s, kvsws.EventOffer, 15*time.Second)
	if n := emu.Must(t).Calls("JoinStorageSession"); n != 2 {
		t.Errorf("JoinStorageSession calls = %d, want 2", n)
	}
}

func TestStorageSessionGivesUpWithoutOffer(t *testing.T) {
	c := newClient(t)
	emu.Must(t).Fault("JoinStorageSession", map[string]interface{}{"no_offer": true, "count": 2})
	s := newSession(t, c, context.Background(), "go-giveup", func(in *kvsws.StorageSessionInput) {
		in.OfferTimeout = 200 * time.Millisecond
		in.MaxJoinAttempts = 2
	})
	closed, _ := until(t, s, kvsws.EventClosed, 15*time.Second)
	var api kvsws.APIError
	if !errors.As(closed.Err, &api) || api.ErrorCode() != "NoOfferReceived" || kvsws.StatusOf(closed.Err) != kvsws.StatusServiceOther {
		t.Errorf("closed with %T %v", closed.Err, closed.Err)
	}
	if _, ok := <-s.Events(); ok {
		t.Error("an event after EventClosed")
	}
	<-s.Done()
}

func TestStorageSessionStorageDisabled(t *testing.T) {
	c := newClient(t)
	emu.Must(t).AddChannel("go-nostorage", false)
	s, err := c.NewStorageSession(context.Background(), &kvsws.StorageSessionInput{ChannelName: "go-nostorage"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	closed, _ := until(t, s, kvsws.EventClosed, 15*time.Second)
	var sne *kvsws.StorageNotEnabledError
	var pv *kvsws.ParamValidationError
	var opErr *kvsws.OperationError
	if !errors.As(closed.Err, &sne) || !errors.Is(closed.Err, kvsws.ErrStorageNotEnabled) || errors.As(closed.Err, &pv) ||
		!strings.Contains(closed.Err.Error(), "no media storage") || closed.State != kvsws.StateClosed {
		t.Errorf("closed = %+v", closed)
	}
	if kvsws.StatusOf(closed.Err) != kvsws.StatusStorageNotEnabled || sne.Retryable() ||
		!errors.As(closed.Err, &opErr) || opErr.OperationName != "DescribeMediaStorageConfiguration" {
		t.Errorf("closed with %T %v (status %v)", closed.Err, closed.Err, kvsws.StatusOf(closed.Err))
	}
	if n := emu.Must(t).Calls("JoinStorageSession"); n != 0 {
		t.Errorf("JoinStorageSession calls = %d", n)
	}
}

func TestStorageSessionUnknownChannel(t *testing.T) {
	c := newClient(t)
	s, err := c.NewStorageSession(context.Background(), &kvsws.StorageSessionInput{ChannelName: "go-no-such-channel"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	closed, _ := until(t, s, kvsws.EventClosed, 15*time.Second)
	var nf *kvsws.ResourceNotFoundException
	var opErr *kvsws.OperationError
	if !errors.As(closed.Err, &nf) || !errors.As(closed.Err, &opErr) || opErr.OperationName != "DescribeSignalingChannel" {
		t.Errorf("closed with %T %v", closed.Err, closed.Err)
	}
}

func TestStorageSessionGoAwayRejoins(t *testing.T) {
	c := newClient(t)
	s := newSession(t, c, context.Background(), "go-goaway")
	until(t, s, kvsws.EventOffer, 15*time.Second)
	emu.Must(t).Signal("go-goaway", "go_away")
	reconnecting, _ := until(t, s, kvsws.EventState, 10*time.Second)
	for reconnecting.State != kvsws.StateReconnecting {
		reconnecting, _ = until(t, s, kvsws.EventState, 10*time.Second)
	}
	if kvsws.StatusOf(reconnecting.Err) != kvsws.StatusServiceUnavailable || !strings.Contains(reconnecting.Err.Error(), "GO_AWAY") ||
		strings.HasPrefix(reconnecting.Err.Error(), "https") {
		t.Errorf("reconnecting because of %T %v", reconnecting.Err, reconnecting.Err)
	}
	until(t, s, kvsws.EventOffer, 15*time.Second)
	if n := emu.Must(t).Calls("JoinStorageSession"); n != 2 {
		t.Errorf("JoinStorageSession calls = %d, want 2", n)
	}
}

func TestStorageSessionContextCancel(t *testing.T) {
	c := newClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newSession(t, c, ctx, "go-cancel")
	until(t, s, kvsws.EventOffer, 15*time.Second)
	start := time.Now()
	cancel()
	closed, _ := until(t, s, kvsws.EventClosed, 5*time.Second)
	if d := time.Since(start); d > time.Second {
		t.Errorf("closed %v after the cancel", d)
	}
	var ce *kvsws.CanceledError
	if !errors.As(closed.Err, &ce) || !errors.Is(closed.Err, context.Canceled) {
		t.Errorf("closed with %T %v", closed.Err, closed.Err)
	}
	select {
	case <-s.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("the session was not freed after its EventClosed")
	}
	if _, ok := <-s.Events(); ok {
		t.Error("Events not closed")
	}
	if err := s.SendAnswer("v=0"); !errors.Is(err, kvsws.ErrSessionClosed) {
		t.Errorf("SendAnswer = %v", err)
	}
}

// A cancel while the session is still connecting (a slow DescribeSignalingChannel) is prompt too.
func TestStorageSessionCancelWhileConnecting(t *testing.T) {
	c := newClient(t)
	emu.Must(t).AddChannel("go-slow", true)
	emu.Must(t).Fault("DescribeSignalingChannel", map[string]interface{}{"delay_ms": 5000})
	ctx, cancel := context.WithCancel(context.Background())
	s, err := c.NewStorageSession(ctx, &kvsws.StorageSessionInput{ChannelName: "go-slow"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// (The connecting event comes once the blocking step is over: do not wait for it.)
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	cancel()
	closed, _ := until(t, s, kvsws.EventClosed, 5*time.Second)
	if d := time.Since(start); d > time.Second || !errors.Is(closed.Err, context.Canceled) {
		t.Errorf("closed after %v with %v", d, closed.Err)
	}
}

func TestStorageSessionClosedWithClient(t *testing.T) {
	c := newClient(t)
	s := newSession(t, c, context.Background(), "go-clientclose")
	until(t, s, kvsws.EventOffer, 15*time.Second)
	// Nobody reads Events from here on: Client.Close must not wait for a reader.
	done := make(chan struct{})
	go func() { c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Client.Close did not return")
	}
	<-s.Done()
	var last kvsws.Event
	for ev := range s.Events() {
		last = ev
	}
	if last.Type == kvsws.EventClosed && !errors.Is(last.Err, kvsws.ErrClientClosed) {
		t.Errorf("closed with %v", last.Err)
	}
}

// Sends from many goroutines while another closes: no race, no crash, then ErrSessionClosed.
func TestStorageSessionConcurrentSendsAndClose(t *testing.T) {
	c := newClient(t)
	s := newSession(t, c, context.Background(), "go-concurrent")
	until(t, s, kvsws.EventOffer, 15*time.Second)
	go func() { // keep reading so the session keeps working
		for range s.Events() {
		}
	}()
	mid, index := "0", uint16(0)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				err := s.SendCandidate(kvsws.ICECandidateInit{Candidate: "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host", SDPMid: &mid, SDPMLineIndex: &index})
				if errors.Is(err, kvsws.ErrSessionClosed) {
					return
				}
				if err != nil {
					errs <- err
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	var closers sync.WaitGroup
	for i := 0; i < 3; i++ {
		closers.Add(1)
		go func() { defer closers.Done(); s.Close() }()
	}
	closers.Wait()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a send failed before Close: %v", err)
	}
}

// Many sessions at once, each with its offer; afterwards no goroutine is left behind.
func TestStorageSessionManyAndNoLeak(t *testing.T) {
	c := newClient(t)
	base := runtime.NumGoroutine()
	var sessions []*kvsws.StorageSession
	for i := 0; i < 10; i++ {
		sessions = append(sessions, newSession(t, c, context.Background(), fmt.Sprintf("go-many-%d", i)))
	}
	for _, s := range sessions {
		until(t, s, kvsws.EventOffer, 15*time.Second)
	}
	for _, s := range sessions {
		s.Close()
	}
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after closing, %d before:\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}

// A connected session waits without using the CPU, and its timers still fire through the
// netpoller: pings every PingInterval keep it from counting as silent (3 intervals) and
// reconnecting.
func TestStorageSessionIdle(t *testing.T) {
	c := newClient(t)
	s := newSession(t, c, context.Background(), "go-idle", func(in *kvsws.StorageSessionInput) { in.PingInterval = 500 * time.Millisecond })
	until(t, s, kvsws.EventOffer, 15*time.Second)
	evs := make(chan kvsws.Event, 100)
	go func() {
		defer close(evs)
		for ev := range s.Events() {
			evs <- ev
		}
	}()
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	before := cpu()
	time.Sleep(2500 * time.Millisecond) // five ping intervals
	if used := cpu() - before; used > 250*time.Millisecond {
		t.Errorf("%v of CPU in 2.5 s of an idle session", used)
	}
	if !kvsws.UsesNetpoller(s) {
		t.Error("the events goroutine does not wait in Go's netpoller")
	}
	s.Close()
	for ev := range evs {
		if ev.Type == kvsws.EventState && ev.State == kvsws.StateReconnecting {
			t.Errorf("reconnected while idle: %v", ev.Err)
		}
	}
	if conns := emu.Must(t).Connections("go-idle"); len(conns) != 1 {
		t.Errorf("%d WebSocket connections, want 1", len(conns))
	}
}

// Where the descriptor cannot be polled from Go, the events goroutine waits in C: the same
// events, and Close is as prompt (it wakes the wait).
func TestStorageSessionWithoutNetpoller(t *testing.T) {
	kvsws.SetNetpoller(false)
	defer kvsws.SetNetpoller(true)
	c := newClient(t)
	s := newSession(t, c, context.Background(), "go-nopoll")
	_, before := until(t, s, kvsws.EventOffer, 15*time.Second)
	if got := strings.Join(types(before), " "); got != "state:connecting ice_servers state:joining" {
		t.Errorf("events before the offer: %s", got)
	}
	emu.Must(t).Signal("go-nopoll", "go_away")
	until(t, s, kvsws.EventOffer, 15*time.Second)
	if kvsws.UsesNetpoller(s) {
		t.Error("it used the netpoller")
	}
	start := time.Now()
	s.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
}

// Before the service's session limit (MaxDuration), the session rejoins by itself.
func TestStorageSessionRejoinsAtMaxDuration(t *testing.T) {
	c := newClient(t)
	s := newSession(t, c, context.Background(), "go-maxdur", func(in *kvsws.StorageSessionInput) { in.MaxDuration = time.Second })
	until(t, s, kvsws.EventOffer, 15*time.Second)
	start := time.Now()
	ev, _ := until(t, s, kvsws.EventState, 5*time.Second)
	for ev.State != kvsws.StateReconnecting {
		ev, _ = until(t, s, kvsws.EventState, 5*time.Second)
	}
	var expired *kvsws.SessionExpiredException
	if !errors.As(ev.Err, &expired) {
		t.Errorf("reconnecting because of %T %v", ev.Err, ev.Err)
	}
	until(t, s, kvsws.EventOffer, 15*time.Second)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the new offer came %v after the first (MaxDuration 1 s)", d)
	}
	if st, err := s.Stats(); err != nil || st.Reconnects.SessionLimit == 0 ||
		st.Reconnects.GoAway+st.Reconnects.Drop+st.Reconnects.Idle+st.Reconnects.ICERefresh+st.Reconnects.Error != 0 {
		t.Errorf("Stats() = %+v, %v: want reconnects for the session limit only", st.Reconnects, err)
	}
}

// RECONNECT_ICE_SERVER from the service: fresh ICE servers, the session goes on.
func TestStorageSessionRefreshesICEServers(t *testing.T) {
	c := newClient(t)
	s := newSession(t, c, context.Background(), "go-ice")
	until(t, s, kvsws.EventOffer, 15*time.Second)
	emu.Must(t).Signal("go-ice", "reconnect_ice_server")
	ev, seen := until(t, s, kvsws.EventICEServers, 5*time.Second)
	if len(ev.ICEServers) != 1 || ev.ICEServers[0].URLs[0] != turnURI {
		t.Errorf("ICE servers = %+v", ev.ICEServers)
	}
	for _, e := range seen {
		if e.Type == kvsws.EventState && e.State != kvsws.StateConnected {
			t.Errorf("state changed to %v", e.State)
		}
	}
	if n := emu.Must(t).Calls("GetIceServerConfig"); n != 2 {
		t.Errorf("GetIceServerConfig calls = %d, want 2", n)
	}
	if st, err := s.Stats(); err != nil || st.Reconnects != (kvsws.ReconnectStats{ICERefresh: 1}) || st.JoinsSent != 1 {
		t.Errorf("Stats() = %+v, %v: want one ICE refresh and one join", st, err)
	}
}

func TestStorageSessionViewerGetsItsOwnOffer(t *testing.T) {
	c := newClient(t)
	s := newSession(t, c, context.Background(), "go-viewer", func(in *kvsws.StorageSessionInput) {
		in.Role, in.ClientID = kvsws.ChannelRoleViewer, "go-viewer-1"
	})
	offer, _ := until(t, s, kvsws.EventOffer, 15*time.Second)
	video, audio, ok := strings.Cut(offer.SDP, "m=audio")
	if !ok || !strings.Contains(video, "a=sendonly") || !strings.Contains(audio, "a=sendrecv") {
		t.Fatalf("a viewer's offer sends H.264 and talks both ways: %.400q", offer.SDP)
	}
	// Answering like a master (sending video) is refused here, by the viewer rules.
	err := s.SendAnswer(strings.Replace(offer.SDP, "a=sendonly", "a=sendrecv", 1))
	var pv *kvsws.ParamValidationError
	if !errors.As(err, &pv) || !strings.Contains(err.Error(), "sends video") || !strings.Contains(err.Error(), "viewer") {
		t.Errorf("SendAnswer(video sent by a viewer) = %T %v", err, err)
	}
}

func TestStorageSessionStats(t *testing.T) {
	c := newClient(t)
	s := newSession(t, c, context.Background(), "go-stats")
	until(t, s, kvsws.EventOffer, 15*time.Second)
	st, err := s.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.JoinsSent != 1 || st.OffersReceived != 1 || st.Reconnects != (kvsws.ReconnectStats{}) || st.LastError != nil {
		t.Errorf("after the offer: %+v", st)
	}
	if st.OfferFromStart <= 0 || st.OfferFromJoin <= 0 || st.OfferFromJoin > st.OfferFromStart || st.OfferFromStart > st.Uptime {
		t.Errorf("times to the offer: from start %v, from join %v, uptime %v", st.OfferFromStart, st.OfferFromJoin, st.Uptime)
	}
	if st.WebSocket.MessagesIn < 1 || st.WebSocket.BytesIn == 0 || st.WebSocket.MessagesOut != 0 {
		t.Errorf("WebSocket = %+v", st.WebSocket)
	}

	emu.Must(t).Signal("go-stats", "go_away")
	until(t, s, kvsws.EventOffer, 15*time.Second)
	st, err = s.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.JoinsSent != 2 || st.OffersReceived != 2 || st.Reconnects != (kvsws.ReconnectStats{GoAway: 1}) {
		t.Errorf("after GO_AWAY: %+v", st)
	}
	if kvsws.StatusOf(st.LastError) != kvsws.StatusServiceUnavailable || !strings.Contains(fmt.Sprint(st.LastError), "GO_AWAY") {
		t.Errorf("LastError = %T %v", st.LastError, st.LastError)
	}
	s.Close()
	final, err := s.Stats() // after Close: the numbers it had then
	if err != nil || final.OffersReceived != 2 || final.Reconnects.GoAway != 1 {
		t.Errorf("after Close: %+v, %v", final, err)
	}
}

func TestStorageSessionRefusedWebSocketNamesConnectAsMaster(t *testing.T) {
	c := newClient(t)
	emu.Must(t).Fault("ConnectAsMaster", map[string]interface{}{"error": "NotAuthorizedException", "count": 1})
	s := newSession(t, c, context.Background(), "go-refused")
	closed, _ := until(t, s, kvsws.EventClosed, 15*time.Second)
	var na *kvsws.NotAuthorizedException
	var opErr *kvsws.OperationError
	if !errors.As(closed.Err, &na) || !errors.As(closed.Err, &opErr) || opErr.OperationName != "ConnectAsMaster" ||
		opErr.ServiceID != "Kinesis Video Signaling" || na.RequestID() == "" {
		t.Errorf("closed with %T %v", closed.Err, closed.Err)
	}
}
