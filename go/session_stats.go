// SPDX-License-Identifier: Apache-2.0

package kvsws

import (
	"encoding/json"
	"time"
)

// SessionStats is a storage session's metrics, as the C library counts them where the events
// happen (kvsws_session_stats_json): reading them costs the session nothing.
type SessionStats struct {
	State   SessionState  // the session's state now
	InState time.Duration // how long it has been in State
	Uptime  time.Duration // since the session started

	JoinsSent          uint64 // JoinStorageSession(AsViewer) requests, retries included
	OffersReceived     uint64
	AnswersSent        uint64
	CandidatesSent     uint64
	CandidatesReceived uint64

	Reconnects ReconnectStats // times the session went to StateReconnecting, by cause

	// From the start, and from the last join, to the last offer (0 while OffersReceived is 0).
	OfferFromStart time.Duration
	OfferFromJoin  time.Duration

	WebSocket WebSocketStats

	Backoff time.Duration // the wait before the next connect (0: none)
	RetryIn time.Duration // what is left of it

	// LastError is the last error the session reported (a reconnect's or the close's reason, a
	// service refusal, a failed ICE refresh), with the types of Event.Err; nil when none.
	LastError    error
	LastErrorAge time.Duration // how long ago LastError happened
}

// ReconnectStats counts reconnects by cause.
type ReconnectStats struct {
	GoAway       uint64 // the service sent GO_AWAY
	Drop         uint64 // the WebSocket closed or failed (also a broken RFC 6455 rule, the flood limit)
	Idle         uint64 // the WebSocket went silent
	SessionLimit uint64 // MaxDuration reached: rejoined ahead of the service's limit
	ICERefresh   uint64 // RECONNECT_ICE_SERVER: the ICE servers fetched again, same WebSocket
	Error        uint64 // a connect or join step failed and is retried
}

// WebSocketStats counts the signaling text messages and their payload bytes (not framing, pings).
type WebSocketStats struct {
	MessagesIn, BytesIn, MessagesOut, BytesOut uint64
}

// statsJSON is what kvsws_session_stats_json writes.
type statsJSON struct {
	State              string `json:"state"`
	StateMS            int64  `json:"state_ms"`
	UptimeMS           int64  `json:"uptime_ms"`
	JoinsSent          uint64 `json:"joins_sent"`
	OffersReceived     uint64 `json:"offers_received"`
	AnswersSent        uint64 `json:"answers_sent"`
	CandidatesSent     uint64 `json:"candidates_sent"`
	CandidatesReceived uint64 `json:"candidates_received"`
	OfferFromStartMS   *int64 `json:"offer_from_start_ms"`
	OfferFromJoinMS    *int64 `json:"offer_from_join_ms"`
	BackoffMS          int64  `json:"backoff_ms"`
	RetryInMS          int64  `json:"retry_in_ms"`
	Reconnects         struct {
		GoAway       uint64 `json:"go_away"`
		Drop         uint64 `json:"drop"`
		Idle         uint64 `json:"idle"`
		SessionLimit uint64 `json:"session_limit"`
		ICERefresh   uint64 `json:"ice_refresh"`
		Error        uint64 `json:"error"`
	} `json:"reconnects"`
	WebSocket struct {
		MessagesIn  uint64 `json:"messages_in"`
		BytesIn     uint64 `json:"bytes_in"`
		MessagesOut uint64 `json:"messages_out"`
		BytesOut    uint64 `json:"bytes_out"`
	} `json:"websocket"`
	LastError *struct {
		errorJSON
		MSAgo int64 `json:"ms_ago"`
	} `json:"last_error"`
}

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

// Stats returns the session's metrics. Safe from any goroutine, at any time; after the session
// ended (Done is closed), the numbers it had then.
func (s *StorageSession) Stats() (SessionStats, error) {
	s.mu.RLock()
	text, d := s.finalStats, (*errorDetail)(nil)
	if s.p != nil {
		text, d = cSessionStats(s.p)
	}
	s.mu.RUnlock()
	if d != nil {
		return SessionStats{}, d.toError()
	}
	return decodeStats(text)
}

func decodeStats(text string) (SessionStats, error) {
	var j statsJSON
	if err := json.Unmarshal([]byte(text), &j); err != nil {
		return SessionStats{}, err
	}
	st := SessionStats{
		InState: ms(j.StateMS), Uptime: ms(j.UptimeMS),
		JoinsSent: j.JoinsSent, OffersReceived: j.OffersReceived, AnswersSent: j.AnswersSent,
		CandidatesSent: j.CandidatesSent, CandidatesReceived: j.CandidatesReceived,
		Reconnects: ReconnectStats(j.Reconnects), WebSocket: WebSocketStats(j.WebSocket),
		Backoff: ms(j.BackoffMS), RetryIn: ms(j.RetryInMS),
	}
	for i, name := range stateNames {
		if name == j.State {
			st.State = SessionState(i)
		}
	}
	if j.OfferFromStartMS != nil {
		st.OfferFromStart = ms(*j.OfferFromStartMS)
	}
	if j.OfferFromJoinMS != nil {
		st.OfferFromJoin = ms(*j.OfferFromJoinMS)
	}
	if j.LastError != nil {
		st.LastError = j.LastError.toError()
		st.LastErrorAge = ms(j.LastError.MSAgo)
	}
	return st, nil
}
