// SPDX-License-Identifier: Apache-2.0

package kvswstest_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kvsws/kvsws/go/kvswstest"
)

// The package's own checks (its calls are used throughout the kvsws Go tests and examples/go):
// start, what ready.json says, the environment, the admin calls, and Close cleaning up.
func TestEmulator(t *testing.T) {
	emu, err := kvswstest.StartEmulator(kvswstest.Options{Config: map[string]any{"record": false}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // after the cleanups registered later (Must(t).Reset's)
		emu.Close()
		if _, err := os.Stat(emu.StateDir); !os.IsNotExist(err) {
			t.Errorf("Close left %s (%v)", emu.StateDir, err)
		}
	})
	if !strings.HasPrefix(emu.Endpoint, "https://127.0.0.1:") || emu.Region != "us-west-2" || emu.AccessKeyID == "" ||
		emu.SecretAccessKey == "" || emu.Channels["demo-channel"] == "" || len(emu.TURNURIs) == 0 {
		t.Fatalf("emulator = %+v", emu)
	}
	if _, err := os.Stat(emu.CABundle); err != nil {
		t.Fatal(err)
	}

	env := strings.Join(emu.Environ([]string{"HOME=/home/me", "AWS_PROFILE=prod", "AWS_SESSION_TOKEN=x"}), "\n")
	for _, want := range []string{"HOME=/home/me", "AWS_ENDPOINT_URL_KINESIS_VIDEO=" + emu.Endpoint,
		"AWS_CA_BUNDLE=" + emu.CABundle, "AWS_REGION=us-west-2", "AWS_ACCESS_KEY_ID=" + emu.AccessKeyID} {
		if !strings.Contains(env+"\n", want+"\n") {
			t.Errorf("Environ has no %s:\n%s", want, env)
		}
	}
	if strings.Contains(env, "AWS_PROFILE") || strings.Contains(env, "AWS_SESSION_TOKEN") {
		t.Errorf("Environ kept the developer's AWS_*:\n%s", env)
	}

	e := emu.Must(t)
	e.Reset()
	arn := e.AddChannel("kvswstest-channel", true)
	if !strings.Contains(arn, ":channel/kvswstest-channel/") {
		t.Errorf("AddChannel = %q", arn)
	}
	e.Fault("JoinStorageSession", map[string]any{"status": 503, "count": 1})
	e.AddCredentials("AKIDKVSWSTEST", "kvswstest-secret", "")
	if n := e.Calls(""); n != 0 {
		t.Errorf("Calls = %d before any call", n)
	}
	if s := e.State(); len(s.Requests) != 0 {
		t.Errorf("State = %+v", s)
	}
	if s := e.Sessions("kvswstest-channel"); len(s) != 0 {
		t.Errorf("Sessions = %+v", s)
	}
	if _, err := emu.WaitForMedia("kvswstest-channel", 0, 1, 200*time.Millisecond); err == nil {
		t.Error("WaitForMedia: no error without a session")
	}
	if err := emu.Fault("NoSuchOperation", nil); err == nil || !strings.Contains(err.Error(), "HTTP 400") {
		t.Errorf("Fault(NoSuchOperation) = %v, want the emulator's HTTP 400", err)
	}
	if !strings.Contains(emu.Log(), "listening on "+emu.Endpoint) {
		t.Errorf("log:\n%s", emu.Log())
	}
}
