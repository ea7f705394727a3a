// SPDX-License-Identifier: Apache-2.0

// Package kvswstest runs the kvsws emulator for tests, as net/http/httptest runs an HTTP server.
//
// The emulator (tests/emulator in the kvsws repository, a Python package) stands in for the three
// AWS services a Kinesis Video Streams WebRTC storage session talks to: the control plane, WebRTC
// storage and signaling, over HTTPS on loopback with its own CA, with SigV4 checked by botocore,
// errors as AWS sends them, faults on demand, a signaling WebSocket, a TURN server, and a storage
// peer that decodes the H.264 and Opus it receives. Any code that talks to those services — kvsws,
// an AWS SDK, your device's own — can be tested against it:
//
//	var emu *kvswstest.Emulator
//
//	func TestMain(m *testing.M) {
//		var err error
//		emu, err = kvswstest.StartEmulator(kvswstest.Options{})
//		if err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			os.Exit(1)
//		}
//		code := m.Run()
//		if code != 0 {
//			emu.WriteLogTail(os.Stderr, 8000)
//		}
//		emu.Close()
//		os.Exit(code)
//	}
//
//	func TestRetries(t *testing.T) {
//		e := emu.Must(t)      // the same calls, failing the test on an error
//		e.Reset()             // no faults, counts or recorded requests (again when the test ends)
//		arn := e.AddChannel("my-channel", true)
//		e.Fault("JoinStorageSession", map[string]any{"status": 503, "count": 2})
//		cmd := exec.Command("./my-device", "--channel-arn", arn)
//		cmd.Env = emu.Environ(os.Environ()) // AWS_* pointed at the emulator, and nothing else
//		...
//		if n := e.Calls("JoinStorageSession"); n != 3 { ... }
//	}
//
// The emulator needs a Python with tests/emulator/requirements.txt (the repository's
// scripts/setup.sh makes .venv with it). Options.Python and Options.EmulatorDir say which Python
// and which emulator to run; by default they come from KVSWS_PYTHON and KVSWS_EMULATOR_DIR, else
// from the kvsws checkout around the working directory (its .venv/bin/python and tests/emulator),
// else python3 from PATH. See tests/emulator/README.md for the emulator itself: the configuration
// (Options.Config), the admin API (Emulator.Admin) and the faults (Emulator.Fault).
package kvswstest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options say how to run the emulator. The zero value runs the default emulator (two channels,
// demo-channel with media storage and no-storage-channel without, fixed test keys, us-west-2).
type Options struct {
	// Python runs the emulator. Default: FindPython ($KVSWS_PYTHON, else the checkout's .venv).
	Python string
	// EmulatorDir holds the kvsws_emulator package. Default: FindEmulatorDir
	// ($KVSWS_EMULATOR_DIR, else the checkout's tests/emulator).
	EmulatorDir string
	// Config is the emulator's --config, as JSON: channels, credentials, turn, record, ... (see
	// tests/emulator/README.md). Nil: the defaults.
	Config map[string]any
	// StartTimeout is how long to wait for ready.json. Default: 30 s.
	StartTimeout time.Duration
	// LogLevel is the emulator's --log-level. Default: INFO.
	LogLevel string
	// ExtraArgs go on the emulator's command line, e.g. {"--iot-port", "0"} for the AWS IoT
	// credentials provider's stand-in (Emulator.IoTEndpoint).
	ExtraArgs []string
}

// Emulator is a running emulator: what its ready.json says, and a client for its admin API.
type Emulator struct {
	// Endpoint is the HTTPS endpoint of all three services, e.g. https://127.0.0.1:40123.
	Endpoint string `json:"endpoint"`
	// CABundle is the PEM file of the emulator's CA: the only one that trusts Endpoint.
	CABundle string `json:"ca_bundle"`
	// Region is where the default channels are (us-west-2).
	Region string `json:"region"`
	// AccessKeyID and SecretAccessKey are the emulator's default key pair.
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
	// Channels maps the configured channels' names to their ARNs.
	Channels map[string]string `json:"channels"`
	// TURNURIs are the URIs GetIceServerConfig returns.
	TURNURIs []string `json:"turn_uris"`
	// PID is the emulator's process id.
	PID int `json:"pid"`
	// IoTEndpoint is the AWS IoT credentials provider stand-in's host:port (with --iot-port).
	IoTEndpoint string `json:"iot_endpoint"`
	// StateDir holds ca.pem, ready.json, emulator.log and the recordings; Close removes it.
	StateDir string `json:"-"`

	cmd       *exec.Cmd
	exited    chan error
	admin     *http.Client
	closeOnce sync.Once
}

// FindPython is the Python that runs the emulator when Options.Python is empty: $KVSWS_PYTHON
// (made absolute), else the .venv/bin/python of the kvsws checkout around the working directory,
// else python3 from PATH. It must exist.
func FindPython() (string, error) {
	python, err := fromEnv("KVSWS_PYTHON", func(root string) string { return filepath.Join(root, ".venv", "bin", "python") })
	if err == nil && python == "" {
		python, err = exec.LookPath("python3")
	}
	if err != nil {
		return "", fmt.Errorf("kvswstest: no Python for the emulator (%v): run the repository's "+
			"scripts/setup.sh for .venv, or set KVSWS_PYTHON to a Python with tests/emulator/requirements.txt", err)
	}
	return python, nil
}

// FindEmulatorDir is the directory holding the kvsws_emulator package when Options.EmulatorDir is
// empty: $KVSWS_EMULATOR_DIR (made absolute), else tests/emulator of the kvsws checkout around the
// working directory.
func FindEmulatorDir() (string, error) {
	dir, err := fromEnv("KVSWS_EMULATOR_DIR", func(root string) string { return filepath.Join(root, "tests", "emulator") })
	if err == nil && dir == "" {
		err = errors.New("no kvsws checkout (tests/emulator/kvsws_emulator) around the working directory: " +
			"set KVSWS_EMULATOR_DIR")
	}
	if err != nil {
		return "", fmt.Errorf("kvswstest: no emulator: %v", err)
	}
	return dir, nil
}

// fromEnv is $name made absolute, which must exist; else inRepo(the checkout's root) if there is
// a checkout around the working directory and that exists; else "".
func fromEnv(name string, inRepo func(root string) string) (string, error) {
	if v := os.Getenv(name); v != "" {
		abs, err := filepath.Abs(v)
		if err == nil {
			_, err = os.Stat(abs)
		}
		return abs, err
	}
	root, err := repoRoot()
	if err != nil {
		return "", nil
	}
	path := inRepo(root)
	if _, err := os.Stat(path); err != nil {
		return "", nil
	}
	return path, nil
}

// repoRoot is the nearest directory, from the working directory up, with tests/emulator/kvsws_emulator.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "tests", "emulator", "kvsws_emulator")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

// StartEmulator starts the emulator in a new temporary state directory and waits until it is ready.
// Close stops it.
func StartEmulator(opts Options) (*Emulator, error) {
	python, emulatorDir := opts.Python, opts.EmulatorDir
	var err error
	if python == "" {
		if python, err = FindPython(); err != nil {
			return nil, err
		}
	}
	if emulatorDir == "" {
		if emulatorDir, err = FindEmulatorDir(); err != nil {
			return nil, err
		}
	}
	timeout, level := opts.StartTimeout, opts.LogLevel
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	if level == "" {
		level = "INFO"
	}

	dir, err := os.MkdirTemp("", "kvswstest-")
	if err != nil {
		return nil, err
	}
	e := &Emulator{StateDir: dir, exited: make(chan error, 1)}
	if err := e.start(python, emulatorDir, opts.Config, level, opts.ExtraArgs); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := e.waitReady(timeout); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func (e *Emulator) start(python, emulatorDir string, config map[string]any, level string, extra []string) error {
	args := []string{"-m", "kvsws_emulator", "--state-dir", e.StateDir, "--log-level", level}
	args = append(args, extra...)
	if config != nil {
		b, err := json.Marshal(config)
		if err != nil {
			return fmt.Errorf("kvswstest: Options.Config: %v", err)
		}
		path := filepath.Join(e.StateDir, "config.json")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return err
		}
		args = append(args, "--config", path)
	}
	logFile, err := os.Create(e.LogPath())
	if err != nil {
		return err
	}
	defer logFile.Close() // the child has its own copy
	e.cmd = exec.Command(python, args...)
	e.cmd.Env = append(os.Environ(), "PYTHONPATH="+emulatorDir, "PYTHONUNBUFFERED=1")
	e.cmd.Stdout, e.cmd.Stderr = logFile, logFile
	if err := e.cmd.Start(); err != nil {
		return fmt.Errorf("kvswstest: %v", err)
	}
	go func() { e.exited <- e.cmd.Wait() }()
	return nil
}

func (e *Emulator) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case err := <-e.exited:
			e.exited <- err // for Close
			return fmt.Errorf("kvswstest: the emulator exited (%v):\n%s", err, e.Log())
		default:
		}
		if b, err := os.ReadFile(filepath.Join(e.StateDir, "ready.json")); err == nil &&
			json.Unmarshal(b, e) == nil && e.PID == e.cmd.Process.Pid {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kvswstest: the emulator was not ready within %v:\n%s", timeout, e.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	pem, err := os.ReadFile(e.CABundle)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("kvswstest: no certificate in %s", e.CABundle)
	}
	e.admin = &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
	return nil
}

// Close stops the emulator (SIGTERM, then SIGKILL after 10 s) and removes its state directory.
func (e *Emulator) Close() error {
	e.closeOnce.Do(func() {
		if e.admin != nil {
			if t, ok := e.admin.Transport.(*http.Transport); ok {
				t.CloseIdleConnections()
			}
		}
		_ = e.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-e.exited:
		case <-time.After(10 * time.Second):
			_ = e.cmd.Process.Kill()
			<-e.exited
		}
		os.RemoveAll(e.StateDir)
	})
	return nil
}

// LogPath is the emulator's log (stdout and stderr).
func (e *Emulator) LogPath() string { return filepath.Join(e.StateDir, "emulator.log") }

// Log is the emulator's log so far.
func (e *Emulator) Log() string {
	b, _ := os.ReadFile(e.LogPath())
	return string(b)
}

// WriteLogTail writes the last n bytes of the log to w, under a heading: for a failed run.
func (e *Emulator) WriteLogTail(w io.Writer, n int) {
	log := e.Log()
	if len(log) > n {
		log = log[len(log)-n:]
	}
	fmt.Fprintf(w, "--- emulator log (tail) ---\n%s\n", log)
}

// -- the environment of the code under test ---------------------------------------------------------

// Env is the AWS_* variables that point an AWS SDK (or kvsws) at the emulator: its endpoint, CA
// bundle, default keys and region, and no EC2 metadata lookup.
func (e *Emulator) Env() map[string]string {
	return map[string]string{
		"AWS_ACCESS_KEY_ID":              e.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":          e.SecretAccessKey,
		"AWS_REGION":                     e.Region,
		"AWS_EC2_METADATA_DISABLED":      "true",
		"AWS_ENDPOINT_URL_KINESIS_VIDEO": e.Endpoint,
		"AWS_CA_BUNDLE":                  e.CABundle,
	}
}

// Shared AWS files that do not exist: nothing from the developer's ~/.aws reaches the code under test.
const (
	noConfigFile      = "/nonexistent/kvswstest/config"
	noCredentialsFile = "/nonexistent/kvswstest/credentials"
)

// Environ is base (e.g. os.Environ()) without any AWS_* variable, plus Env() and shared config and
// credentials files that do not exist: for exec.Cmd.Env, so that a child process cannot pick up a
// real profile, key or endpoint by accident.
func (e *Emulator) Environ(base []string) []string {
	out := make([]string, 0, len(base)+8)
	for _, kv := range base {
		if !strings.HasPrefix(kv, "AWS_") {
			out = append(out, kv)
		}
	}
	out = append(out, "AWS_CONFIG_FILE="+noConfigFile, "AWS_SHARED_CREDENTIALS_FILE="+noCredentialsFile)
	for k, v := range e.Env() {
		out = append(out, k+"="+v)
	}
	return out
}

// Setenv does the same to this process's environment (for code under test in the test binary
// itself, such as a client made from the environment): every AWS_* variable unset, then Env() and
// the shared files that do not exist. Call it from TestMain, before the tests run.
func (e *Emulator) Setenv() {
	for _, kv := range os.Environ() {
		if name := strings.SplitN(kv, "=", 2)[0]; strings.HasPrefix(name, "AWS_") {
			os.Unsetenv(name)
		}
	}
	os.Setenv("AWS_CONFIG_FILE", noConfigFile)
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", noCredentialsFile)
	for k, v := range e.Env() {
		os.Setenv(k, v)
	}
}

// -- the admin API ------------------------------------------------------------------------------------

// Admin calls the emulator's admin API (unsigned, under /_emulator/): body (if not nil) is sent as
// JSON and the answer decoded into out (if not nil).
func (e *Emulator) Admin(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.Endpoint+"/_emulator/"+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.admin.Do(req)
	if err != nil {
		return fmt.Errorf("emulator admin %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("emulator admin %s %s: HTTP %d: %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("emulator admin %s %s: %v", method, path, err)
		}
	}
	return nil
}

// Reset clears the faults, the call counts and the recorded requests.
func (e *Emulator) Reset() error {
	return e.Admin("POST", "reset", map[string]any{}, nil)
}

// AddChannel creates a channel in the emulator's region (or sets the media storage of an existing
// one) and returns its ARN.
func (e *Emulator) AddChannel(name string, storage bool) (string, error) {
	var ch struct {
		ARN string `json:"arn"`
	}
	err := e.Admin("POST", "channels", map[string]any{"name": name, "storage": storage}, &ch)
	return ch.ARN, err
}

// AddCredentials adds a key pair the emulator accepts; a non-empty sessionToken must then come with it.
func (e *Emulator) AddCredentials(accessKeyID, secretAccessKey, sessionToken string) error {
	body := map[string]any{"access_key_id": accessKeyID, "secret_access_key": secretAccessKey}
	if sessionToken != "" {
		body["session_token"] = sessionToken
	}
	return e.Admin("POST", "credentials", body, nil)
}

// Fault queues a fault for the next calls of operation ("*": any of the six HTTPS calls), e.g.
// Fault("JoinStorageSession", map[string]any{"status": 503, "count": 2}). spec is as in
// tests/emulator/README.md: count, error, message, status, body, throttle, delay_ms, drop, and for
// JoinStorageSession no_offer, candidates_first, ...
func (e *Emulator) Fault(operation string, spec map[string]any) error {
	body := map[string]any{"operation": operation}
	for k, v := range spec {
		body[k] = v
	}
	return e.Admin("POST", "faults", body, nil)
}

// Signal acts on the channel's open master WebSocket: go_away, reconnect_ice_server, close, drop,
// malformed, silence, ...
func (e *Emulator) Signal(channel, action string) error {
	return e.Admin("POST", "signaling", map[string]any{"channel": channel, "action": action}, nil)
}

// IoTThing is a thing of the AWS IoT stand-in, with its device certificate and key (PEM files
// from the emulator's CA).
type IoTThing struct {
	ThingName string `json:"thing_name"`
	CertFile  string `json:"cert_file"`
	KeyFile   string `json:"key_file"`
}

// AddIoTThing makes a thing and its device certificate and key (needs ExtraArgs --iot-port).
func (e *Emulator) AddIoTThing(name string) (IoTThing, error) {
	var th IoTThing
	err := e.Admin("POST", "iot/things", map[string]any{"thing_name": name}, &th)
	return th, err
}

// AddIoTRoleAlias registers a role alias; lifetime (0: an hour) is how long its credentials live.
func (e *Emulator) AddIoTRoleAlias(alias string, lifetime time.Duration) error {
	body := map[string]any{"role_alias": alias}
	if lifetime > 0 {
		body["lifetime_seconds"] = lifetime.Seconds()
	}
	return e.Admin("POST", "iot/role-aliases", body, nil)
}

// IoTEnv is the six variables the KVS C SDK's samples read, for th and alias.
func (e *Emulator) IoTEnv(th IoTThing, alias string) map[string]string {
	return map[string]string{
		"AWS_IOT_CORE_CREDENTIAL_ENDPOINT": e.IoTEndpoint,
		"AWS_IOT_CORE_CERT":                th.CertFile,
		"AWS_IOT_CORE_PRIVATE_KEY":         th.KeyFile,
		"AWS_IOT_CORE_ROLE_ALIAS":          alias,
		"AWS_IOT_CORE_THING_NAME":          th.ThingName,
		"AWS_KVS_CACERT_PATH":              e.CABundle,
	}
}

// Request is one request the emulator recorded.
type Request struct {
	RequestID   string `json:"request_id"`
	Operation   string `json:"operation"`
	Status      int    `json:"status"`
	Error       string `json:"error"`
	UserAgent   string `json:"user_agent"`
	Verified    bool   `json:"verified"`
	AccessKeyID string `json:"access_key_id"`
	Region      string `json:"region"`
}

// State is what the emulator counted and recorded since the last Reset.
type State struct {
	Calls    map[string]int `json:"calls"`
	Requests []Request      `json:"requests"`
}

// State is the emulator's call counts and recorded requests.
func (e *Emulator) State() (State, error) {
	var s State
	err := e.Admin("GET", "state", nil, &s)
	return s, err
}

// Calls is how many requests the emulator got for operation ("" for all), faulted or not.
func (e *Emulator) Calls(operation string) (int, error) {
	s, err := e.State()
	if operation != "" {
		return s.Calls[operation], err
	}
	n := 0
	for _, c := range s.Calls {
		n += c
	}
	return n, err
}

// Session is what the emulator's storage peer recorded for one accepted JoinStorageSession.
type Session struct {
	N          int                `json:"n"`
	Status     string             `json:"status"`
	RequestID  string             `json:"request_id"`
	JoinedAt   float64            `json:"joined_at"` // Unix seconds
	TimingsMS  map[string]float64 `json:"timings_ms"`
	Codecs     map[string]Codec   `json:"codecs"`
	Candidates struct {
		Sent     int      `json:"sent"`
		Received int      `json:"received"`
		Ignored  []string `json:"ignored"`
	} `json:"candidates"`
	Video struct {
		Frames int `json:"frames"`
		Width  int `json:"width"`
		Height int `json:"height"`
	} `json:"video"`
	Audio struct {
		Frames     int `json:"frames"`
		SampleRate int `json:"sample_rate"`
	} `json:"audio"`
	SelectedPair map[string]string `json:"selected_candidate_pair"`
	AnswerSDP    string            `json:"answer_sdp"`
	Errors       []string          `json:"errors"`
}

// Codec is a negotiated codec of a Session.
type Codec struct {
	MIME        string `json:"mime"`
	PayloadType int    `json:"payload_type"`
	ClockRate   int    `json:"clock_rate"`
}

// channelInfo is GET /_emulator/sessions?channel=...: one channel's sessions and connections.
func (e *Emulator) channelInfo(channel string, out any) error {
	var all struct {
		Channels map[string]json.RawMessage `json:"channels"`
	}
	if err := e.Admin("GET", "sessions?channel="+url.QueryEscape(channel), nil, &all); err != nil {
		return err
	}
	for _, ch := range all.Channels {
		return json.Unmarshal(ch, out)
	}
	return nil
}

// Sessions is the channel's storage sessions, oldest first.
func (e *Emulator) Sessions(channel string) ([]Session, error) {
	var ch struct {
		Sessions []Session `json:"sessions"`
	}
	err := e.channelInfo(channel, &ch)
	return ch.Sessions, err
}

// Connections is the channel's signaling WebSocket connections (open and closed), oldest first.
func (e *Emulator) Connections(channel string) ([]map[string]any, error) {
	var ch struct {
		Connections []map[string]any `json:"connections"`
	}
	err := e.channelInfo(channel, &ch)
	return ch.Connections, err
}

// WaitForSession polls until the channel's session number n (1-based; 0: the latest) exists and
// satisfies ok (nil: any); it returns that session, or an error with the last one seen after timeout.
func (e *Emulator) WaitForSession(channel string, n int, ok func(Session) bool, timeout time.Duration) (Session, error) {
	deadline := time.Now().Add(timeout)
	var last Session
	for {
		all, err := e.Sessions(channel)
		if err != nil {
			return last, err
		}
		var cur *Session
		if n == 0 && len(all) > 0 {
			cur = &all[len(all)-1]
		} else if n > 0 && n <= len(all) {
			cur = &all[n-1]
		}
		if cur != nil {
			last = *cur
			if ok == nil || ok(last) {
				return last, nil
			}
		}
		if time.Now().After(deadline) {
			return last, fmt.Errorf("session %d of %s: not as wanted within %v; last: %+v", n, channel, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// WaitForMedia waits until the channel's session number n (1-based; 0: the latest) has decoded at
// least frames video frames and frames Opus frames; it returns that session.
func (e *Emulator) WaitForMedia(channel string, n, frames int, timeout time.Duration) (Session, error) {
	s, err := e.WaitForSession(channel, n, func(s Session) bool {
		return s.Video.Frames >= frames && s.Audio.Frames >= frames
	}, timeout)
	if err != nil {
		err = fmt.Errorf("%v (waiting for %d video and audio frames)", err, frames)
	}
	return s, err
}
