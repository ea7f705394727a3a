// SPDX-License-Identifier: Apache-2.0

package kvsws_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	kvsws "github.com/kvsws/kvsws/go"
	"github.com/kvsws/kvsws/go/kvswstest"
)

const iotAlias = "GoCameraRoleAlias"

// iotThing registers a thing (device certificate and key from the emulator's CA) and the alias.
func iotThing(t *testing.T, name string, lifetime time.Duration) kvswstest.IoTThing {
	t.Helper()
	emu.Must(t).Reset()
	if err := emu.AddIoTRoleAlias(iotAlias, lifetime); err != nil {
		t.Fatal(err)
	}
	th, err := emu.AddIoTThing(name)
	if err != nil {
		t.Fatal(err)
	}
	return th
}

// setIoTEnv leaves only the six IoT variables, the region and the control plane's endpoint:
// no keys, no AWS_CA_BUNDLE (AWS_KVS_CACERT_PATH is the CA file, as in the KVS C SDK).
func setIoTEnv(t *testing.T, th kvswstest.IoTThing) {
	t.Helper()
	for _, name := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_CA_BUNDLE"} {
		name := name // go.mod says 1.19: one variable for every iteration otherwise
		if old, ok := os.LookupEnv(name); ok {
			os.Unsetenv(name)
			t.Cleanup(func() { os.Setenv(name, old) })
		}
	}
	t.Setenv("AWS_REGION", emu.Region)
	for k, v := range emu.IoTEnv(th, iotAlias) {
		t.Setenv(k, v)
	}
}

// issuedByIoT says whether the emulator's IoT stand-in issued the access key.
func issuedByIoT(t *testing.T, key string) bool {
	var st struct {
		Issued []struct {
			AccessKeyID string `json:"access_key_id"`
		} `json:"issued"`
	}
	emu.Must(t).Admin("GET", "iot", nil, &st)
	for _, i := range st.Issued {
		if i.AccessKeyID == key {
			return true
		}
	}
	return false
}

func lastRequest(t *testing.T, operation string) kvswstest.Request {
	t.Helper()
	reqs := emu.Must(t).State().Requests
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Operation == operation {
			return reqs[i]
		}
	}
	t.Fatalf("no %s request", operation)
	return kvswstest.Request{}
}

// A client and a storage session configured only by the six variables: the calls and the
// WebSocket are signed with credentials from the IoT stand-in, fetched once over mutual TLS.
func TestIoTCredentialsFromTheEnvironment(t *testing.T) {
	th := iotThing(t, "go-camera-env", 0)
	setIoTEnv(t, th)
	c, err := kvsws.NewClient(kvsws.Config{RetryBaseDelay: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if _, err := c.DescribeSignalingChannel(ctx, &kvsws.DescribeSignalingChannelInput{ChannelName: "demo-channel"}); err != nil {
		t.Fatal(err)
	}
	if key := lastRequest(t, "DescribeSignalingChannel").AccessKeyID; !issuedByIoT(t, key) {
		t.Errorf("DescribeSignalingChannel signed with %s, not an IoT-issued key", key)
	}

	s := newSession(t, c, ctx, "go-iot-session")
	offer, _ := until(t, s, kvsws.EventOffer, 15*time.Second)
	if !strings.Contains(offer.SDP, "H264/90000") {
		t.Errorf("offer = %.200q", offer.SDP)
	}
	up := lastRequest(t, "ConnectAsMaster")
	if !up.Verified || !issuedByIoT(t, up.AccessKeyID) {
		t.Errorf("the WebSocket upgrade: %+v", up)
	}
	s.Close()
	if n := emu.Must(t).Calls("AssumeRoleWithCertificate"); n != 1 {
		t.Errorf("%d credential fetches, want 1", n)
	}
}

// Config.IoT, with credentials due for a refresh 2 s after they are issued: fetched again.
func TestIoTConfigRefreshes(t *testing.T) {
	th := iotThing(t, "go-camera-config", 302*time.Second)
	c := newClient(t, func(cfg *kvsws.Config) {
		cfg.AccessKeyID, cfg.SecretAccessKey = "", ""
		cfg.IoT = &kvsws.IoTConfig{CredentialEndpoint: "https://" + emu.IoTEndpoint, CertFile: th.CertFile,
			PrivateKeyFile: th.KeyFile, RoleAlias: iotAlias, ThingName: th.ThingName, CAFile: emu.CABundle}
	})
	ctx := context.Background()
	describe := func() string {
		if _, err := c.DescribeSignalingChannel(ctx, &kvsws.DescribeSignalingChannelInput{ChannelName: "demo-channel"}); err != nil {
			t.Fatal(err)
		}
		return lastRequest(t, "DescribeSignalingChannel").AccessKeyID
	}
	first := describe()
	if describe() != first || emu.Must(t).Calls("AssumeRoleWithCertificate") != 1 {
		t.Errorf("fresh credentials were fetched again")
	}
	time.Sleep(2500 * time.Millisecond)
	if second := describe(); second == first || !issuedByIoT(t, second) {
		t.Errorf("after the refresh point: %s (first %s)", second, first)
	}
	if n := emu.Must(t).Calls("AssumeRoleWithCertificate"); n != 2 {
		t.Errorf("%d credential fetches, want 2", n)
	}
}

// A 403 and a key that cannot be read: typed errors that name the answer or the file.
func TestIoTErrors(t *testing.T) {
	th := iotThing(t, "go-camera-errors", 0)
	setIoTEnv(t, th)
	emu.Must(t).Admin("POST", "iot/faults", map[string]any{"code": "ForbiddenException"}, nil)
	c, err := kvsws.NewClient(kvsws.Config{MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.DescribeSignalingChannel(context.Background(), &kvsws.DescribeSignalingChannelInput{ChannelName: "demo-channel"})
	var cre *kvsws.CredentialRetrievalError
	if !errors.As(err, &cre) || !strings.Contains(err.Error(), "HTTP 403: Access Denied") {
		t.Errorf("403: %T %v", err, err)
	}

	_, err = kvsws.NewClient(kvsws.Config{IoT: &kvsws.IoTConfig{CredentialEndpoint: emu.IoTEndpoint,
		CertFile: th.CertFile, PrivateKeyFile: "/nonexistent/device.key", RoleAlias: iotAlias, ThingName: th.ThingName}})
	var pv *kvsws.ParamValidationError
	if !errors.As(err, &pv) || !strings.Contains(err.Error(), `Cannot read the private key (KVSWS_OPT_IOT_PRIVATE_KEY_FILE) "/nonexistent/device.key"`) {
		t.Errorf("unreadable key: %T %v", err, err)
	}
	if n := emu.Must(t).Calls("AssumeRoleWithCertificate"); n != 1 {
		t.Errorf("%d credential fetches, want 1 (the 403)", n)
	}
}
