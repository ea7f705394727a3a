// SPDX-License-Identifier: Apache-2.0

package kvsws

// All of the package's cgo is in this file: the calls into libkvsws and the copies of what they
// return. The rest of the package is plain Go.
//
// Every call gets its own kvsws_error and its error details are copied out right after the call,
// before anything else happens, so nothing depends on which OS thread the goroutine runs on.

/*
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <kvsws.h>

// The core's log lines go to the Go Logger behind a cgo.Handle (cgo_log.go).
extern void kvswsGoLog(uintptr_t handle, int level, char *line);

static void kvsws_go_log(void *userdata, kvsws_log_level level, const char *line)
{
	kvswsGoLog((uintptr_t)userdata, (int)level, (char *)line);
}

static void kvsws_go_config_set_log(kvsws_config *cfg, uintptr_t handle)
{
	kvsws_config_set_log(cfg, kvsws_go_log, (void *)handle);
}

// Secrets (the secret key, the session token) are wiped from the C copy before it is freed.
static void kvsws_go_free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}
*/
import "C"

import (
	"encoding/json"
	"net/http"
	"net/textproto"
	"unsafe"
)

// cClient is the C client handle.
type cClient = C.kvsws_client

// cCancel is a C cancellation token.
type cCancel = C.kvsws_cancel

// optionKey is a kvsws_option.
type optionKey int

const (
	optRegion           optionKey = C.KVSWS_OPT_REGION
	optProfile          optionKey = C.KVSWS_OPT_PROFILE
	optEndpointURL      optionKey = C.KVSWS_OPT_ENDPOINT_URL
	optAccessKeyID      optionKey = C.KVSWS_OPT_ACCESS_KEY_ID
	optSecretAccessKey  optionKey = C.KVSWS_OPT_SECRET_ACCESS_KEY
	optSessionToken     optionKey = C.KVSWS_OPT_SESSION_TOKEN
	optCABundle         optionKey = C.KVSWS_OPT_CA_BUNDLE
	optConnectTimeoutMS optionKey = C.KVSWS_OPT_CONNECT_TIMEOUT_MS
	optReadTimeoutMS    optionKey = C.KVSWS_OPT_READ_TIMEOUT_MS
	optMaxAttempts      optionKey = C.KVSWS_OPT_MAX_ATTEMPTS
	optRetryJoin        optionKey = C.KVSWS_OPT_RETRY_JOIN
	optUserAgentExtra   optionKey = C.KVSWS_OPT_USER_AGENT_EXTRA
	optConfigFile       optionKey = C.KVSWS_OPT_CONFIG_FILE
	optCredentialsFile  optionKey = C.KVSWS_OPT_CREDENTIALS_FILE
	optRetryBaseDelayMS optionKey = C.KVSWS_OPT_RETRY_BASE_DELAY_MS
	optUseFIPSEndpoint  optionKey = C.KVSWS_OPT_USE_FIPS_ENDPOINT
	optRequestTimeoutMS optionKey = C.KVSWS_OPT_REQUEST_TIMEOUT_MS

	optIoTCredentialEndpoint optionKey = C.KVSWS_OPT_IOT_CREDENTIAL_ENDPOINT
	optIoTCertFile           optionKey = C.KVSWS_OPT_IOT_CERT_FILE
	optIoTPrivateKeyFile     optionKey = C.KVSWS_OPT_IOT_PRIVATE_KEY_FILE
	optIoTRoleAlias          optionKey = C.KVSWS_OPT_IOT_ROLE_ALIAS
	optIoTThingName          optionKey = C.KVSWS_OPT_IOT_THING_NAME
	optIoTCAFile             optionKey = C.KVSWS_OPT_IOT_CA_FILE
)

// The Status constants are written out as numbers so that they read as documentation; these
// lines stop the build if one of them ever disagrees with kvsws.h (the index is not 0).
var _ = [1]struct{}{}[0|
	(int(StatusOK)-int(C.KVSWS_OK))|
	(int(StatusParamValidation)-int(C.KVSWS_E_PARAM_VALIDATION))|
	(int(StatusNoCredentials)-int(C.KVSWS_E_NO_CREDENTIALS))|
	(int(StatusNoRegion)-int(C.KVSWS_E_NO_REGION))|
	(int(StatusNoMemory)-int(C.KVSWS_E_NO_MEMORY))|
	(int(StatusCredentialRetrieval)-int(C.KVSWS_E_CREDENTIAL_RETRIEVAL))|
	(int(StatusCancelled)-int(C.KVSWS_E_CANCELLED))|
	(int(StatusInternal)-int(C.KVSWS_E_INTERNAL))|
	(int(StatusConfig)-int(C.KVSWS_E_CONFIG))|
	(int(StatusConnect)-int(C.KVSWS_E_CONNECT))|
	(int(StatusConnectTimeout)-int(C.KVSWS_E_CONNECT_TIMEOUT))|
	(int(StatusReadTimeout)-int(C.KVSWS_E_READ_TIMEOUT))|
	(int(StatusTLS)-int(C.KVSWS_E_TLS))|
	(int(StatusBadResponse)-int(C.KVSWS_E_BAD_RESPONSE))|
	(int(StatusTransport)-int(C.KVSWS_E_TRANSPORT))|
	(int(StatusAccessDenied)-int(C.KVSWS_E_ACCESS_DENIED))|
	(int(StatusClientLimitExceeded)-int(C.KVSWS_E_CLIENT_LIMIT_EXCEEDED))|
	(int(StatusInvalidArgument)-int(C.KVSWS_E_INVALID_ARGUMENT))|
	(int(StatusResourceNotFound)-int(C.KVSWS_E_RESOURCE_NOT_FOUND))|
	(int(StatusResourceInUse)-int(C.KVSWS_E_RESOURCE_IN_USE))|
	(int(StatusNotAuthorized)-int(C.KVSWS_E_NOT_AUTHORIZED))|
	(int(StatusInvalidClient)-int(C.KVSWS_E_INVALID_CLIENT))|
	(int(StatusSessionExpired)-int(C.KVSWS_E_SESSION_EXPIRED))|
	(int(StatusThrottling)-int(C.KVSWS_E_THROTTLING))|
	(int(StatusInvalidSignature)-int(C.KVSWS_E_INVALID_SIGNATURE))|
	(int(StatusUnrecognizedClient)-int(C.KVSWS_E_UNRECOGNIZED_CLIENT))|
	(int(StatusExpiredToken)-int(C.KVSWS_E_EXPIRED_TOKEN))|
	(int(StatusMissingAuthentication)-int(C.KVSWS_E_MISSING_AUTHENTICATION))|
	(int(StatusInternalFailure)-int(C.KVSWS_E_INTERNAL_FAILURE))|
	(int(StatusServiceUnavailable)-int(C.KVSWS_E_SERVICE_UNAVAILABLE))|
	(int(StatusRequestTimeout)-int(C.KVSWS_E_REQUEST_TIMEOUT))|
	(int(StatusServiceOther)-int(C.KVSWS_E_SERVICE_OTHER))|
	(int(StatusStorageNotEnabled)-int(C.KVSWS_E_STORAGE_NOT_ENABLED))]

// option is one setting for kvsws_config_set_str / kvsws_config_set_int.
type option struct {
	key    optionKey
	field  string // the Config field it comes from, for errors
	str    string
	num    int64
	isNum  bool
	secret bool
}

// readError copies everything out of a kvsws_error.
func readError(e *C.kvsws_error) *errorDetail {
	var header http.Header
	var fields map[string]string
	if json.Unmarshal([]byte(C.GoString(C.kvsws_error_http_headers_json(e))), &fields) == nil &&
		len(fields) > 0 {
		header = make(http.Header, len(fields))
		for name, value := range fields {
			header[textproto.CanonicalMIMEHeaderKey(name)] = []string{value}
		}
	}
	return &errorDetail{
		header:     header,
		status:     Status(C.kvsws_error_status(e)),
		code:       C.GoString(C.kvsws_error_code(e)),
		message:    C.GoString(C.kvsws_error_message(e)),
		operation:  C.GoString(C.kvsws_error_operation(e)),
		requestID:  C.GoString(C.kvsws_error_request_id(e)),
		httpStatus: int(C.kvsws_error_http_status(e)),
		retryable:  C.kvsws_error_retryable(e) != 0,
		attempts:   int(C.kvsws_error_attempts(e)),

		correlationID: C.GoString(C.kvsws_error_correlation_id(e)),
	}
}

// noMemory is what a failed kvsws_*_new becomes.
func noMemory() *errorDetail {
	return &errorDetail{status: StatusNoMemory, code: "MemoryError", message: "out of memory"}
}

// cNewClient builds a kvsws_config from opts and a client from it; with a log (a Config.Logger)
// the core's lines go to it. On failure it returns the error details and, when an option was
// refused, the Config field it came from.
func cNewClient(opts []option, log *clientLog) (*cClient, *errorDetail, string) {
	cerr := C.kvsws_error_new()
	if cerr == nil {
		return nil, noMemory(), ""
	}
	defer C.kvsws_error_free(cerr)
	cfg := C.kvsws_config_new()
	if cfg == nil {
		return nil, noMemory(), ""
	}
	defer C.kvsws_config_free(cfg)
	for _, o := range opts {
		var st C.kvsws_status
		if o.isNum {
			st = C.kvsws_config_set_int(cfg, C.kvsws_option(o.key), C.int64_t(o.num), cerr)
		} else {
			s := C.CString(o.str)
			st = C.kvsws_config_set_str(cfg, C.kvsws_option(o.key), s, cerr)
			if o.secret {
				C.kvsws_go_free_secret(s)
			} else {
				C.free(unsafe.Pointer(s))
			}
		}
		if st != C.KVSWS_OK {
			return nil, readError(cerr), o.field
		}
	}
	if log != nil {
		if C.kvsws_config_set_int(cfg, C.KVSWS_OPT_LOG_LEVEL, C.int64_t(log.level.Load()), cerr) != C.KVSWS_OK {
			return nil, readError(cerr), "Logger"
		}
		C.kvsws_go_config_set_log(cfg, C.uintptr_t(log.handle))
	}
	var p *C.kvsws_client
	if C.kvsws_client_new(cfg, &p, cerr) != C.KVSWS_OK {
		return nil, readError(cerr), ""
	}
	return p, nil, ""
}

func cFreeClient(p *cClient) { C.kvsws_client_free(p) }

func cSetLogLevel(p *cClient, level int) { C.kvsws_client_set_log_level(p, C.kvsws_log_level(level)) }

func cClientRegion(p *cClient) string { return C.GoString(C.kvsws_client_region(p)) }

// responseDetail is a copy of a kvsws_response.
type responseDetail struct {
	json       string
	httpStatus int
	requestID  string
	attempts   int
}

// cCall runs one operation through kvsws_client_call. Exactly one of the results is set.
func cCall(p *cClient, operation string, input []byte, cancel *cCancel) (*responseDetail, *errorDetail) {
	cerr := C.kvsws_error_new()
	if cerr == nil {
		return nil, noMemory()
	}
	defer C.kvsws_error_free(cerr)
	op := C.CString(operation)
	defer C.free(unsafe.Pointer(op))
	in := C.CString(string(input))
	defer C.free(unsafe.Pointer(in))
	var resp *C.kvsws_response
	if C.kvsws_client_call(p, op, in, cancel, &resp, cerr) != C.KVSWS_OK {
		return nil, readError(cerr)
	}
	defer C.kvsws_response_free(resp)
	return &responseDetail{
		json:       C.GoString(C.kvsws_response_json(resp)),
		httpStatus: int(C.kvsws_response_http_status(resp)),
		requestID:  C.GoString(C.kvsws_response_request_id(resp)),
		attempts:   int(C.kvsws_response_attempts(resp)),
	}, nil
}

// cSignRequest runs kvsws_sign_request: the headers to add, or the presigned URL.
func cSignRequest(p *cClient, service, method, url string, headers []string, body []byte,
	expiresSeconds, unixTime int64) (string, *errorDetail) {
	cerr := C.kvsws_error_new()
	if cerr == nil {
		return "", noMemory()
	}
	defer C.kvsws_error_free(cerr)
	strs := []*C.char{C.CString(service), C.CString(method), C.CString(url)}
	// A NULL-terminated array of C strings, allocated in C so cgo's pointer rules hold.
	list := (**C.char)(C.calloc(C.size_t(len(headers)+1), C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	items := unsafe.Slice(list, len(headers)+1)
	for i, h := range headers {
		items[i] = C.CString(h)
	}
	defer func() {
		for _, p := range append(strs, items...) {
			C.free(unsafe.Pointer(p))
		}
		C.free(unsafe.Pointer(list))
	}()
	var data unsafe.Pointer
	if len(body) > 0 {
		data = C.CBytes(body)
		defer C.free(data)
	}
	var out *C.char
	if C.kvsws_sign_request(p, strs[0], strs[1], strs[2], list, data, C.size_t(len(body)),
		C.int64_t(expiresSeconds), C.int64_t(unixTime), &out, cerr) != C.KVSWS_OK {
		return "", readError(cerr)
	}
	defer C.kvsws_string_free(out)
	return C.GoString(out), nil
}

func cNewCancel() *cCancel { return C.kvsws_cancel_new() }

func cTriggerCancel(c *cCancel) { C.kvsws_cancel_trigger(c) }

func cFreeCancel(c *cCancel) { C.kvsws_cancel_free(c) }

func cStatusName(s Status) string { return C.GoString(C.kvsws_status_name(C.kvsws_status(s))) }

func cVersion() string { return C.GoString(C.kvsws_version()) }
