package streamer_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The local emulator (tests/emulator) with its built-in TURN server, and the media files,
// made by make_media.py; both set up by TestMain. KVSWS_PYTHON (default ../../../.venv/bin/python)
// and KVSWS_EMULATOR_DIR (default ../../../tests/emulator) say which Python and emulator to run.
var emu struct {
	Endpoint        string `json:"endpoint"`
	CABundle        string `json:"ca_bundle"`
	Region          string `json:"region"`
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
	PID             int    `json:"pid"`

	admin   *http.Client
	logPath string
}

var videoFile, audioFile string

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	python := os.Getenv("KVSWS_PYTHON")
	if python == "" {
		python = "../../../.venv/bin/python"
	}
	python, err := filepath.Abs(python)
	if err == nil {
		_, err = os.Stat(python)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "streamer tests: no Python for the emulator (%v): run scripts/setup.sh or set KVSWS_PYTHON\n", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "kvsws-streamer-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)

	media := filepath.Join(dir, "media")
	start := time.Now()
	out, err := exec.Command(python, "../make_media.py", media, "--seconds", "4").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "streamer tests: make_media.py failed: %v\n%s", err, out)
		return 1
	}
	fmt.Fprintf(os.Stderr, "streamer tests: media made in %v: %s", time.Since(start).Round(time.Millisecond), out)
	videoFile, audioFile = filepath.Join(media, "video.h264"), filepath.Join(media, "audio.ogg")

	stop, err := startEmulator(python, filepath.Join(dir, "emulator"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "streamer tests: cannot start the emulator: %v\n", err)
		return 1
	}
	defer stop()

	// As a user points an SDK at the emulator; nothing from the developer's shell or ~/.aws.
	for _, kv := range os.Environ() {
		if name := strings.SplitN(kv, "=", 2)[0]; strings.HasPrefix(name, "AWS_") {
			os.Unsetenv(name)
		}
	}
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE":                "/nonexistent/kvsws-test-config",
		"AWS_SHARED_CREDENTIALS_FILE":    "/nonexistent/kvsws-test-credentials",
		"AWS_EC2_METADATA_DISABLED":      "true",
		"AWS_REGION":                     emu.Region,
		"AWS_ENDPOINT_URL_KINESIS_VIDEO": emu.Endpoint,
		"AWS_CA_BUNDLE":                  emu.CABundle,
		"AWS_ACCESS_KEY_ID":              emu.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":          emu.SecretAccessKey,
	} {
		os.Setenv(k, v)
	}
	code := m.Run()
	if code != 0 {
		if log, err := os.ReadFile(emu.logPath); err == nil {
			if len(log) > 8000 {
				log = log[len(log)-8000:]
			}
			fmt.Fprintf(os.Stderr, "--- emulator log (tail) ---\n%s\n", log)
		}
	}
	return code
}

func startEmulator(python, dir string) (func(), error) {
	emulatorDir := os.Getenv("KVSWS_EMULATOR_DIR")
	if emulatorDir == "" {
		emulatorDir = "../../../tests/emulator"
	}
	emulatorDir, err := filepath.Abs(emulatorDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	emu.logPath = filepath.Join(dir, "emulator.log")
	logFile, err := os.Create(emu.logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	// The built-in TURN server (GetIceServerConfig returns it); no recordings (CPU).
	config := filepath.Join(dir, "config.json")
	if err := os.WriteFile(config, []byte(`{"record": false}`), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(python, "-m", "kvsws_emulator", "--state-dir", dir, "--config", config, "--log-level", "INFO")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+emulatorDir, "PYTHONUNBUFFERED=1")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(emu.logPath)
			return nil, fmt.Errorf("the emulator exited (%v):\n%s", err, log)
		default:
		}
		if b, err := os.ReadFile(filepath.Join(dir, "ready.json")); err == nil &&
			json.Unmarshal(b, &emu) == nil && emu.PID == cmd.Process.Pid {
			break
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("the emulator was not ready within 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	pem, err := os.ReadFile(emu.CABundle)
	if err != nil {
		stop()
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	emu.admin = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return stop, nil
}

// admin calls the emulator's admin API (under /_emulator/).
func admin(t testing.TB, method, path string, body, out interface{}) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, emu.Endpoint+"/_emulator/"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := emu.admin.Do(req)
	if err != nil {
		t.Fatalf("emulator admin %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("emulator admin %s %s: HTTP %d: %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("emulator admin %s %s: %v", method, path, err)
		}
	}
}

func resetEmulator(t testing.TB) {
	t.Helper()
	admin(t, "POST", "reset", map[string]interface{}{}, nil)
}

func addChannel(t testing.TB, name string) {
	t.Helper()
	admin(t, "POST", "channels", map[string]interface{}{"name": name, "storage": true}, nil)
}

func fault(t testing.TB, operation string, spec map[string]interface{}) {
	t.Helper()
	body := map[string]interface{}{"operation": operation}
	for k, v := range spec {
		body[k] = v
	}
	admin(t, "POST", "faults", body, nil)
}

func signal(t testing.TB, channel, action string) {
	t.Helper()
	admin(t, "POST", "signaling", map[string]interface{}{"channel": channel, "action": action}, nil)
}

func calls(t testing.TB, operation string) int {
	t.Helper()
	var s struct {
		Calls map[string]int `json:"calls"`
	}
	admin(t, "GET", "state", nil, &s)
	return s.Calls[operation]
}

// storageSession is what the emulator's storage peer recorded for one join.
type storageSession struct {
	N          int                `json:"n"`
	Status     string             `json:"status"`
	JoinedAt   float64            `json:"joined_at"` // Unix seconds
	TimingsMS  map[string]float64 `json:"timings_ms"`
	Codecs     map[string]codec   `json:"codecs"`
	Candidates struct {
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
	Errors       []string          `json:"errors"`
}

type codec struct {
	MIME string `json:"mime"`
}

func sessions(t testing.TB, channel string) []storageSession {
	t.Helper()
	var out struct {
		Channels map[string]struct {
			Sessions []storageSession `json:"sessions"`
		} `json:"channels"`
	}
	admin(t, "GET", "sessions?channel="+url.QueryEscape(channel), nil, &out)
	for _, ch := range out.Channels {
		return ch.Sessions
	}
	return nil
}

// waitForMedia waits until the channel's session number n (1-based; 0: the latest) has
// decoded at least frames video frames and audio frames; returns it.
func waitForMedia(t testing.TB, channel string, n, frames int, timeout time.Duration) storageSession {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last storageSession
	for {
		all := sessions(t, channel)
		if len(all) > 0 {
			last = all[len(all)-1]
			if n > 0 {
				last = storageSession{}
				if n <= len(all) {
					last = all[n-1]
				}
			}
			if last.Video.Frames >= frames && last.Audio.Frames >= frames {
				return last
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %d of %s: not %d video and audio frames within %v; last: %+v", n, channel, frames, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
