// SPDX-License-Identifier: Apache-2.0

package kvsws

// The cgo of storage sessions: the kvsws_session_* calls and copies of what they return. Like
// cgo.go, every call copies its error out right away; the rest (session.go) is plain Go.

/*
#include <stdlib.h>
#include <kvsws.h>
*/
import "C"

import "unsafe"

// cSession is the C session handle.
type cSession = C.kvsws_session

// sessionOptionKey is a kvsws_session_option.
type sessionOptionKey int

const (
	sessOptChannelARN      sessionOptionKey = C.KVSWS_SESSION_OPT_CHANNEL_ARN
	sessOptChannelName     sessionOptionKey = C.KVSWS_SESSION_OPT_CHANNEL_NAME
	sessOptRole            sessionOptionKey = C.KVSWS_SESSION_OPT_ROLE
	sessOptClientID        sessionOptionKey = C.KVSWS_SESSION_OPT_CLIENT_ID
	sessOptOfferTimeoutMS  sessionOptionKey = C.KVSWS_SESSION_OPT_OFFER_TIMEOUT_MS
	sessOptPingIntervalMS  sessionOptionKey = C.KVSWS_SESSION_OPT_PING_INTERVAL_MS
	sessOptMaxJoinAttempts sessionOptionKey = C.KVSWS_SESSION_OPT_MAX_JOIN_ATTEMPTS
	sessOptMaxDurationMS   sessionOptionKey = C.KVSWS_SESSION_OPT_MAX_DURATION_MS
	sessOptCheckAnswer     sessionOptionKey = C.KVSWS_SESSION_OPT_CHECK_ANSWER
	sessOptReconnectMaxMS  sessionOptionKey = C.KVSWS_SESSION_OPT_RECONNECT_MAX_MS
	sessOptFloodLimit      sessionOptionKey = C.KVSWS_SESSION_OPT_FLOOD_LIMIT

	roleMaster = int64(C.KVSWS_ROLE_MASTER)
	roleViewer = int64(C.KVSWS_ROLE_VIEWER)
)

// The EventType and SessionState constants are written out as numbers; these lines stop the
// build if one of them ever disagrees with kvsws.h (the index is not 0).
var _ = [1]struct{}{}[0|
	(int(EventState)-int(C.KVSWS_EVENT_STATE))|
	(int(EventOffer)-int(C.KVSWS_EVENT_OFFER))|
	(int(EventICECandidate)-int(C.KVSWS_EVENT_ICE_CANDIDATE))|
	(int(EventICEServers)-int(C.KVSWS_EVENT_ICE_SERVERS))|
	(int(EventStatus)-int(C.KVSWS_EVENT_STATUS))|
	(int(EventClosed)-int(C.KVSWS_EVENT_CLOSED))|
	(int(StateNew)-int(C.KVSWS_STATE_NEW))|
	(int(StateConnecting)-int(C.KVSWS_STATE_CONNECTING))|
	(int(StateJoining)-int(C.KVSWS_STATE_JOINING))|
	(int(StateConnected)-int(C.KVSWS_STATE_CONNECTED))|
	(int(StateReconnecting)-int(C.KVSWS_STATE_RECONNECTING))|
	(int(StateClosed)-int(C.KVSWS_STATE_CLOSED))]

// sessionOption is one kvsws_session_set_str / kvsws_session_set_int.
type sessionOption struct {
	key   sessionOptionKey
	field string // the StorageSessionInput field it comes from, for errors
	str   string
	num   int64
	isNum bool
}

// cStartSession creates a session on the client, sets the options and starts it (which checks
// them, before any I/O). On failure it returns the error details and, when an option was
// refused, the input field it came from.
func cStartSession(client *cClient, opts []sessionOption) (*cSession, *errorDetail, string) {
	cerr := C.kvsws_error_new()
	if cerr == nil {
		return nil, noMemory(), ""
	}
	defer C.kvsws_error_free(cerr)
	var s *C.kvsws_session
	if C.kvsws_session_new(client, &s, cerr) != C.KVSWS_OK {
		return nil, readError(cerr), ""
	}
	for _, o := range opts {
		var st C.kvsws_status
		if o.isNum {
			st = C.kvsws_session_set_int(s, C.kvsws_session_option(o.key), C.int64_t(o.num), cerr)
		} else {
			v := C.CString(o.str)
			st = C.kvsws_session_set_str(s, C.kvsws_session_option(o.key), v, cerr)
			C.free(unsafe.Pointer(v))
		}
		if st != C.KVSWS_OK {
			d := readError(cerr)
			C.kvsws_session_free(s)
			return nil, d, o.field
		}
	}
	if C.kvsws_session_start(s, cerr) != C.KVSWS_OK {
		d := readError(cerr)
		C.kvsws_session_free(s)
		return nil, d, ""
	}
	return s, nil, ""
}

// cSessionFD is the descriptor that is readable when the session has work or events.
func cSessionFD(s *cSession) int { return int(C.kvsws_session_fd(s)) }

// eventReader holds the kvsws_error of the one goroutine that reads a session's events.
type eventReader struct{ cerr *C.kvsws_error }

func newEventReader() *eventReader {
	if e := C.kvsws_error_new(); e != nil {
		return &eventReader{e}
	}
	return nil
}

func (r *eventReader) free() { C.kvsws_error_free(r.cerr) }

// next does the work due and returns the next event's JSON ("" when there is none), waiting up
// to timeoutMS (0: not at all).
func (r *eventReader) next(s *cSession, timeoutMS int) (string, *errorDetail) {
	var ev *C.kvsws_event
	if C.kvsws_session_next_event(s, C.int(timeoutMS), &ev, r.cerr) != C.KVSWS_OK {
		return "", readError(r.cerr)
	}
	if ev == nil {
		return "", nil
	}
	defer C.kvsws_event_free(ev)
	return C.GoString(C.kvsws_event_json(ev)), nil
}

// cSessionClose asks the session to stop (from any thread): the reader then gets CLOSED.
func cSessionClose(s *cSession) { C.kvsws_session_close(s) }

func cSessionFree(s *cSession) { C.kvsws_session_free(s) }

// cSendAnswer sends an SDP answer to the last offer's sender.
func cSendAnswer(s *cSession, sdp string) *errorDetail {
	cerr := C.kvsws_error_new()
	if cerr == nil {
		return noMemory()
	}
	defer C.kvsws_error_free(cerr)
	v := C.CString(sdp)
	defer C.free(unsafe.Pointer(v))
	if C.kvsws_session_send_answer(s, v, nil, cerr) != C.KVSWS_OK {
		return readError(cerr)
	}
	return nil
}

// cSendCandidate sends a local ICE candidate; mid may be nil, index -1 for none.
func cSendCandidate(s *cSession, candidate string, mid *string, index int) *errorDetail {
	cerr := C.kvsws_error_new()
	if cerr == nil {
		return noMemory()
	}
	defer C.kvsws_error_free(cerr)
	c := C.CString(candidate)
	defer C.free(unsafe.Pointer(c))
	var m *C.char
	if mid != nil {
		m = C.CString(*mid)
		defer C.free(unsafe.Pointer(m))
	}
	if C.kvsws_session_send_candidate(s, c, m, C.int(index), nil, cerr) != C.KVSWS_OK {
		return readError(cerr)
	}
	return nil
}

// cSessionStats is kvsws_session_stats_json's document.
func cSessionStats(s *cSession) (string, *errorDetail) {
	cerr := C.kvsws_error_new()
	if cerr == nil {
		return "", noMemory()
	}
	defer C.kvsws_error_free(cerr)
	var out *C.char
	if C.kvsws_session_stats_json(s, &out, cerr) != C.KVSWS_OK {
		return "", readError(cerr)
	}
	defer C.kvsws_string_free(out)
	return C.GoString(out), nil
}

func cSessionStateName(st SessionState) string {
	return C.GoString(C.kvsws_session_state_name(C.kvsws_session_state(st)))
}
