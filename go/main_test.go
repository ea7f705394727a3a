package kvsws_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	kvsws "github.com/kvsws/kvsws/go"
)

// The emulator every test talks to (tests/emulator), started by TestMain: HTTPS on loopback with
// its own CA, SigV4 checked by botocore, errors as AWS sends them, faults on demand.
var emu struct {
	Endpoint        string            `json:"endpoint"`
	CABundle        string            `json:"ca_bundle"`
	Region          string            `json:"region"`
	AccessKeyID     string            `json:"access_key_id"`
	SecretAccessKey string            `json:"secret_access_key"`
	Channels        map[string]string `json:"channels"`
	PID             int               `json:"pid"`

	admin *http.Client
}

// turnURI is the TURN server the emulator's GetIceServerConfig returns.
const turnURI = "turn:127.0.0.1:3478?transport=udp"

// demoARN is the emulator's default channel with media storage (its ARN is fixed).
const demoARN = "arn:aws:kinesisvideo:us-west-2:123456789012:channel/demo-channel/1234567890123"

// TestMain starts the emulator, points the environment at it the way a user would, and runs
// the tests and examples. Without Python or the emulator it fails: CI must not pass silently.
// KVSWS_PYTHON (default ../.venv/bin/python) and KVSWS_EMULATOR_DIR (default ../tests/emulator)
// say which Python and which emulator to run.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	stop, err := startEmulator()
	if err != nil {
		fmt.Fprintf(os.Stderr, "kvsws Go tests: cannot start the emulator: %v\n"+
			"(run scripts/setup.sh for .venv, or set KVSWS_PYTHON to a Python with tests/emulator/requirements.txt)\n", err)
		return 1
	}
	defer stop()

	// Nothing from the developer's shell or ~/.aws: only what the tests set.
	for _, kv := range os.Environ() {
		if name := strings.SplitN(kv, "=", 2)[0]; strings.HasPrefix(name, "AWS_") {
			os.Unsetenv(name)
		}
	}
	os.Setenv("AWS_CONFIG_FILE", "/nonexistent/kvsws-go-test-config")
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/kvsws-go-test-credentials")
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	// As a user points an SDK at the emulator (the examples rely on these).
	os.Setenv("AWS_ENDPOINT_URL_KINESIS_VIDEO", emu.Endpoint)
	os.Setenv("AWS_CA_BUNDLE", emu.CABundle)
	os.Setenv("AWS_ACCESS_KEY_ID", emu.AccessKeyID)
	os.Setenv("AWS_SECRET_ACCESS_KEY", emu.SecretAccessKey)

	code := m.Run()
	if code != 0 {
		if log, err := os.ReadFile(emuLogPath); err == nil {
			if len(log) > 8000 {
				log = log[len(log)-8000:]
			}
			fmt.Fprintf(os.Stderr, "--- emulator log (tail) ---\n%s\n", log)
		}
	}
	return code
}

var emuLogPath string

func startEmulator() (stop func(), err error) {
	python := os.Getenv("KVSWS_PYTHON")
	if python == "" {
		python = "../.venv/bin/python"
	}
	if python, err = filepath.Abs(python); err != nil {
		return nil, err
	}
	if _, err := os.Stat(python); err != nil {
		return nil, err
	}
	emulatorDir := os.Getenv("KVSWS_EMULATOR_DIR") // the directory holding kvsws_emulator/
	if emulatorDir == "" {
		emulatorDir = "../tests/emulator"
	}
	emulatorDir, err = filepath.Abs(emulatorDir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(emulatorDir, "kvsws_emulator")); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kvsws-go-emulator-")
	if err != nil {
		return nil, err
	}
	emuLogPath = filepath.Join(dir, "emulator.log")
	logFile, err := os.Create(emuLogPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logFile.Close()
	// The default channels and keys; a fixed TURN URI (no built-in TURN server needed).
	config := filepath.Join(dir, "config.json")
	if err := os.WriteFile(config, []byte(`{"turn": {"uris": ["`+turnURI+`"]}}`), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := exec.Command(python, "-m", "kvsws_emulator", "--state-dir", dir, "--config", config, "--log-level", "INFO")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+emulatorDir, "PYTHONUNBUFFERED=1")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		os.RemoveAll(dir)
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(emuLogPath)
			os.RemoveAll(dir)
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
	emu.admin = &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
	return stop, nil
}

// admin calls the emulator's admin API (unsigned, under /_emulator/).
func admin(t testing.TB, method, path string, body interface{}, out interface{}) {
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

// fault queues an emulator fault: fault(t, "JoinStorageSession", map[string]interface{}{"status": 503}).
func fault(t testing.TB, operation string, spec map[string]interface{}) {
	t.Helper()
	body := map[string]interface{}{"operation": operation}
	for k, v := range spec {
		body[k] = v
	}
	admin(t, "POST", "faults", body, nil)
}

type emuRequest struct {
	Operation string `json:"operation"`
	Status    int    `json:"status"`
	Error     string `json:"error"`
	UserAgent string `json:"user_agent"`
	Verified  bool   `json:"verified"`
	AccessKey string `json:"access_key_id"`
}

type emuState struct {
	Calls    map[string]int `json:"calls"`
	Requests []emuRequest   `json:"requests"`
}

func state(t testing.TB) emuState {
	t.Helper()
	var s emuState
	admin(t, "GET", "state", nil, &s)
	return s
}

// calls is how many requests the emulator got for operation ("" for all).
func calls(t testing.TB, operation string) int {
	t.Helper()
	s := state(t)
	if operation != "" {
		return s.Calls[operation]
	}
	n := 0
	for _, c := range s.Calls {
		n += c
	}
	return n
}

// resetEmulator clears faults, counts and recorded requests, now and when the test ends.
func resetEmulator(t testing.TB) {
	t.Helper()
	admin(t, "POST", "reset", map[string]interface{}{}, nil)
	t.Cleanup(func() { admin(t, "POST", "reset", map[string]interface{}{}, nil) })
}

// addChannel creates (or updates) a channel and returns its ARN.
func addChannel(t testing.TB, name string, storage bool) string {
	t.Helper()
	var ch struct {
		ARN string `json:"arn"`
	}
	admin(t, "POST", "channels", map[string]interface{}{"name": name, "storage": storage}, &ch)
	return ch.ARN
}

// testConfig is a Config with everything given explicitly (the examples use the environment).
func testConfig() kvsws.Config {
	return kvsws.Config{
		Region:          emu.Region,
		CABundle:        emu.CABundle,
		AccessKeyID:     emu.AccessKeyID,
		SecretAccessKey: emu.SecretAccessKey,
		RetryBaseDelay:  10 * time.Millisecond,
	}
}

// newClient resets the emulator and returns a client closed when the test ends.
func newClient(t testing.TB, edit ...func(*kvsws.Config)) *kvsws.Client {
	t.Helper()
	resetEmulator(t)
	cfg := testConfig()
	for _, f := range edit {
		f(&cfg)
	}
	c, err := kvsws.NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// unsetenv unsets variables for one test and restores them after it.
func unsetenv(t *testing.T, names ...string) {
	t.Helper()
	for _, name := range names {
		if old, ok := os.LookupEnv(name); ok {
			t.Setenv(name, old) // registers the restore, and marks the test as not parallel
			os.Unsetenv(name)
		}
	}
}
