// SPDX-License-Identifier: Apache-2.0

// Command sigserver is the scale benchmark's load target: a lightweight stand-in for the KVS
// control plane, signaling and storage endpoints on one HTTPS port. It answers the calls a
// storage session makes (DescribeSignalingChannel, DescribeMediaStorageConfiguration,
// GetSignalingChannelEndpoint, GetIceServerConfig, JoinStorageSession) with canned bodies, serves
// the signaling WebSocket at the same port, and after each JoinStorageSession sends a canned
// SDP_OFFER on that channel's WebSocket, as the storage service does. It answers pings (gorilla's
// default handler) and counts what it saw at GET /_stats.
//
// SigV4 is not checked: this is a load target, not an emulator (tests/emulator is the emulator).
//
//	sigserver -cert server.pem -key server.key [-addr 127.0.0.1:0] [-ready FILE]
package main

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// A typical browser-style offer: H.264 video and Opus audio, sendrecv.
const offerSDP = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	"a=group:BUNDLE 0 1\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 102 103\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n" +
	"a=ice-ufrag:Bx9u\r\na=ice-pwd:1pWtH3ShZXbZq5x2bZ2PZb7e\r\na=ice-options:trickle\r\n" +
	"a=fingerprint:sha-256 6B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\r\n" +
	"a=setup:actpass\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\na=rtcp-rsize\r\n" +
	"a=rtpmap:102 H264/90000\r\na=rtcp-fb:102 goog-remb\r\na=rtcp-fb:102 transport-cc\r\n" +
	"a=rtcp-fb:102 ccm fir\r\na=rtcp-fb:102 nack\r\na=rtcp-fb:102 nack pli\r\n" +
	"a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n" +
	"a=rtpmap:103 rtx/90000\r\na=fmtp:103 apt=102\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n" +
	"a=ice-ufrag:Bx9u\r\na=ice-pwd:1pWtH3ShZXbZq5x2bZ2PZb7e\r\na=ice-options:trickle\r\n" +
	"a=fingerprint:sha-256 6B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\r\n" +
	"a=setup:actpass\r\na=mid:1\r\na=sendrecv\r\na=rtcp-mux\r\n" +
	"a=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n"

var noDeadline = time.Time{}

type conn struct {
	ws *websocket.Conn
	mu sync.Mutex // one writer at a time (pongs go through WriteControl, which is safe)
}

type server struct {
	base     string // https://127.0.0.1:PORT
	mu       sync.Mutex
	channels map[string]*conn
	pending  map[string]bool // joined before its WebSocket was registered: offer on arrival
	offer    []byte
	stats    struct{ calls, joins, offers, connects, pings, open atomic.Int64 }
	upgrader websocket.Upgrader
}

func (s *server) reply(w http.ResponseWriter, body interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-RequestId", "00000000-0000-4000-8000-000000000000")
	if body != nil {
		json.NewEncoder(w).Encode(body)
	}
}

func (s *server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if websocket.IsWebSocketUpgrade(r) {
		s.serveWebSocket(w, r)
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == "/_stats" {
		s.reply(w, map[string]int64{"calls": s.stats.calls.Load(), "joins": s.stats.joins.Load(),
			"offers": s.stats.offers.Load(), "connects": s.stats.connects.Load(),
			"pings": s.stats.pings.Load(), "open": s.stats.open.Load()})
		return
	}
	var in map[string]interface{}
	body, _ := io.ReadAll(r.Body)
	json.Unmarshal(body, &in)
	s.stats.calls.Add(1)
	arn, _ := in["ChannelARN"].(string)
	switch r.URL.Path {
	case "/describeSignalingChannel":
		s.reply(w, map[string]interface{}{"ChannelInfo": map[string]interface{}{"ChannelARN": arn,
			"ChannelName": "bench", "ChannelStatus": "ACTIVE", "ChannelType": "SINGLE_MASTER"}})
	case "/describeMediaStorageConfiguration":
		s.reply(w, map[string]interface{}{"MediaStorageConfiguration": map[string]interface{}{
			"Status": "ENABLED", "StreamARN": "arn:aws:kinesisvideo:us-west-2:123456789012:stream/bench/1"}})
	case "/getSignalingChannelEndpoint":
		wss := "wss" + s.base[len("https"):]
		s.reply(w, map[string]interface{}{"ResourceEndpointList": []map[string]string{
			{"Protocol": "WSS", "ResourceEndpoint": wss}, {"Protocol": "HTTPS", "ResourceEndpoint": s.base},
			{"Protocol": "WEBRTC", "ResourceEndpoint": s.base}}})
	case "/v1/get-ice-server-config":
		s.reply(w, map[string]interface{}{"IceServerList": []map[string]interface{}{{
			"Uris": []string{"turn:127.0.0.1:3478?transport=udp"}, "Username": "bench", "Password": "bench",
			"Ttl": 300}}})
	case "/joinStorageSession":
		s.stats.joins.Add(1)
		channel, _ := in["channelArn"].(string)
		s.reply(w, nil)
		s.mu.Lock()
		c := s.channels[channel]
		if c == nil {
			// The client saw its WebSocket's 101 before this handler registered it.
			s.pending[channel] = true
		}
		s.mu.Unlock()
		if c != nil {
			go s.sendOffer(c)
		}
	default:
		w.WriteHeader(http.StatusNotFound)
		s.reply(w, map[string]string{"message": "no route " + r.URL.Path})
	}
}

func (s *server) sendOffer(c *conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ws.WriteMessage(websocket.TextMessage, s.offer) == nil {
		s.stats.offers.Add(1)
	}
}

func (s *server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	channel := r.URL.Query().Get("X-Amz-ChannelARN")
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.stats.connects.Add(1)
	s.stats.open.Add(1)
	defer s.stats.open.Add(-1)
	c := &conn{ws: ws}
	ws.SetPingHandler(func(data string) error {
		s.stats.pings.Add(1)
		return ws.WriteControl(websocket.PongMessage, []byte(data), noDeadline)
	})
	s.mu.Lock()
	s.channels[channel] = c
	offer := s.pending[channel]
	delete(s.pending, channel)
	s.mu.Unlock()
	if offer {
		go s.sendOffer(c)
	}
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			break
		}
	}
	s.mu.Lock()
	if s.channels[channel] == c {
		delete(s.channels, channel)
	}
	s.mu.Unlock()
	ws.Close()
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	cert := flag.String("cert", "", "server certificate (PEM)")
	key := flag.String("key", "", "its key")
	ready := flag.String("ready", "", "write the base URL here once listening")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	s := &server{channels: map[string]*conn{}, pending: map[string]bool{}}
	s.base = fmt.Sprintf("https://%s", ln.Addr().String())
	payload, _ := json.Marshal(map[string]string{"type": "offer", "sdp": offerSDP})
	s.offer, _ = json.Marshal(map[string]string{"messageType": "SDP_OFFER", "senderClientId": "storage-session",
		"messagePayload": base64.StdEncoding.EncodeToString(payload)})
	if *ready != "" {
		os.WriteFile(*ready+".tmp", []byte(s.base+"\n"), 0o644)
		os.Rename(*ready+".tmp", *ready)
	}
	// HTTP/1.1 only, as the AWS endpoints answer these clients; the WebSocket needs it anyway.
	srv := &http.Server{Handler: http.HandlerFunc(s.serveHTTP),
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}}
	log.Fatal(srv.ServeTLS(ln, *cert, *key))
}
