// SPDX-License-Identifier: Apache-2.0

package kvsws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrSessionClosed is returned by SendAnswer and SendCandidate once the session is ending: it
// was asked to close (Close, its context, the client's Close) or ended by itself (EventClosed).
var ErrSessionClosed = errors.New("kvsws: the storage session is closed")

// StorageSessionInput configures a storage session. Exactly one of ChannelARN and ChannelName
// is required; every other zero value means the default.
type StorageSessionInput struct {
	// ChannelARN is the signaling channel's ARN.
	ChannelARN string
	// ChannelName is the channel's name, resolved with DescribeSignalingChannel.
	ChannelName string
	// Role is ChannelRoleMaster (the default: the storage service sends its offer to the
	// master) or ChannelRoleViewer (JoinStorageSessionAsViewer, with ClientID).
	Role ChannelRole
	// ClientID identifies a viewer (VIEWER only): 1 to 256 of [a-zA-Z0-9_.-].
	ClientID string
	// OfferTimeout is how long to wait for the offer before joining again (0: 6 s).
	OfferTimeout time.Duration
	// PingInterval is how much silence on the signaling WebSocket comes before a ping
	// (0: 10 s); three intervals of silence count as a dropped connection.
	PingInterval time.Duration
	// MaxJoinAttempts is how many joins may go unanswered before the session ends with
	// NoOfferReceived (0: 5).
	MaxJoinAttempts int
	// MaxDuration is when to rejoin, ahead of the service's 1 hour session limit (0: 55 min).
	MaxDuration time.Duration
	// ReconnectMaxDelay caps the backoff between reconnect attempts (0: 30 s).
	ReconnectMaxDelay time.Duration
	// DisableAnswerCheck lets SendAnswer send an answer without H.264 video and Opus audio,
	// which the storage service refuses (checked by default).
	DisableAnswerCheck bool
	// FloodLimit is how many frames a second the signaling server may sustain (bursts of 10 s
	// worth pass); more closes the WebSocket with 1008 Policy Violation and the session
	// reconnects (0: 200; -1: no limit).
	FloodLimit int
}

// options turns the input into kvsws_session options; only what is set.
func (in *StorageSessionInput) options() ([]sessionOption, error) {
	var opts []sessionOption
	str := func(key sessionOptionKey, field, v string) {
		if v != "" {
			opts = append(opts, sessionOption{key: key, field: field, str: v})
		}
	}
	num := func(key sessionOptionKey, field string, v int64) {
		opts = append(opts, sessionOption{key: key, field: field, num: v, isNum: true})
	}
	bad := func(field, msg string) error {
		return &ConfigError{clientError{status: StatusConfig, message: msg}, "StorageSessionInput." + field}
	}
	millis := func(key sessionOptionKey, field string, d time.Duration) error {
		switch {
		case d < 0:
			return bad(field, fmt.Sprintf("must not be negative, got %v", d))
		case d > 0:
			num(key, "StorageSessionInput."+field, int64((d+time.Millisecond-1)/time.Millisecond))
		}
		return nil
	}
	str(sessOptChannelARN, "StorageSessionInput.ChannelARN", in.ChannelARN)
	str(sessOptChannelName, "StorageSessionInput.ChannelName", in.ChannelName)
	switch in.Role {
	case "", ChannelRoleMaster:
	case ChannelRoleViewer:
		num(sessOptRole, "StorageSessionInput.Role", roleViewer)
	default:
		return nil, &ParamValidationError{clientError{status: StatusParamValidation, message: fmt.Sprintf(
			"Invalid value for StorageSessionInput.Role: %q, valid values: MASTER, VIEWER", in.Role)}}
	}
	str(sessOptClientID, "StorageSessionInput.ClientID", in.ClientID)
	for _, d := range []struct {
		key   sessionOptionKey
		field string
		v     time.Duration
	}{
		{sessOptOfferTimeoutMS, "OfferTimeout", in.OfferTimeout},
		{sessOptPingIntervalMS, "PingInterval", in.PingInterval},
		{sessOptMaxDurationMS, "MaxDuration", in.MaxDuration},
		{sessOptReconnectMaxMS, "ReconnectMaxDelay", in.ReconnectMaxDelay},
	} {
		if err := millis(d.key, d.field, d.v); err != nil {
			return nil, err
		}
	}
	switch {
	case in.MaxJoinAttempts < 0:
		return nil, bad("MaxJoinAttempts", fmt.Sprintf("must not be negative, got %d", in.MaxJoinAttempts))
	case in.MaxJoinAttempts > 0:
		num(sessOptMaxJoinAttempts, "StorageSessionInput.MaxJoinAttempts", int64(in.MaxJoinAttempts))
	}
	if in.DisableAnswerCheck {
		num(sessOptCheckAnswer, "StorageSessionInput.DisableAnswerCheck", 0)
	}
	switch {
	case in.FloodLimit < -1:
		return nil, bad("FloodLimit", fmt.Sprintf("must be -1 (no limit), 0 (the default) or more, got %d", in.FloodLimit))
	case in.FloodLimit == -1:
		num(sessOptFloodLimit, "StorageSessionInput.FloodLimit", 0)
	case in.FloodLimit > 0:
		num(sessOptFloodLimit, "StorageSessionInput.FloodLimit", int64(in.FloodLimit))
	}
	return opts, nil
}

// EventType says what an Event is.
type EventType int

// The event types (numbered as kvsws_event_type in kvsws.h).
const (
	EventState        EventType = 1 // the session's state changed: Event.State (Err says why when reconnecting)
	EventOffer        EventType = 2 // the storage service's SDP offer: answer it with SendAnswer
	EventICECandidate EventType = 3 // a remote ICE candidate, always after its offer
	EventICEServers   EventType = 4 // the STUN/TURN servers to use (first, and when refreshed)
	EventStatus       EventType = 5 // the service refused a message we sent: Event.Err
	EventClosed       EventType = 6 // the session ended, the last event: Event.Err says why
)

var eventTypeNames = map[EventType]string{
	EventState: "state", EventOffer: "offer", EventICECandidate: "ice_candidate",
	EventICEServers: "ice_servers", EventStatus: "status", EventClosed: "closed",
}

// String returns the type's name as in kvsws_event_json: "offer", "ice_candidate", ...
func (t EventType) String() string {
	if n, ok := eventTypeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("EventType(%d)", int(t))
}

// SessionState is where a storage session is.
type SessionState int

// The session states (numbered as kvsws_session_state in kvsws.h).
const (
	StateNew          SessionState = 0
	StateConnecting   SessionState = 1 // describe, endpoints, ICE servers, WebSocket, join
	StateJoining      SessionState = 2 // joined, waiting for the offer
	StateConnected    SessionState = 3 // the offer was delivered: signaling is live
	StateReconnecting SessionState = 4 // GO_AWAY, a dropped socket, the session limit: coming back
	StateClosed       SessionState = 5 // for good
)

var stateNames = [...]string{"new", "connecting", "joining", "connected", "reconnecting", "closed"}

// String returns the state's name: "connecting", "joining", ...
func (s SessionState) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("SessionState(%d)", int(s))
}

// ICECandidateInit is an ICE candidate, shaped exactly like pion's webrtc.ICECandidateInit (and
// the browser's RTCIceCandidateInit), so one converts to the other:
// webrtc.ICECandidateInit(ev.Candidate) and kvsws.ICECandidateInit(c.ToJSON()).
type ICECandidateInit struct {
	Candidate        string  `json:"candidate"` // "candidate:..."
	SDPMid           *string `json:"sdpMid"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex"`
	UsernameFragment *string `json:"usernameFragment"` // not carried by the signaling service
}

// ICEServer is a STUN or TURN server, shaped like RTCIceServer: with pion,
// webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential}.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Event is one thing that happened in a storage session. Which fields are set depends on Type.
type Event struct {
	Type EventType
	// State is the new state (EventState) or StateClosed (EventClosed).
	State SessionState
	// SDP is the offer (EventOffer).
	SDP string
	// SenderID is the offer's or candidate's sender, "" when the service sent none (it usually
	// does not: answers and candidates then go back without a recipient).
	SenderID string
	// Candidate is the remote candidate (EventICECandidate).
	Candidate ICECandidateInit
	// ICEServers are the servers for the next peer connection (EventICEServers): first, and
	// again with fresh TURN credentials after the service's RECONNECT_ICE_SERVER or before
	// they expire (give them to the running peer connection too: pion's SetConfiguration).
	ICEServers []ICEServer
	// ICEServersTTL is how long the TURN credentials of ICEServers last (the shortest
	// lifetime the service gave, as GetIceServerConfig's Ttl); 0 when it gave none.
	ICEServersTTL time.Duration
	// Err says why: for EventClosed nil after Close, a *CanceledError when the context
	// was done, ErrClientClosed, or the error that ended the session (a
	// *StorageNotEnabledError, errors.Is ErrStorageNotEnabled, when the channel has no media
	// storage; a *GenericAPIError NoOfferReceived after MaxJoinAttempts; the failing call's
	// error wrapped in an *OperationError, ConnectAsMaster or ConnectAsViewer for the
	// signaling WebSocket's upgrade, ...); for EventStatus the service's refusal of a message
	// this session sent (such as an *InvalidArgumentException whose SentMessage is
	// "SDP_ANSWER" and CorrelationID that message's; a STATUS_RESPONSE for a message the
	// session did not send never becomes an event); for EventState in StateReconnecting what
	// happened (GO_AWAY, a dropped connection, a throttled join). The types are this
	// package's usual ones, chosen by status number.
	Err error
}

// eventJSON is what kvsws_event_json writes.
type eventJSON struct {
	Type          string          `json:"type"`
	State         string          `json:"state"`
	SDP           string          `json:"sdp"`
	SenderID      string          `json:"sender_id"`
	Candidate     *string         `json:"candidate"`
	SDPMid        *string         `json:"sdp_mid"`
	SDPMLineIndex *int            `json:"sdp_mline_index"`
	ICEServers    []iceServerJSON `json:"ice_servers"`
	Error         *errorJSON      `json:"error"`
}

// iceServerJSON is an ICE server as kvsws_event_json writes it: with its ttl in seconds.
type iceServerJSON struct {
	ICEServer
	TTL *float64 `json:"ttl"`
}

// errorJSON is an error as kvsws_event_json and kvsws_session_stats_json write it.
type errorJSON struct {
	Status     Status `json:"status"`
	Code       string `json:"code"`
	Message    string `json:"message"`
	Operation  string `json:"operation"`
	HTTPStatus int    `json:"http_status"`
	RequestID  string `json:"request_id"`
	Retryable  bool   `json:"retryable"`
	// a STATUS_RESPONSE's: the correlation id of the refused message ("" otherwise)
	CorrelationID string `json:"correlation_id"`
}

// toError is the error with this package's usual types (nil for none), wrapped in an
// *OperationError when it names one of the calls.
func (e *errorJSON) toError() error {
	if e == nil || e.Status == StatusOK {
		return nil
	}
	d := &errorDetail{status: e.Status, code: e.Code, message: e.Message, operation: e.Operation,
		requestID: e.RequestID, httpStatus: e.HTTPStatus, retryable: e.Retryable,
		correlationID: e.CorrelationID}
	err := d.toError()
	if op, known := operationsByName[e.Operation]; known {
		err = op.error(err)
	}
	return err
}

var operationsByName = map[string]operation{}

func init() {
	for _, op := range []operation{opJoinStorageSession, opJoinStorageSessionAsViewer,
		opGetSignalingChannelEndpoint, opDescribeSignalingChannel,
		opDescribeMediaStorageConfiguration, opGetIceServerConfig, opConnectAsMaster,
		opConnectAsViewer} {
		operationsByName[op.name] = op
	}
}

// decodeEvent turns kvsws_event_json into an Event; ok is false for a type this package does
// not know (a newer library's).
func decodeEvent(text string) (ev Event, ok bool, err error) {
	var j eventJSON
	if err := json.Unmarshal([]byte(text), &j); err != nil {
		return Event{}, false, err
	}
	for t, name := range eventTypeNames {
		if name == j.Type {
			ev.Type, ok = t, true
		}
	}
	if !ok {
		return Event{}, false, nil
	}
	for i, name := range stateNames {
		if name == j.State {
			ev.State = SessionState(i)
		}
	}
	ev.SDP, ev.SenderID = j.SDP, j.SenderID
	for _, s := range j.ICEServers {
		ev.ICEServers = append(ev.ICEServers, s.ICEServer)
		if s.TTL == nil || *s.TTL <= 0 {
			continue
		}
		if ttl := time.Duration(*s.TTL * float64(time.Second)); ev.ICEServersTTL == 0 || ttl < ev.ICEServersTTL {
			ev.ICEServersTTL = ttl
		}
	}
	if j.Candidate != nil {
		ev.Candidate.Candidate = *j.Candidate
		ev.Candidate.SDPMid = j.SDPMid
		if j.SDPMLineIndex != nil && *j.SDPMLineIndex >= 0 && *j.SDPMLineIndex <= 0xffff {
			idx := uint16(*j.SDPMLineIndex)
			ev.Candidate.SDPMLineIndex = &idx
		}
	}
	ev.Err = j.Error.toError()
	return ev, true, nil
}

// StorageSession is a running storage session: the C library connects the signaling WebSocket,
// joins the channel's storage session, keeps it alive and comes back after GO_AWAY, a dropped
// connection or the session limit; the application reads Events and answers the offers with
// its own WebRTC stack (such as pion). Send* are safe from any goroutine. Close it when done.
type StorageSession struct {
	client *Client
	events chan Event
	done   chan struct{} // closed once the session is freed and Events closed

	mu         sync.RWMutex // read-held by the sends, Stats and shutdown; write-held to free p
	p          *cSession    // nil once freed
	finalStats string       // kvsws_session_stats_json just before p was freed

	smu     sync.Mutex
	reason  error         // why the session was asked to end (nil: Close)
	asked   bool          // shutdown was called
	stop    chan struct{} // closed by Close and Client.Close: events are no longer waited for
	stopped bool

	state   atomic.Int32 // the last SessionState delivered
	netpoll atomic.Bool  // the events goroutine waits in Go's netpoller (not in C)
	ending  atomic.Bool  // closing or closed: sends return ErrSessionClosed
}

// NewStorageSession starts a storage session on the channel. The input is checked first, before
// any I/O (*ParamValidationError, *ConfigError naming the StorageSessionInput field); the work
// then happens in the background and shows as Events. The session ends when ctx is done (its
// EventClosed carries a *CanceledError), when Close or the client's Close is called, or when it
// cannot go on (EventClosed with the error).
//
// A session needs no goroutine of the application's and no OS thread while it waits: one
// goroutine per session waits for the C library's descriptor in Go's netpoller.
func (c *Client) NewStorageSession(ctx context.Context, params *StorageSessionInput) (*StorageSession, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if params == nil {
		params = &StorageSessionInput{}
	}
	opts, err := params.options()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, &CanceledError{Err: err}
	}
	// Held until the session is freed: the C session uses the client.
	c.mu.RLock()
	if c.p == nil {
		c.mu.RUnlock()
		return nil, ErrClientClosed
	}
	c.log.follow(c.p)
	p, detail, field := cStartSession(c.p, opts)
	if detail != nil {
		c.mu.RUnlock()
		err := detail.toError()
		if ce, ok := err.(*ConfigError); ok {
			ce.Field = field
		}
		return nil, err
	}
	reader := newEventReader()
	if reader == nil {
		cSessionFree(p)
		c.mu.RUnlock()
		return nil, noMemory().toError()
	}
	s := &StorageSession{
		client: c,
		events: make(chan Event, 64),
		done:   make(chan struct{}),
		p:      p,
		stop:   make(chan struct{}),
	}
	s.state.Store(int32(StateNew))
	go s.run(p, pollFile(cSessionFD(p)), reader)
	go s.watch(ctx)
	return s, nil
}

// Events delivers the session's events in order. It is closed after the last one, EventClosed
// (after Close, that one is delivered only if the channel's buffer has room).
func (s *StorageSession) Events() <-chan Event { return s.events }

// Done is closed when the session has ended and its resources are freed.
func (s *StorageSession) Done() <-chan struct{} { return s.done }

// State returns the state of the last event delivered.
func (s *StorageSession) State() SessionState { return SessionState(s.state.Load()) }

// SendAnswer sends the SDP answer to the last offer. Unless StorageSessionInput's
// DisableAnswerCheck is set, an answer without H.264 video or without Opus audio is refused
// with a *ParamValidationError that says what is missing. Errors: *TransportError when the
// WebSocket is not connected (reconnecting: answer the next offer), ErrSessionClosed.
//
// Order: send the answer and the local candidates in any order, from any goroutine. The
// candidates SendCandidate gets before the answer to the current offer are held and go out
// right after it (the service, the offerer, can use them only once it has the answer), so
// pion's OnICECandidate may fire before SendAnswer is called; a new offer drops the held ones.
func (s *StorageSession) SendAnswer(sdp string) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.p == nil || s.ending.Load() {
		return ErrSessionClosed
	}
	if d := cSendAnswer(s.p, sdp); d != nil {
		return s.sendError(d)
	}
	return nil
}

// sendError: a send that failed because the session is closing says so.
func (s *StorageSession) sendError(d *errorDetail) error {
	if s.ending.Load() && d.status >= 100 {
		return ErrSessionClosed
	}
	return d.toError()
}

// SendCandidate sends a local ICE candidate (pion: kvsws.ICECandidateInit(c.ToJSON())), or,
// before the answer to the current offer, holds it until SendAnswer (see SendAnswer; at most
// 100 wait, then a *ParamValidationError). Errors as SendAnswer's.
func (s *StorageSession) SendCandidate(c ICECandidateInit) error {
	index := -1
	if c.SDPMLineIndex != nil {
		index = int(*c.SDPMLineIndex)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.p == nil || s.ending.Load() {
		return ErrSessionClosed
	}
	if d := cSendCandidate(s.p, c.Candidate, c.SDPMid, index); d != nil {
		return s.sendError(d)
	}
	return nil
}

// Close ends the session: it closes the signaling WebSocket politely, stops the events
// goroutine, waits for it and frees the session. Events is closed. Close is idempotent, safe
// from any goroutine (also while others send) and always returns nil.
func (s *StorageSession) Close() error {
	s.shutdown(nil, true)
	<-s.done
	return nil
}

// shutdown asks the C session to close (once the reason is set, it stays). With stop, the
// events goroutine no longer waits for the application to take events.
func (s *StorageSession) shutdown(reason error, stop bool) {
	s.ending.Store(true)
	s.smu.Lock()
	if !s.asked {
		s.asked, s.reason = true, reason
	}
	if stop && !s.stopped {
		s.stopped = true
		close(s.stop)
	}
	s.smu.Unlock()
	s.mu.RLock()
	if s.p != nil {
		cSessionClose(s.p)
	}
	s.mu.RUnlock()
}

// closeReason says whether the session was asked to end, and why (nil: Close).
func (s *StorageSession) closeReason() (bool, error) {
	s.smu.Lock()
	defer s.smu.Unlock()
	return s.asked, s.reason
}

// watch ends the session when ctx is done or the client is closing.
func (s *StorageSession) watch(ctx context.Context) {
	select {
	case <-ctx.Done():
		s.shutdown(&CanceledError{Err: ctx.Err()}, false)
	case <-s.client.closing:
		s.shutdown(ErrClientClosed, true)
	case <-s.done:
	}
}

// noNetpoll makes sessions wait in C (tests of that fallback).
var noNetpoll atomic.Bool

// pollFile returns a duplicate of the session's descriptor that Go's netpoller watches, or nil
// if it cannot (the session then waits in C, a thread per session).
func pollFile(fd int) *os.File {
	if fd < 0 || noNetpoll.Load() {
		return nil
	}
	syscall.ForkLock.RLock()
	dup, err := syscall.Dup(fd)
	if err == nil {
		syscall.CloseOnExec(dup)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil
	}
	// O_NONBLOCK makes os.NewFile register it with the netpoller; epoll_wait ignores it.
	if err := syscall.SetNonblock(dup, true); err != nil {
		syscall.Close(dup)
		return nil
	}
	return os.NewFile(uintptr(dup), "kvsws-session")
}

// fallbackWaitMS bounds one wait in C when the descriptor cannot be polled from Go.
const fallbackWaitMS = 250

// run is the one goroutine that reads the session's events: it waits for the descriptor,
// lets the C library do the work due, and delivers the events, until EventClosed.
func (s *StorageSession) run(p *cSession, file *os.File, r *eventReader) {
	defer s.finish(file, r)
	if file != nil {
		if rc, err := file.SyscallConn(); err == nil {
			closed, calls := false, 0
			// RawConn.Read calls the function, and again each time the descriptor is
			// readable, until it returns true; it returns an error when the descriptor
			// cannot be polled.
			err = rc.Read(func(uintptr) bool {
				if calls++; calls == 2 {
					s.netpoll.Store(true) // it waited once
				}
				closed = s.drain(p, r, 0)
				return closed
			})
			if closed || err == nil {
				return
			}
		}
	}
	for !s.drain(p, r, fallbackWaitMS) {
	}
}

// drain delivers the events that are ready (waiting up to waitMS for the first); true once
// the session is closed.
func (s *StorageSession) drain(p *cSession, r *eventReader, waitMS int) bool {
	for {
		s.client.log.follow(s.client.p) // the session holds the client open: p is set
		text, detail := r.next(p, waitMS)
		waitMS = 0
		if detail != nil {
			s.ending.Store(true)
			s.deliver(Event{Type: EventClosed, State: StateClosed, Err: detail.toError()})
			return true
		}
		if text == "" {
			return false
		}
		ev, ok, err := decodeEvent(text)
		if err != nil {
			ev, ok = Event{Type: EventStatus, Err: &InternalError{clientError{status: StatusInternal,
				message: fmt.Sprintf("kvsws: cannot decode an event (%v): %.200s", err, text)}}}, true
		}
		if !ok {
			continue
		}
		if ev.Type == EventState || ev.Type == EventClosed {
			s.state.Store(int32(ev.State))
		}
		if ev.Type == EventClosed {
			s.ending.Store(true)
			// Closed on request (a step in flight was cancelled, or nothing was): say why.
			if asked, reason := s.closeReason(); asked && (ev.Err == nil || StatusOf(ev.Err) == StatusCancelled) {
				ev.Err = reason
			}
			s.deliver(ev)
			return true
		}
		s.deliver(ev)
	}
}

// deliver hands an event to the application; once the session is stopped it no longer waits.
func (s *StorageSession) deliver(ev Event) {
	select {
	case <-s.stop:
	default:
		select {
		case s.events <- ev:
			return
		case <-s.stop:
		}
	}
	select {
	case s.events <- ev:
	default:
	}
}

// finish frees everything once the events goroutine is done.
func (s *StorageSession) finish(file *os.File, r *eventReader) {
	if file != nil {
		file.Close()
	}
	r.free()
	s.state.Store(int32(StateClosed))
	s.mu.Lock()
	s.finalStats, _ = cSessionStats(s.p)
	cSessionFree(s.p)
	s.p = nil
	s.mu.Unlock()
	s.client.mu.RUnlock()
	close(s.events)
	close(s.done)
}
