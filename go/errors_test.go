// SPDX-License-Identifier: Apache-2.0

package kvsws_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kvsws "github.com/kvsws/kvsws/go"
)

// Modelled errors per operation, with the HTTP status the service models give them.
var (
	storageErrors = map[string]int{"ClientLimitExceededException": 400, "InvalidArgumentException": 400,
		"AccessDeniedException": 403, "ResourceNotFoundException": 404}
	controlErrors = map[string]int{"ClientLimitExceededException": 400, "InvalidArgumentException": 400,
		"AccessDeniedException": 401, "ResourceNotFoundException": 404}
	endpointErrors = map[string]int{"ClientLimitExceededException": 400, "InvalidArgumentException": 400,
		"AccessDeniedException": 401, "ResourceNotFoundException": 404, "ResourceInUseException": 400}
	iceErrors = map[string]int{"ClientLimitExceededException": 400, "InvalidArgumentException": 400,
		"ResourceNotFoundException": 404, "NotAuthorizedException": 401, "InvalidClientException": 400,
		"SessionExpiredException": 400}
)

// operations calls each operation with a valid input.
var operations = []struct {
	name, service string
	errors        map[string]int
	call          func(context.Context, *kvsws.Client, string) error
}{
	{"JoinStorageSession", "Kinesis Video WebRTC Storage", storageErrors,
		func(ctx context.Context, c *kvsws.Client, arn string) error {
			_, err := c.JoinStorageSession(ctx, &kvsws.JoinStorageSessionInput{ChannelARN: arn})
			return err
		}},
	{"JoinStorageSessionAsViewer", "Kinesis Video WebRTC Storage", storageErrors,
		func(ctx context.Context, c *kvsws.Client, arn string) error {
			_, err := c.JoinStorageSessionAsViewer(ctx, &kvsws.JoinStorageSessionAsViewerInput{ChannelARN: arn, ClientID: "viewer-1"})
			return err
		}},
	{"GetSignalingChannelEndpoint", "Kinesis Video", endpointErrors,
		func(ctx context.Context, c *kvsws.Client, arn string) error {
			_, err := c.GetSignalingChannelEndpoint(ctx, &kvsws.GetSignalingChannelEndpointInput{ChannelARN: arn})
			return err
		}},
	{"DescribeSignalingChannel", "Kinesis Video", controlErrors,
		func(ctx context.Context, c *kvsws.Client, arn string) error {
			_, err := c.DescribeSignalingChannel(ctx, &kvsws.DescribeSignalingChannelInput{ChannelARN: arn})
			return err
		}},
	{"DescribeMediaStorageConfiguration", "Kinesis Video", controlErrors,
		func(ctx context.Context, c *kvsws.Client, arn string) error {
			_, err := c.DescribeMediaStorageConfiguration(ctx, &kvsws.DescribeMediaStorageConfigurationInput{ChannelARN: arn})
			return err
		}},
	{"GetIceServerConfig", "Kinesis Video Signaling", iceErrors,
		func(ctx context.Context, c *kvsws.Client, arn string) error {
			_, err := c.GetIceServerConfig(ctx, &kvsws.GetIceServerConfigInput{ChannelARN: arn, ClientID: "me"})
			return err
		}},
}

// as is errors.As for a type, returning the match as an APIError.
func as[T kvsws.APIError](err error) (kvsws.APIError, bool) {
	var target T
	if errors.As(err, &target) {
		return target, true
	}
	return nil, false
}

// modelled is how to recognise each modelled error type, and its stable status.
var modelled = map[string]struct {
	match  func(error) (kvsws.APIError, bool)
	status kvsws.Status
}{
	"AccessDeniedException":        {as[*kvsws.AccessDeniedException], kvsws.StatusAccessDenied},
	"ClientLimitExceededException": {as[*kvsws.ClientLimitExceededException], kvsws.StatusClientLimitExceeded},
	"InvalidArgumentException":     {as[*kvsws.InvalidArgumentException], kvsws.StatusInvalidArgument},
	"ResourceNotFoundException":    {as[*kvsws.ResourceNotFoundException], kvsws.StatusResourceNotFound},
	"ResourceInUseException":       {as[*kvsws.ResourceInUseException], kvsws.StatusResourceInUse},
	"NotAuthorizedException":       {as[*kvsws.NotAuthorizedException], kvsws.StatusNotAuthorized},
	"InvalidClientException":       {as[*kvsws.InvalidClientException], kvsws.StatusInvalidClient},
	"SessionExpiredException":      {as[*kvsws.SessionExpiredException], kvsws.StatusSessionExpired},
	"GenericAPIError":              {as[*kvsws.GenericAPIError], kvsws.StatusServiceOther},
}

func TestEveryModelledError(t *testing.T) {
	ctx := context.Background()
	// The channel's endpoints named too, so nothing is discovered: one request per call.
	t.Setenv("AWS_ENDPOINT_URL_KINESIS_VIDEO_WEBRTC_STORAGE", emu.Endpoint)
	t.Setenv("AWS_ENDPOINT_URL_KINESIS_VIDEO_SIGNALING", emu.Endpoint)
	c := newClient(t, func(cfg *kvsws.Config) {
		cfg.EndpointURL = emu.Endpoint
		cfg.MaxAttempts = 1 // ClientLimitExceededException would be retried
	})
	pairs := 0
	for _, op := range operations {
		for name, httpStatus := range op.errors {
			op, name, httpStatus := op, name, httpStatus
			pairs++
			t.Run(op.name+"/"+name, func(t *testing.T) {
				emu.Must(t).Reset()
				message := "injected " + name + " for " + op.name
				emu.Must(t).Fault(op.name, map[string]interface{}{"error": name, "message": message})
				err := op.call(ctx, c, demoARN)
				if err == nil {
					t.Fatal("no error")
				}

				var opErr *kvsws.OperationError
				if !errors.As(err, &opErr) || opErr.OperationName != op.name || opErr.ServiceID != op.service ||
					opErr.Operation() != op.name || opErr.Service() != op.service {
					t.Fatalf("err = %#v, want an *OperationError for %s", err, op.name)
				}
				apiErr, ok := modelled[name].match(err)
				if !ok {
					t.Fatalf("errors.As(%v) to the %s type failed", err, name)
				}
				for other, m := range modelled {
					if _, ok := m.match(err); ok && other != name {
						t.Errorf("errors.As also matched %s", other)
					}
				}
				var viaInterface kvsws.APIError
				if !errors.As(err, &viaInterface) || viaInterface != apiErr {
					t.Errorf("errors.As to APIError failed")
				}
				if apiErr.ErrorCode() != name || apiErr.ErrorMessage() != message ||
					apiErr.HTTPStatusCode() != httpStatus || apiErr.RequestID() == "" || apiErr.Attempts() != 1 {
					t.Errorf("code %q message %q status %d request id %q attempts %d; want %q %q %d, an id, 1",
						apiErr.ErrorCode(), apiErr.ErrorMessage(), apiErr.HTTPStatusCode(), apiErr.RequestID(),
						apiErr.Attempts(), name, message, httpStatus)
				}
				if name != "ClientLimitExceededException" && apiErr.Retryable() {
					t.Errorf("%s is not retryable", name)
				}
				if got := kvsws.StatusOf(err); got != modelled[name].status {
					t.Errorf("StatusOf = %v, want %v", got, modelled[name].status)
				}
				want := fmt.Sprintf("operation error %s: %s, https response error StatusCode: %d, RequestID: %s, %s: %s",
					op.service, op.name, httpStatus, apiErr.RequestID(), name, message)
				if err.Error() != want {
					t.Errorf("Error() = %q\nwant      %q", err.Error(), want)
				}
				reqs := emu.Must(t).State().Requests
				if len(reqs) != 1 || reqs[0].Operation != op.name || reqs[0].Status != httpStatus || reqs[0].Error != name {
					t.Errorf("the emulator recorded %+v", reqs)
				}
			})
		}
	}
	if pairs != 27 {
		t.Errorf("%d (operation, error) pairs, want 27", pairs)
	}
}

func TestGenericAPIError(t *testing.T) {
	c := newClient(t, func(cfg *kvsws.Config) { cfg.MaxAttempts = 1 })
	emu.Must(t).Fault("DescribeSignalingChannel", map[string]interface{}{"error": "ThrottlingException", "message": "Rate exceeded"})
	_, err := c.DescribeSignalingChannel(context.Background(), &kvsws.DescribeSignalingChannelInput{ChannelARN: demoARN})
	var generic *kvsws.GenericAPIError
	if !errors.As(err, &generic) {
		t.Fatalf("err = %v, want *GenericAPIError", err)
	}
	if generic.ErrorCode() != "ThrottlingException" || generic.ErrorMessage() != "Rate exceeded" ||
		generic.HTTPStatusCode() != 400 || !generic.Retryable() || kvsws.StatusOf(err) != kvsws.StatusThrottling {
		t.Errorf("%q %q %d %v %v", generic.ErrorCode(), generic.ErrorMessage(), generic.HTTPStatusCode(),
			generic.Retryable(), kvsws.StatusOf(err))
	}
}

func TestParamValidationBeforeIO(t *testing.T) {
	ctx := context.Background()
	c := newClient(t) // endpoint discovery on: not even GetSignalingChannelEndpoint may be called
	cases := []struct {
		name, field string
		call        func() error
	}{
		{"bad ARN", "channelArn", func() error {
			_, err := c.JoinStorageSession(ctx, &kvsws.JoinStorageSessionInput{ChannelARN: "arn:nope"})
			return err
		}},
		{"nil input", "channelArn", func() error { _, err := c.JoinStorageSession(ctx, nil); return err }},
		{"bad client id", "clientId", func() error {
			_, err := c.JoinStorageSessionAsViewer(ctx, &kvsws.JoinStorageSessionAsViewerInput{ChannelARN: demoARN, ClientID: "bad id"})
			return err
		}},
		{"bad role", "Role", func() error {
			_, err := c.GetSignalingChannelEndpoint(ctx, &kvsws.GetSignalingChannelEndpointInput{ChannelARN: demoARN,
				SingleMasterChannelEndpointConfiguration: &kvsws.SingleMasterChannelEndpointConfiguration{Role: "OWNER"}})
			return err
		}},
		{"bad protocol", "Protocols", func() error {
			_, err := c.GetSignalingChannelEndpoint(ctx, &kvsws.GetSignalingChannelEndpointInput{ChannelARN: demoARN,
				SingleMasterChannelEndpointConfiguration: &kvsws.SingleMasterChannelEndpointConfiguration{Protocols: []kvsws.ChannelProtocol{"FTP"}}})
			return err
		}},
		{"neither ARN nor name", "ChannelName", func() error {
			_, err := c.DescribeSignalingChannel(ctx, &kvsws.DescribeSignalingChannelInput{})
			return err
		}},
		{"bad name", "ChannelName", func() error {
			_, err := c.DescribeMediaStorageConfiguration(ctx, &kvsws.DescribeMediaStorageConfigurationInput{ChannelName: "bad name!"})
			return err
		}},
		{"bad service", "Service", func() error {
			_, err := c.GetIceServerConfig(ctx, &kvsws.GetIceServerConfigInput{ChannelARN: demoARN, Service: "STUN"})
			return err
		}},
	}
	for _, tc := range cases {
		err := tc.call()
		var pv *kvsws.ParamValidationError
		if !errors.As(err, &pv) {
			t.Errorf("%s: err = %v, want *ParamValidationError", tc.name, err)
			continue
		}
		if !strings.Contains(pv.Error(), tc.field) || pv.Attempts() != 0 || pv.Retryable() ||
			kvsws.StatusOf(err) != kvsws.StatusParamValidation {
			t.Errorf("%s: %q (attempts %d), want the field %s named", tc.name, pv.Error(), pv.Attempts(), tc.field)
		}
		var apiErr kvsws.APIError
		if errors.As(err, &apiErr) {
			t.Errorf("%s: a validation error is not an APIError", tc.name)
		}
	}
	if n := emu.Must(t).Calls(""); n != 0 {
		t.Errorf("the emulator got %d requests; validation must happen before any I/O", n)
	}
}

func TestNoCredentials(t *testing.T) {
	unsetenv(t, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
	emu.Must(t).Reset()
	c, err := kvsws.NewClient(kvsws.Config{Region: emu.Region})
	if err != nil {
		t.Fatal(err) // credentials are looked up on the first call
	}
	defer c.Close()
	_, err = c.DescribeSignalingChannel(context.Background(), &kvsws.DescribeSignalingChannelInput{ChannelARN: demoARN})
	var nc *kvsws.NoCredentialsError
	if !errors.As(err, &nc) || !strings.Contains(err.Error(), "Unable to locate credentials") ||
		kvsws.StatusOf(err) != kvsws.StatusNoCredentials {
		t.Fatalf("err = %v, want *NoCredentialsError", err)
	}
	if n := emu.Must(t).Calls(""); n != 0 {
		t.Errorf("the emulator got %d requests", n)
	}
}

func TestNoRegion(t *testing.T) {
	unsetenv(t, "AWS_REGION", "AWS_DEFAULT_REGION")
	c, err := kvsws.NewClient(kvsws.Config{})
	var nr *kvsws.NoRegionError
	if c != nil || !errors.As(err, &nr) || kvsws.StatusOf(err) != kvsws.StatusNoRegion {
		t.Fatalf("NewClient = %v, %v; want *NoRegionError", c, err)
	}
	// From the environment, as the SDKs read it.
	t.Setenv("AWS_DEFAULT_REGION", "eu-west-1")
	c, err = kvsws.NewClient(kvsws.Config{})
	if err != nil || c.Region() != "eu-west-1" {
		t.Fatalf("with AWS_DEFAULT_REGION: %v, %v", c, err)
	}
	c.Close()
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*kvsws.Config)
		check func(error) bool
	}{
		{"MaxAttempts out of range", func(c *kvsws.Config) { c.MaxAttempts = 50 }, func(err error) bool {
			var ce *kvsws.ConfigError
			return errors.As(err, &ce) && ce.Field == "MaxAttempts" && strings.Contains(err.Error(), "Config.MaxAttempts")
		}},
		{"negative timeout", func(c *kvsws.Config) { c.ReadTimeout = -time.Second }, func(err error) bool {
			var ce *kvsws.ConfigError
			return errors.As(err, &ce) && ce.Field == "ReadTimeout"
		}},
		{"negative request timeout", func(c *kvsws.Config) { c.RequestTimeout = -time.Second }, func(err error) bool {
			var ce *kvsws.ConfigError
			return errors.As(err, &ce) && ce.Field == "RequestTimeout"
		}},
		{"request timeout over an hour", func(c *kvsws.Config) { c.RequestTimeout = 2 * time.Hour }, func(err error) bool {
			var ce *kvsws.ConfigError
			return errors.As(err, &ce) && ce.Field == "RequestTimeout"
		}},
		{"timeout too long", func(c *kvsws.Config) { c.ConnectTimeout = 2 * time.Hour }, func(err error) bool {
			var ce *kvsws.ConfigError
			return errors.As(err, &ce) && ce.Field == "ConnectTimeout"
		}},
		{"bad FIPS state", func(c *kvsws.Config) { c.UseFIPSEndpoint = 7 }, func(err error) bool {
			var ce *kvsws.ConfigError
			return errors.As(err, &ce) && ce.Field == "UseFIPSEndpoint"
		}},
		{"partial credentials", func(c *kvsws.Config) { c.SecretAccessKey = "" }, func(err error) bool {
			var pv *kvsws.ParamValidationError
			return errors.As(err, &pv) && strings.Contains(err.Error(), "Partial credentials")
		}},
		{"unreadable CA bundle", func(c *kvsws.Config) { c.CABundle = "/nonexistent/ca.pem" }, func(err error) bool {
			var pv *kvsws.ParamValidationError
			return errors.As(err, &pv) && strings.Contains(err.Error(), "/nonexistent/ca.pem")
		}},
		{"bad endpoint URL", func(c *kvsws.Config) { c.EndpointURL = "ftp://example.com" }, func(err error) bool {
			var pv *kvsws.ParamValidationError
			return errors.As(err, &pv) && strings.Contains(err.Error(), "ftp://example.com")
		}},
	}
	for _, tc := range cases {
		cfg := testConfig()
		tc.edit(&cfg)
		c, err := kvsws.NewClient(cfg)
		if c != nil || !tc.check(err) {
			t.Errorf("%s: NewClient = %v, %v", tc.name, c, err)
		}
	}
	t.Setenv("AWS_MAX_ATTEMPTS", "many")
	_, err := kvsws.NewClient(testConfig())
	var ce *kvsws.ConfigError
	if !errors.As(err, &ce) || ce.Field != "" || !strings.Contains(err.Error(), "AWS_MAX_ATTEMPTS") ||
		kvsws.StatusOf(err) != kvsws.StatusConfig {
		t.Errorf("AWS_MAX_ATTEMPTS=many: %v", err)
	}
}

func TestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	c := newClient(t, func(cfg *kvsws.Config) {
		cfg.EndpointURL = "https://" + addr
		cfg.MaxAttempts = 2
	})
	_, err = c.DescribeSignalingChannel(context.Background(), &kvsws.DescribeSignalingChannelInput{ChannelARN: demoARN})
	var ce *kvsws.EndpointConnectionError
	if !errors.As(err, &ce) || !ce.Retryable() || ce.Attempts() != 2 || kvsws.StatusOf(err) != kvsws.StatusConnect {
		t.Fatalf("err = %v, want *EndpointConnectionError after 2 attempts", err)
	}
	if !strings.HasPrefix(err.Error(), "operation error Kinesis Video: DescribeSignalingChannel, exceeded maximum number of attempts, 2, ") ||
		!strings.Contains(err.Error(), addr) {
		t.Errorf("Error() = %q", err.Error())
	}
	var apiErr kvsws.APIError
	if errors.As(err, &apiErr) {
		t.Error("a connection error is not an APIError")
	}
}

func TestTLSIsVerified(t *testing.T) {
	// A CA that did not sign the emulator's certificate.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "not the emulator's CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, func(cfg *kvsws.Config) {
		cfg.CABundle = ca
		cfg.MaxAttempts = 1
	})
	_, err = c.DescribeSignalingChannel(context.Background(), &kvsws.DescribeSignalingChannelInput{ChannelARN: demoARN})
	var te *kvsws.TLSError
	if !errors.As(err, &te) || kvsws.StatusOf(err) != kvsws.StatusTLS {
		t.Fatalf("err = %v, want *TLSError", err)
	}
	if n := emu.Must(t).Calls(""); n != 0 {
		t.Errorf("the emulator answered %d requests over an unverified connection", n)
	}
}

// A byte every 100 ms is never silent for the 5 s read timeout: the 800 ms request timeout
// ends the answer, as a retryable read *TimeoutError.
func TestRequestTimeoutEndsATrickledAnswer(t *testing.T) {
	c := newClient(t, func(cfg *kvsws.Config) {
		cfg.ReadTimeout = 5 * time.Second
		cfg.RequestTimeout = 800 * time.Millisecond
		cfg.MaxAttempts = 1
	})
	emu.Must(t).Fault("DescribeSignalingChannel", map[string]interface{}{"trickle_ms": 100})
	start := time.Now()
	_, err := c.DescribeSignalingChannel(context.Background(), &kvsws.DescribeSignalingChannelInput{ChannelARN: demoARN})
	elapsed := time.Since(start)
	var te *kvsws.TimeoutError
	if !errors.As(err, &te) || te.Connect || !te.Timeout() || !te.Retryable() || kvsws.StatusOf(err) != kvsws.StatusReadTimeout {
		t.Fatalf("err = %v, want a read *TimeoutError", err)
	}
	if !strings.Contains(err.Error(), "within the request timeout of 800 ms") {
		t.Errorf("err = %v, want it to name the request timeout", err)
	}
	if elapsed < 750*time.Millisecond || elapsed > 3*time.Second {
		t.Errorf("the call took %v with an 800 ms request timeout", elapsed)
	}
}

func TestReadTimeout(t *testing.T) {
	c := newClient(t, func(cfg *kvsws.Config) {
		cfg.ReadTimeout = 300 * time.Millisecond
		cfg.MaxAttempts = 1
	})
	emu.Must(t).Fault("DescribeSignalingChannel", map[string]interface{}{"delay_ms": 3000})
	start := time.Now()
	_, err := c.DescribeSignalingChannel(context.Background(), &kvsws.DescribeSignalingChannelInput{ChannelARN: demoARN})
	elapsed := time.Since(start)
	var te *kvsws.TimeoutError
	if !errors.As(err, &te) || te.Connect || !te.Timeout() || !te.Retryable() || kvsws.StatusOf(err) != kvsws.StatusReadTimeout {
		t.Fatalf("err = %v, want a read *TimeoutError", err)
	}
	if elapsed > 2*time.Second {
		t.Errorf("the call took %v with a 300 ms read timeout", elapsed)
	}
}

func TestDroppedConnection(t *testing.T) {
	c := newClient(t, func(cfg *kvsws.Config) { cfg.MaxAttempts = 1 })
	emu.Must(t).Fault("DescribeSignalingChannel", map[string]interface{}{"drop": true})
	_, err := c.DescribeSignalingChannel(context.Background(), &kvsws.DescribeSignalingChannelInput{ChannelARN: demoARN})
	var te *kvsws.TransportError
	if !errors.As(err, &te) || !te.Retryable() || kvsws.StatusOf(err) != kvsws.StatusTransport {
		t.Fatalf("err = %v (%v), want a retryable *TransportError", err, kvsws.StatusOf(err))
	}
	// With retries, the next attempt succeeds.
	c2 := newClient(t)
	emu.Must(t).Fault("DescribeSignalingChannel", map[string]interface{}{"drop": true})
	out, err := c2.DescribeSignalingChannel(context.Background(), &kvsws.DescribeSignalingChannelInput{ChannelARN: demoARN})
	if err != nil || out.ResultMetadata.Attempts != 2 {
		t.Fatalf("%+v, %v; want success after 2 attempts", out, err)
	}
}

func TestStatusOf(t *testing.T) {
	if kvsws.StatusOf(nil) != kvsws.StatusOK {
		t.Error("StatusOf(nil)")
	}
	if kvsws.StatusOf(errors.New("other")) != kvsws.StatusUnknown {
		t.Error("StatusOf(other)")
	}
	wrapped := fmt.Errorf("joining: %w", &kvsws.OperationError{Err: &kvsws.ResourceNotFoundException{}})
	if kvsws.StatusOf(wrapped) != kvsws.StatusResourceNotFound {
		t.Error("StatusOf(wrapped)")
	}
}
