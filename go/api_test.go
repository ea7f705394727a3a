// SPDX-License-Identifier: Apache-2.0

package kvsws_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kvsws "github.com/kvsws/kvsws/go"
)

func checkMetadata(t *testing.T, op string, md kvsws.Metadata, attempts int) {
	t.Helper()
	if md.HTTPStatusCode != 200 || md.RequestID == "" || md.Attempts != attempts {
		t.Errorf("%s: ResultMetadata = %+v, want HTTP 200, a request id and %d attempt(s)", op, md, attempts)
	}
}

func TestEveryOperation(t *testing.T) {
	ctx := context.Background()
	arn := emu.Must(t).AddChannel("go-ops", true)
	c := newClient(t)

	if c.Region() != "us-west-2" {
		t.Errorf("Region() = %q", c.Region())
	}

	t.Run("DescribeSignalingChannel", func(t *testing.T) {
		before := time.Now()
		out, err := c.DescribeSignalingChannel(ctx, &kvsws.DescribeSignalingChannelInput{ChannelARN: arn})
		if err != nil {
			t.Fatal(err)
		}
		checkMetadata(t, "DescribeSignalingChannel", out.ResultMetadata, 1)
		ci := out.ChannelInfo
		if ci == nil || ci.ChannelARN != arn || ci.ChannelName != "go-ops" ||
			ci.ChannelType != kvsws.ChannelTypeSingleMaster || ci.ChannelStatus != kvsws.ChannelStatusActive ||
			ci.SingleMasterConfiguration == nil || ci.SingleMasterConfiguration.MessageTtlSeconds != 60 ||
			ci.Version == "" {
			t.Fatalf("ChannelInfo = %+v", ci)
		}
		// The channel was created by this test (or an earlier run of it against this emulator).
		if ci.CreationTime.IsZero() || ci.CreationTime.After(before.Add(time.Minute)) ||
			ci.CreationTime.Before(before.Add(-time.Hour)) || ci.CreationTime.Location() != time.UTC {
			t.Errorf("CreationTime = %v", ci.CreationTime)
		}
		byName, err := c.DescribeSignalingChannel(ctx, &kvsws.DescribeSignalingChannelInput{ChannelName: "go-ops"})
		if err != nil || byName.ChannelInfo.ChannelARN != arn {
			t.Fatalf("by name: %+v, %v", byName, err)
		}
	})

	t.Run("DescribeMediaStorageConfiguration", func(t *testing.T) {
		out, err := c.DescribeMediaStorageConfiguration(ctx, &kvsws.DescribeMediaStorageConfigurationInput{ChannelARN: arn})
		if err != nil {
			t.Fatal(err)
		}
		checkMetadata(t, "DescribeMediaStorageConfiguration", out.ResultMetadata, 1)
		msc := out.MediaStorageConfiguration
		if msc == nil || msc.Status != kvsws.MediaStorageConfigurationStatusEnabled ||
			msc.StreamARN == nil || !strings.Contains(*msc.StreamARN, ":stream/") {
			t.Fatalf("MediaStorageConfiguration = %+v", msc)
		}
		off := emu.Must(t).AddChannel("go-ops-no-storage", false)
		out, err = c.DescribeMediaStorageConfiguration(ctx, &kvsws.DescribeMediaStorageConfigurationInput{ChannelARN: off})
		if err != nil {
			t.Fatal(err)
		}
		if msc := out.MediaStorageConfiguration; msc.Status != kvsws.MediaStorageConfigurationStatusDisabled || msc.StreamARN != nil {
			t.Fatalf("without storage: %+v", msc)
		}
	})

	t.Run("GetSignalingChannelEndpoint", func(t *testing.T) {
		out, err := c.GetSignalingChannelEndpoint(ctx, &kvsws.GetSignalingChannelEndpointInput{
			ChannelARN: arn,
			SingleMasterChannelEndpointConfiguration: &kvsws.SingleMasterChannelEndpointConfiguration{
				Protocols: []kvsws.ChannelProtocol{kvsws.ChannelProtocolWss, kvsws.ChannelProtocolHttps, kvsws.ChannelProtocolWebrtc},
				Role:      kvsws.ChannelRoleMaster,
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		checkMetadata(t, "GetSignalingChannelEndpoint", out.ResultMetadata, 1)
		got := map[kvsws.ChannelProtocol]string{}
		for _, e := range out.ResourceEndpointList {
			got[e.Protocol] = e.ResourceEndpoint
		}
		if len(got) != 3 || !strings.HasPrefix(got[kvsws.ChannelProtocolWss], "wss://") ||
			got[kvsws.ChannelProtocolHttps] != emu.Endpoint || got[kvsws.ChannelProtocolWebrtc] != emu.Endpoint {
			t.Fatalf("ResourceEndpointList = %+v", out.ResourceEndpointList)
		}
		// Without a configuration: the service's default (WSS and HTTPS).
		out, err = c.GetSignalingChannelEndpoint(ctx, &kvsws.GetSignalingChannelEndpointInput{ChannelARN: arn})
		if err != nil || len(out.ResourceEndpointList) != 2 {
			t.Fatalf("default protocols: %+v, %v", out, err)
		}
	})

	t.Run("GetIceServerConfig", func(t *testing.T) {
		out, err := c.GetIceServerConfig(ctx, &kvsws.GetIceServerConfigInput{ChannelARN: arn, ClientID: "viewer-1", Service: kvsws.ServiceTurn})
		if err != nil {
			t.Fatal(err)
		}
		checkMetadata(t, "GetIceServerConfig", out.ResultMetadata, 1)
		if len(out.IceServerList) == 0 {
			t.Fatal("no ICE servers")
		}
		for _, s := range out.IceServerList {
			if len(s.Uris) != 1 || s.Uris[0] != turnURI || !strings.Contains(s.Username, ":") ||
				s.Password == "" || s.Ttl != 300 {
				t.Errorf("IceServer = %+v", s)
			}
		}
	})

	t.Run("JoinStorageSession", func(t *testing.T) {
		joins := emu.Must(t).Calls("JoinStorageSession")
		out, err := c.JoinStorageSession(ctx, &kvsws.JoinStorageSessionInput{ChannelARN: arn})
		if err != nil {
			t.Fatal(err)
		}
		checkMetadata(t, "JoinStorageSession", out.ResultMetadata, 1)
		if n := emu.Must(t).Calls("JoinStorageSession"); n != joins+1 {
			t.Errorf("the emulator saw %d joins, want %d", n, joins+1)
		}
	})

	t.Run("JoinStorageSessionAsViewer", func(t *testing.T) {
		out, err := c.JoinStorageSessionAsViewer(ctx, &kvsws.JoinStorageSessionAsViewerInput{ChannelARN: arn, ClientID: "viewer-7"})
		if err != nil {
			t.Fatal(err)
		}
		checkMetadata(t, "JoinStorageSessionAsViewer", out.ResultMetadata, 1)
		if n := emu.Must(t).Calls("JoinStorageSessionAsViewer"); n != 1 {
			t.Errorf("the emulator saw %d viewer joins, want 1", n)
		}
	})

	// Every request was signed with the configured key and verified by the emulator.
	for _, r := range emu.Must(t).State().Requests {
		if !r.Verified || r.AccessKeyID != emu.AccessKeyID || r.Status != 200 {
			t.Errorf("request %+v", r)
		}
	}
}

func TestJoinFindsAndCachesTheWebRTCEndpoint(t *testing.T) {
	ctx := context.Background()
	c := newClient(t) // endpoints from AWS_ENDPOINT_URL_KINESIS_VIDEO only, as a user sets it
	for i := 0; i < 3; i++ {
		if _, err := c.JoinStorageSession(ctx, &kvsws.JoinStorageSessionInput{ChannelARN: demoARN}); err != nil {
			t.Fatal(err)
		}
	}
	if got := emu.Must(t).Calls("GetSignalingChannelEndpoint"); got != 1 {
		t.Errorf("GetSignalingChannelEndpoint was called %d times, want 1 (then cached)", got)
	}
	if got := emu.Must(t).Calls("JoinStorageSession"); got != 3 {
		t.Errorf("JoinStorageSession was called %d times, want 3", got)
	}

	// An explicit EndpointURL addresses the control plane only: the join still goes to the WEBRTC
	// endpoint the lookup returns.
	control := newClient(t, func(cfg *kvsws.Config) { cfg.EndpointURL = emu.Endpoint })
	if _, err := control.JoinStorageSession(ctx, &kvsws.JoinStorageSessionInput{ChannelARN: demoARN}); err != nil {
		t.Fatal(err)
	}
	if got := emu.Must(t).Calls("GetSignalingChannelEndpoint"); got != 1 {
		t.Errorf("with EndpointURL, GetSignalingChannelEndpoint was called %d times, want 1", got)
	}

	// The service's own variable names the WEBRTC endpoint: nothing is looked up.
	t.Setenv("AWS_ENDPOINT_URL_KINESIS_VIDEO_WEBRTC_STORAGE", emu.Endpoint)
	direct := newClient(t)
	if _, err := direct.JoinStorageSession(ctx, &kvsws.JoinStorageSessionInput{ChannelARN: demoARN}); err != nil {
		t.Fatal(err)
	}
	if got := emu.Must(t).Calls("GetSignalingChannelEndpoint"); got != 0 {
		t.Errorf("with AWS_ENDPOINT_URL_KINESIS_VIDEO_WEBRTC_STORAGE, GetSignalingChannelEndpoint was called %d times", got)
	}
}

func TestFailedLookupNamesGetSignalingChannelEndpoint(t *testing.T) {
	unknown := strings.Replace(demoARN, "/demo-channel/", "/go-never-made/", 1)
	c := newClient(t, func(cfg *kvsws.Config) { cfg.MaxAttempts = 1 })
	_, err := c.JoinStorageSession(context.Background(), &kvsws.JoinStorageSessionInput{ChannelARN: unknown})
	var opErr *kvsws.OperationError
	var notFound *kvsws.ResourceNotFoundException
	if !errors.As(err, &opErr) || !errors.As(err, &notFound) {
		t.Fatalf("err = %v, want an *OperationError wrapping ResourceNotFoundException", err)
	}
	if opErr.OperationName != "GetSignalingChannelEndpoint" || opErr.ServiceID != "Kinesis Video" {
		t.Errorf("operation %q in %q, want GetSignalingChannelEndpoint in Kinesis Video", opErr.OperationName, opErr.ServiceID)
	}
	reqs := emu.Must(t).State().Requests
	if len(reqs) != 1 || reqs[0].Operation != "GetSignalingChannelEndpoint" || reqs[0].RequestID != notFound.RequestID() {
		t.Errorf("the emulator recorded %+v; the error's request id is %q", reqs, notFound.RequestID())
	}
}

func TestJoinWithoutStorageSaysSo(t *testing.T) {
	off := emu.Must(t).AddChannel("go-no-storage", false)
	c := newClient(t, func(cfg *kvsws.Config) { cfg.MaxAttempts = 1 })
	_, err := c.JoinStorageSession(context.Background(), &kvsws.JoinStorageSessionInput{ChannelARN: off})
	var invalid *kvsws.InvalidArgumentException
	if !errors.As(err, &invalid) || !strings.Contains(invalid.ErrorMessage(), "media storage") {
		t.Fatalf("err = %v, want InvalidArgumentException about media storage", err)
	}
}

func TestRetriesAreVisible(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	emu.Must(t).Fault("DescribeSignalingChannel", map[string]interface{}{"status": 503, "count": 2})
	out, err := c.DescribeSignalingChannel(ctx, &kvsws.DescribeSignalingChannelInput{ChannelARN: demoARN})
	if err != nil {
		t.Fatal(err)
	}
	if out.ResultMetadata.Attempts != 3 || emu.Must(t).Calls("DescribeSignalingChannel") != 3 {
		t.Errorf("Attempts = %d, emulator calls = %d, want 3 and 3", out.ResultMetadata.Attempts, emu.Must(t).Calls("DescribeSignalingChannel"))
	}

	// Retries run out: the error says how many requests were sent.
	emu.Must(t).Reset()
	emu.Must(t).Fault("DescribeSignalingChannel", map[string]interface{}{"status": 503, "body": "html", "count": 3})
	_, err = c.DescribeSignalingChannel(ctx, &kvsws.DescribeSignalingChannelInput{ChannelARN: demoARN})
	var generic *kvsws.GenericAPIError
	if !errors.As(err, &generic) {
		t.Fatalf("err = %v, want *GenericAPIError", err)
	}
	if generic.HTTPStatusCode() != 503 || generic.Attempts() != 3 || !generic.Retryable() ||
		kvsws.StatusOf(err) != kvsws.StatusServiceUnavailable || generic.ErrorCode() == "" {
		t.Errorf("503: code %q, status %d, attempts %d, retryable %v, %v", generic.ErrorCode(),
			generic.HTTPStatusCode(), generic.Attempts(), generic.Retryable(), kvsws.StatusOf(err))
	}
	if !strings.Contains(err.Error(), "exceeded maximum number of attempts, 3, https response error StatusCode: 503") {
		t.Errorf("Error() = %q", err.Error())
	}
}

func TestJoinRetryPolicy(t *testing.T) {
	ctx := context.Background()
	in := &kvsws.JoinStorageSessionInput{ChannelARN: demoARN}

	c := newClient(t, func(cfg *kvsws.Config) { cfg.EndpointURL = emu.Endpoint })
	emu.Must(t).Fault("JoinStorageSession", map[string]interface{}{"throttle": true})
	out, err := c.JoinStorageSession(ctx, in)
	if err != nil || out.ResultMetadata.Attempts != 2 {
		t.Fatalf("retried join: %+v, %v; want success after 2 attempts", out, err)
	}

	noRetry := newClient(t, func(cfg *kvsws.Config) {
		cfg.EndpointURL = emu.Endpoint
		cfg.DisableJoinRetry = true
	})
	emu.Must(t).Fault("JoinStorageSession", map[string]interface{}{"status": 503})
	_, err = noRetry.JoinStorageSession(ctx, in)
	var apiErr kvsws.APIError
	if !errors.As(err, &apiErr) || apiErr.Attempts() != 1 || apiErr.HTTPStatusCode() != 503 {
		t.Fatalf("err = %v, want a 503 after 1 attempt", err)
	}
	if n := emu.Must(t).Calls("JoinStorageSession"); n != 1 {
		t.Errorf("the emulator saw %d joins, want 1", n)
	}
}

func TestSessionToken(t *testing.T) {
	ctx := context.Background()
	key, secret, token := "AKIDGOTOKENTEST", "go-token-secret-0123456789", "FwoGZXIvYXdzE+/=go-token"
	emu.Must(t).AddCredentials(key, secret, token)
	c := newClient(t, func(cfg *kvsws.Config) {
		cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken = key, secret, token
	})
	if _, err := c.DescribeSignalingChannel(ctx, &kvsws.DescribeSignalingChannelInput{ChannelARN: demoARN}); err != nil {
		t.Fatal(err)
	}
	wrong := newClient(t, func(cfg *kvsws.Config) {
		cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken = key, secret, "wrong"
	})
	_, err := wrong.DescribeSignalingChannel(ctx, &kvsws.DescribeSignalingChannelInput{ChannelARN: demoARN})
	var generic *kvsws.GenericAPIError
	if !errors.As(err, &generic) || generic.ErrorCode() != "UnrecognizedClientException" ||
		generic.HTTPStatusCode() != 403 || kvsws.StatusOf(err) != kvsws.StatusUnrecognizedClient {
		t.Fatalf("err = %v, want UnrecognizedClientException", err)
	}
}

func TestProfileFromSharedFiles(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	creds := filepath.Join(dir, "credentials")
	if err := os.WriteFile(config, []byte("[profile emu]\nregion = us-west-2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(creds, []byte("[emu]\naws_access_key_id = "+emu.AccessKeyID+
		"\naws_secret_access_key = "+emu.SecretAccessKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	unsetenv(t, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION")
	emu.Must(t).Reset()
	c, err := kvsws.NewClient(kvsws.Config{Profile: "emu", ConfigFile: config, SharedCredentialsFile: creds})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Region() != "us-west-2" {
		t.Errorf("Region() = %q, want the profile's", c.Region())
	}
	if _, err := c.DescribeSignalingChannel(context.Background(), &kvsws.DescribeSignalingChannelInput{ChannelName: "demo-channel"}); err != nil {
		t.Fatal(err)
	}
}

func TestUserAgentExtra(t *testing.T) {
	c := newClient(t, func(cfg *kvsws.Config) { cfg.UserAgentExtra = "go-test/1.0" })
	if _, err := c.DescribeSignalingChannel(context.Background(), &kvsws.DescribeSignalingChannelInput{ChannelARN: demoARN}); err != nil {
		t.Fatal(err)
	}
	reqs := emu.Must(t).State().Requests
	if len(reqs) != 1 || !strings.HasPrefix(reqs[0].UserAgent, "kvsws/"+kvsws.Version()) ||
		!strings.HasSuffix(reqs[0].UserAgent, " go-test/1.0") {
		t.Fatalf("requests = %+v", reqs)
	}
}

func TestStatusNamesMatchTheLibrary(t *testing.T) {
	want := map[kvsws.Status]string{
		kvsws.StatusOK:                    "KVSWS_OK",
		kvsws.StatusParamValidation:       "KVSWS_E_PARAM_VALIDATION",
		kvsws.StatusNoCredentials:         "KVSWS_E_NO_CREDENTIALS",
		kvsws.StatusNoRegion:              "KVSWS_E_NO_REGION",
		kvsws.StatusNoMemory:              "KVSWS_E_NO_MEMORY",
		kvsws.StatusCredentialRetrieval:   "KVSWS_E_CREDENTIAL_RETRIEVAL",
		kvsws.StatusCancelled:             "KVSWS_E_CANCELLED",
		kvsws.StatusInternal:              "KVSWS_E_INTERNAL",
		kvsws.StatusConfig:                "KVSWS_E_CONFIG",
		kvsws.StatusConnect:               "KVSWS_E_CONNECT",
		kvsws.StatusConnectTimeout:        "KVSWS_E_CONNECT_TIMEOUT",
		kvsws.StatusReadTimeout:           "KVSWS_E_READ_TIMEOUT",
		kvsws.StatusTLS:                   "KVSWS_E_TLS",
		kvsws.StatusBadResponse:           "KVSWS_E_BAD_RESPONSE",
		kvsws.StatusTransport:             "KVSWS_E_TRANSPORT",
		kvsws.StatusAccessDenied:          "KVSWS_E_ACCESS_DENIED",
		kvsws.StatusClientLimitExceeded:   "KVSWS_E_CLIENT_LIMIT_EXCEEDED",
		kvsws.StatusInvalidArgument:       "KVSWS_E_INVALID_ARGUMENT",
		kvsws.StatusResourceNotFound:      "KVSWS_E_RESOURCE_NOT_FOUND",
		kvsws.StatusResourceInUse:         "KVSWS_E_RESOURCE_IN_USE",
		kvsws.StatusNotAuthorized:         "KVSWS_E_NOT_AUTHORIZED",
		kvsws.StatusInvalidClient:         "KVSWS_E_INVALID_CLIENT",
		kvsws.StatusSessionExpired:        "KVSWS_E_SESSION_EXPIRED",
		kvsws.StatusThrottling:            "KVSWS_E_THROTTLING",
		kvsws.StatusInvalidSignature:      "KVSWS_E_INVALID_SIGNATURE",
		kvsws.StatusUnrecognizedClient:    "KVSWS_E_UNRECOGNIZED_CLIENT",
		kvsws.StatusExpiredToken:          "KVSWS_E_EXPIRED_TOKEN",
		kvsws.StatusMissingAuthentication: "KVSWS_E_MISSING_AUTHENTICATION",
		kvsws.StatusInternalFailure:       "KVSWS_E_INTERNAL_FAILURE",
		kvsws.StatusServiceUnavailable:    "KVSWS_E_SERVICE_UNAVAILABLE",
		kvsws.StatusRequestTimeout:        "KVSWS_E_REQUEST_TIMEOUT",
		kvsws.StatusServiceOther:          "KVSWS_E_SERVICE_OTHER",
		kvsws.StatusStorageNotEnabled:     "KVSWS_E_STORAGE_NOT_ENABLED",
		kvsws.StatusUnknown:               "KVSWS_E_UNKNOWN",
	}
	for s, name := range want {
		if s.String() != name {
			t.Errorf("Status(%d).String() = %q, want %q", int(s), s.String(), name)
		}
	}
	if v := kvsws.Version(); v == "" || strings.Count(v, ".") != 2 {
		t.Errorf("Version() = %q", v)
	}
}
