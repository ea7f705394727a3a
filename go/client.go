// SPDX-License-Identifier: Apache-2.0

package kvsws

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// Config configures a Client. The zero value is usable: every empty field falls back to the
// environment and the shared AWS files exactly as the C library (and the AWS SDKs) do.
type Config struct {
	// Region, else AWS_REGION, AWS_DEFAULT_REGION, the profile's region.
	Region string
	// EndpointURL, when set, is the control plane's endpoint (DescribeSignalingChannel,
	// DescribeMediaStorageConfiguration, GetSignalingChannelEndpoint), as aws-sdk-go-v2's
	// BaseEndpoint is for the kinesisvideo client. Else AWS_ENDPOINT_URL_KINESIS_VIDEO,
	// AWS_ENDPOINT_URL, the profile, then the region's default. The joins, GetIceServerConfig and
	// the signaling WebSocket go to the channel's WEBRTC, HTTPS and WSS endpoints from
	// GetSignalingChannelEndpoint, unless AWS_ENDPOINT_URL_KINESIS_VIDEO_WEBRTC_STORAGE (the
	// joins) or AWS_ENDPOINT_URL_KINESIS_VIDEO_SIGNALING (GetIceServerConfig) names one.
	EndpointURL string
	// Profile in the shared files, else AWS_PROFILE, else "default".
	Profile string
	// CABundle is a PEM file of the CAs to trust, else AWS_CA_BUNDLE, else AWS_KVS_CACERT_PATH
	// (the KVS C SDK's), else the system's. TLS is always verified.
	CABundle string

	// AccessKeyID and SecretAccessKey (with SessionToken for temporary credentials) are
	// explicit credentials. Else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN,
	// else the profile in the shared files (keys or credential_process).
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string

	// IoT, when set, gets credentials from the AWS IoT credentials provider with the device's
	// X.509 certificate (after explicit keys, before everything else). Nil: the KVS C SDK's
	// variables AWS_IOT_CORE_CREDENTIAL_ENDPOINT, AWS_IOT_CORE_CERT, AWS_IOT_CORE_PRIVATE_KEY,
	// AWS_IOT_CORE_ROLE_ALIAS, AWS_IOT_CORE_THING_NAME (and AWS_KVS_CACERT_PATH), when set, come
	// before the environment's keys and the profile.
	IoT *IoTConfig

	// ConfigFile is the shared config file, else AWS_CONFIG_FILE, else ~/.aws/config.
	ConfigFile string
	// SharedCredentialsFile is the shared credentials file, else AWS_SHARED_CREDENTIALS_FILE,
	// else ~/.aws/credentials.
	SharedCredentialsFile string

	// ConnectTimeout bounds connecting, TCP + TLS (0: 10 s); ReadTimeout bounds how long an
	// answer may be silent (0: 60 s); RequestTimeout bounds each request (an attempt) from
	// connecting to the answer's last byte however steadily bytes arrive (0: 30 s), so a
	// trickling server ends in a *TimeoutError. It also bounds credential fetches from STS and
	// the SSO portal and the signaling WebSocket's upgrade. A context deadline bounds the
	// whole call, retries included.
	ConnectTimeout time.Duration
	ReadTimeout    time.Duration
	RequestTimeout time.Duration

	// MaxAttempts is the number of requests a call may send, 1 to 20 (0: AWS_MAX_ATTEMPTS,
	// else 3). Retries follow the AWS standard mode: 5xx, throttling, timeouts and connection
	// errors, with exponential backoff and full jitter.
	MaxAttempts int
	// RetryBaseDelay is the backoff base (0: 1 s, at most 20 s).
	RetryBaseDelay time.Duration
	// DisableJoinRetry stops JoinStorageSession and JoinStorageSessionAsViewer from being
	// retried. They are retried by default, as boto3 and aws-sdk-go-v2 do, although each
	// request that reaches the service makes it send one more offer (the latest join wins).
	DisableJoinRetry bool

	// UseFIPSEndpoint chooses the FIPS control-plane endpoint (unset: AWS_USE_FIPS_ENDPOINT,
	// else the profile's use_fips_endpoint).
	UseFIPSEndpoint FIPSEndpointState

	// UserAgentExtra is appended to the User-Agent ("kvsws/0.1.0 EXTRA").
	UserAgentExtra string

	// Logger receives the core's log lines at matching levels; a *slog.Logger fits (see
	// Logger). On Go 1.21 and newer its level is asked on every call, so raising it later takes
	// effect at once. Nil: the core logs to stderr as KVSWS_LOG_LEVEL says (error, warn, info,
	// debug or off; unset is off).
	Logger Logger
}

// IoTConfig configures the AWS IoT credentials provider: mutual TLS with CertFile and
// PrivateKeyFile to https://CredentialEndpoint/role-aliases/RoleAlias/credentials, the thing
// named in x-amzn-iot-thingname. The first five are required together; NewClient checks them
// and that the files can be read (errors name the KVSWS_OPT_IOT_* option). Credentials are
// fetched again 5 minutes before they expire.
type IoTConfig struct {
	// CredentialEndpoint: a host, as `aws iot describe-endpoint --endpoint-type
	// iot:CredentialProvider` prints it, a host:port or an https:// URL.
	CredentialEndpoint string
	CertFile           string // the device certificate, PEM
	PrivateKeyFile     string // its private key, PEM
	RoleAlias          string
	ThingName          string
	// CAFile holds the CAs that verify the endpoint (else Config.CABundle, AWS_CA_BUNDLE,
	// AWS_KVS_CACERT_PATH, the system's).
	CAFile string
}

// FIPSEndpointState says whether to use the FIPS endpoints.
type FIPSEndpointState int

// The FIPS endpoint states.
const (
	FIPSEndpointStateUnset    FIPSEndpointState = iota // from the environment or the profile
	FIPSEndpointStateEnabled                           // use the FIPS endpoint
	FIPSEndpointStateDisabled                          // do not
)

// options turns the Config into kvsws_config settings; only the fields that are set.
func (cfg *Config) options() ([]option, error) {
	var opts []option
	str := func(key optionKey, field, value string, secret bool) {
		if value != "" {
			opts = append(opts, option{key: key, field: field, str: value, secret: secret})
		}
	}
	num := func(key optionKey, field string, value int64) {
		opts = append(opts, option{key: key, field: field, num: value, isNum: true})
	}
	millis := func(key optionKey, field string, d time.Duration) error {
		switch {
		case d < 0:
			return &ConfigError{clientError{status: StatusConfig, message: fmt.Sprintf("must not be negative, got %v", d)}, field}
		case d > 0:
			num(key, field, int64((d+time.Millisecond-1)/time.Millisecond)) // round up: 1ns is not "default"
		}
		return nil
	}
	str(optRegion, "Region", cfg.Region, false)
	str(optEndpointURL, "EndpointURL", cfg.EndpointURL, false)
	str(optProfile, "Profile", cfg.Profile, false)
	str(optCABundle, "CABundle", cfg.CABundle, false)
	str(optAccessKeyID, "AccessKeyID", cfg.AccessKeyID, false)
	str(optSecretAccessKey, "SecretAccessKey", cfg.SecretAccessKey, true)
	str(optSessionToken, "SessionToken", cfg.SessionToken, true)
	str(optConfigFile, "ConfigFile", cfg.ConfigFile, false)
	str(optCredentialsFile, "SharedCredentialsFile", cfg.SharedCredentialsFile, false)
	str(optUserAgentExtra, "UserAgentExtra", cfg.UserAgentExtra, false)
	if iot := cfg.IoT; iot != nil {
		str(optIoTCredentialEndpoint, "IoT.CredentialEndpoint", iot.CredentialEndpoint, false)
		str(optIoTCertFile, "IoT.CertFile", iot.CertFile, false)
		str(optIoTPrivateKeyFile, "IoT.PrivateKeyFile", iot.PrivateKeyFile, false)
		str(optIoTRoleAlias, "IoT.RoleAlias", iot.RoleAlias, false)
		str(optIoTThingName, "IoT.ThingName", iot.ThingName, false)
		str(optIoTCAFile, "IoT.CAFile", iot.CAFile, false)
	}
	if err := millis(optConnectTimeoutMS, "ConnectTimeout", cfg.ConnectTimeout); err != nil {
		return nil, err
	}
	if err := millis(optReadTimeoutMS, "ReadTimeout", cfg.ReadTimeout); err != nil {
		return nil, err
	}
	if err := millis(optRequestTimeoutMS, "RequestTimeout", cfg.RequestTimeout); err != nil {
		return nil, err
	}
	if err := millis(optRetryBaseDelayMS, "RetryBaseDelay", cfg.RetryBaseDelay); err != nil {
		return nil, err
	}
	if cfg.MaxAttempts != 0 {
		num(optMaxAttempts, "MaxAttempts", int64(cfg.MaxAttempts))
	}
	if cfg.DisableJoinRetry {
		num(optRetryJoin, "DisableJoinRetry", 0)
	}
	switch cfg.UseFIPSEndpoint {
	case FIPSEndpointStateUnset:
	case FIPSEndpointStateEnabled:
		num(optUseFIPSEndpoint, "UseFIPSEndpoint", 1)
	case FIPSEndpointStateDisabled:
		num(optUseFIPSEndpoint, "UseFIPSEndpoint", 0)
	default:
		return nil, &ConfigError{clientError{status: StatusConfig, message: fmt.Sprintf("unknown FIPSEndpointState %d", cfg.UseFIPSEndpoint)}, "UseFIPSEndpoint"}
	}
	return opts, nil
}

// Client calls the Kinesis Video Streams operations a WebRTC storage session needs. It owns a
// pool of kept-alive connections and the per-channel endpoint cache, and is safe for
// concurrent use by many goroutines: create one and share it. Close it when done.
type Client struct {
	mu        sync.RWMutex // read-held by every call in flight; write-held by Close to free
	p         *cClient     // nil once closed
	region    string
	closing   chan struct{} // closed by Close: calls in flight are cancelled
	closeOnce sync.Once

	callsMu sync.Mutex
	calls   map[*cCancel]struct{} // the cancel tokens of the calls in flight, for Close

	log *clientLog // Config.Logger, nil without one
}

// NewClient creates a client. The region is resolved now (*NoRegionError); credentials are
// looked up on the first call that needs them and refreshed before they expire. Errors are
// *NoRegionError, *ConfigError, *ParamValidationError (partial credentials, a bad endpoint
// URL, an unreadable CA bundle) or *InternalError.
func NewClient(cfg Config) (*Client, error) {
	opts, err := cfg.options()
	if err != nil {
		return nil, err
	}
	log := newClientLog(cfg.Logger)
	p, detail, field := cNewClient(opts, log)
	if detail != nil {
		log.free()
		err := detail.toError()
		if ce, ok := err.(*ConfigError); ok {
			ce.Field = field
		}
		return nil, err
	}
	c := &Client{p: p, region: cClientRegion(p), closing: make(chan struct{}),
		calls: make(map[*cCancel]struct{}), log: log}
	runtime.SetFinalizer(c, (*Client).Close)
	return c, nil
}

// Region returns the region the client resolved and signs for.
func (c *Client) Region() string { return c.region }

// Close cancels the calls in flight (they return ErrClientClosed), waits for them to return
// and frees the client. Later calls return ErrClientClosed. Close is idempotent and safe to
// call from any goroutine; it always returns nil.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		close(c.closing)
		c.callsMu.Lock()
		for token := range c.calls {
			cTriggerCancel(token)
		}
		c.callsMu.Unlock()
		c.mu.Lock()
		defer c.mu.Unlock()
		cFreeClient(c.p) // joins the core's workers: no log line comes after it
		c.p = nil
		c.log.free()
		runtime.SetFinalizer(c, nil)
	})
	return nil
}

// track registers a call's cancel token so that Close cancels the call; a call that starts
// while Close runs is cancelled here.
func (c *Client) track(token *cCancel) {
	c.callsMu.Lock()
	c.calls[token] = struct{}{}
	c.callsMu.Unlock()
	select {
	case <-c.closing:
		cTriggerCancel(token)
	default:
	}
}

func (c *Client) untrack(token *cCancel) {
	c.callsMu.Lock()
	delete(c.calls, token)
	c.callsMu.Unlock()
}

// operation names an operation and the service aws-sdk-go-v2 puts it in.
type operation struct {
	name      string
	serviceID string
}

// failedIn is the operation the core names in its error: a call whose endpoint lookup failed
// reports GetSignalingChannelEndpoint (with that request's id), as that is the request that failed.
func (op operation) failedIn(name string) operation {
	if other, ok := operationsByName[name]; ok {
		return other
	}
	return op
}

func (op operation) error(err error) error {
	return &OperationError{ServiceID: op.serviceID, OperationName: op.name, Err: err}
}

// invoke runs one operation: input is marshalled to the AWS JSON input (the C core validates
// it, signs, sends and retries), and the JSON output is decoded into output.
func (c *Client) invoke(ctx context.Context, op operation, input, output interface{}) (Metadata, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return Metadata{}, op.error(&CanceledError{Err: err})
	}
	body, err := json.Marshal(input)
	if err != nil {
		return Metadata{}, op.error(&ParamValidationError{clientError{status: StatusParamValidation, message: err.Error()}})
	}

	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.p == nil {
		return Metadata{}, op.error(ErrClientClosed)
	}
	c.log.follow(c.p)
	cancel := cNewCancel()
	if cancel == nil {
		return Metadata{}, op.error(noMemory().toError())
	}
	c.track(cancel)
	// A watcher goroutine only for a context that can end (a goroutine per call costs three
	// context switches); it has returned before the token is freed.
	var stop, watched chan struct{}
	if ctx.Done() != nil {
		stop, watched = make(chan struct{}), make(chan struct{})
		go func() {
			defer close(watched)
			select {
			case <-ctx.Done():
				cTriggerCancel(cancel)
			case <-stop:
			}
		}()
	}
	resp, detail := cCall(c.p, op.name, body, cancel)
	if stop != nil {
		close(stop)
		<-watched
	}
	c.untrack(cancel)
	cFreeCancel(cancel)

	if detail != nil {
		if detail.status == StatusCancelled {
			if err := ctx.Err(); err != nil {
				return Metadata{}, op.error(&CanceledError{Err: err, attempts: detail.attempts})
			}
			select {
			case <-c.closing:
				return Metadata{}, op.error(ErrClientClosed)
			default:
			}
		}
		return Metadata{}, op.failedIn(detail.operation).error(detail.toError())
	}
	md := Metadata{RequestID: resp.requestID, HTTPStatusCode: resp.httpStatus, Attempts: resp.attempts}
	if err := json.Unmarshal([]byte(resp.json), output); err != nil {
		return md, op.error(&BadResponseError{clientError{
			status:   StatusBadResponse,
			message:  fmt.Sprintf("the %s output could not be decoded: %v", op.name, err),
			attempts: resp.attempts,
		}})
	}
	return md, nil
}
