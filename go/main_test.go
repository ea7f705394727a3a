// SPDX-License-Identifier: Apache-2.0

package kvsws_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	kvsws "github.com/kvsws/kvsws/go"
	"github.com/kvsws/kvsws/go/kvswstest"
)

// The emulator every test talks to (tests/emulator, run by kvswstest), started by TestMain: HTTPS on
// loopback with its own CA, SigV4 checked by botocore, errors as AWS sends them, faults on demand.
var emu *kvswstest.Emulator

// turnURI is the TURN server the emulator's GetIceServerConfig returns.
const turnURI = "turn:127.0.0.1:3478?transport=udp"

// demoARN is the emulator's default channel with media storage (its ARN is fixed).
const demoARN = "arn:aws:kinesisvideo:us-west-2:123456789012:channel/demo-channel/1234567890123"

// TestMain starts the emulator, points the environment at it the way a user would, and runs
// the tests and examples. Without Python or the emulator it fails: CI must not pass silently.
// KVSWS_PYTHON (default ../.venv/bin/python) and KVSWS_EMULATOR_DIR (default ../tests/emulator)
// say which Python and which emulator to run (see kvswstest.Options).
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	// The default channels and keys; a fixed TURN URI (no built-in TURN server needed).
	emu, err = kvswstest.StartEmulator(kvswstest.Options{
		Config:    map[string]any{"turn": map[string]any{"uris": []string{turnURI}}},
		ExtraArgs: []string{"--iot-port", "0"}, // the AWS IoT credentials provider (iot_test.go)
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "kvsws Go tests: cannot start the emulator: %v\n", err)
		return 1
	}
	defer emu.Close()

	// As a user points an SDK at the emulator (the examples rely on it); nothing from the
	// developer's shell or ~/.aws. No AWS_REGION: the tests give the region, or test its absence.
	emu.Setenv()
	os.Unsetenv("AWS_REGION")

	code := m.Run()
	if code != 0 {
		emu.WriteLogTail(os.Stderr, 8000)
	}
	return code
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
	emu.Must(t).Reset()
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
