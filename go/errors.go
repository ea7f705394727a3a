// SPDX-License-Identifier: Apache-2.0

package kvsws

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/smithy-go"
)

// ErrClientClosed is returned (wrapped in an *OperationError) by calls made on a closed Client,
// and by calls that were in flight when Close was called.
var ErrClientClosed = errors.New("kvsws: the client is closed")

// OperationError wraps every error an operation returns, as aws-sdk-go-v2 does: its message
// reads "operation error Kinesis Video: DescribeSignalingChannel, https response error
// StatusCode: 404, RequestID: ..., ResourceNotFoundException: ...". Use errors.As with the
// concrete error types (*ResourceNotFoundException, *ParamValidationError, ...) or APIError to
// get at what went wrong, and errors.Is with context.Canceled or context.DeadlineExceeded.
type OperationError struct {
	// ServiceID is "Kinesis Video", "Kinesis Video Signaling" or "Kinesis Video WebRTC Storage",
	// as aws-sdk-go-v2 names the operation's service.
	ServiceID     string
	OperationName string // "JoinStorageSession", ...
	Err           error  // what went wrong
}

// Error returns "operation error SERVICE: OPERATION, " followed by the wrapped error.
func (e *OperationError) Error() string {
	retries := ""
	var r interface {
		Retryable() bool
		Attempts() int
	}
	if errors.As(e.Err, &r) && r.Retryable() && r.Attempts() > 1 {
		retries = fmt.Sprintf("exceeded maximum number of attempts, %d, ", r.Attempts())
	}
	return fmt.Sprintf("operation error %s: %s, %s%v", e.ServiceID, e.OperationName, retries, e.Err)
}

// Unwrap returns the wrapped error.
func (e *OperationError) Unwrap() error { return e.Err }

// Service returns the service's name, as aws-sdk-go-v2's OperationError does.
func (e *OperationError) Service() string { return e.ServiceID }

// Operation returns the operation's name, as aws-sdk-go-v2's OperationError does.
func (e *OperationError) Operation() string { return e.OperationName }

// APIError is implemented by every error the service answered with: the modelled exceptions
// (*ResourceNotFoundException, ...) and *GenericAPIError for the others. Errors raised on this
// side (validation, credentials, transport) do not implement it. The same errors implement
// smithy-go's smithy.APIError too (ErrorCode, ErrorMessage, ErrorFault), so code written for
// aws-sdk-go-v2 (var apiErr smithy.APIError; errors.As(err, &apiErr)) handles them unchanged.
type APIError interface {
	error
	// ErrorCode is the AWS error name, such as "ResourceNotFoundException".
	ErrorCode() string
	// ErrorMessage is the message the service sent.
	ErrorMessage() string
	// HTTPStatusCode is the HTTP status of the answer.
	HTTPStatusCode() int
	// RequestID is the x-amzn-RequestId of the answer, "" when none came back.
	RequestID() string
	// Retryable reports whether the same call could succeed if tried again later.
	Retryable() bool
	// Attempts is how many requests were sent, retries included.
	Attempts() int
}

// apiError holds what every service error carries; the exported types embed it.
type apiError struct {
	status     Status
	code       string
	message    string
	httpStatus int
	requestID  string
	retryable  bool
	attempts   int
	header     http.Header // the answer's headers; nil when none came back
	// A storage session's STATUS_RESPONSE: the refused message's correlation id and action.
	correlationID string
	sent          string
}

// Every service error is a smithy-go APIError, as aws-sdk-go-v2's are.
var _ smithy.APIError = (*GenericAPIError)(nil)

// Error returns "https response error StatusCode: 404, RequestID: ..., CODE: MESSAGE", or
// "CODE: MESSAGE" for what came without an HTTP answer (a storage session's GO_AWAY, or its
// NoOfferReceived).
func (e *apiError) Error() string {
	if e.correlationID != "" {
		return fmt.Sprintf("signaling error when sending the %s, StatusCode: %d, CorrelationID: %s, %s: %s",
			e.sent, e.httpStatus, e.correlationID, e.code, e.message)
	}
	if e.httpStatus == 0 && e.requestID == "" {
		return e.code + ": " + e.message
	}
	return fmt.Sprintf("https response error StatusCode: %d, RequestID: %s, %s: %s",
		e.httpStatus, e.requestID, e.code, e.message)
}

// ErrorCode returns the AWS error name, such as "ResourceNotFoundException".
func (e *apiError) ErrorCode() string { return e.code }

// ErrorMessage returns the message the service sent.
func (e *apiError) ErrorMessage() string { return e.message }

// HTTPStatusCode returns the HTTP status of the answer.
func (e *apiError) HTTPStatusCode() int { return e.httpStatus }

// RequestID returns the x-amzn-RequestId of the answer, "" when none came back.
func (e *apiError) RequestID() string { return e.requestID }

// CorrelationID returns, for a storage session's EventStatus (the signaling service refused a
// message the session sent, in a STATUS_RESPONSE), the correlation id of that message; "" for
// every other error. Its Error() then reads "signaling error when sending the SDP_ANSWER, ...".
func (e *apiError) CorrelationID() string { return e.correlationID }

// SentMessage returns, for a storage session's EventStatus, what was sent and refused:
// "SDP_ANSWER" or "ICE_CANDIDATE"; "" for every other error.
func (e *apiError) SentMessage() string { return e.sent }

// Retryable reports whether the same call could succeed if tried again later (throttling, 5xx).
func (e *apiError) Retryable() bool { return e.retryable }

// Attempts returns how many requests were sent, retries included.
func (e *apiError) Attempts() int { return e.attempts }

// ErrorFault returns smithy.FaultClient for a 4xx answer, smithy.FaultServer for a 5xx one and
// smithy.FaultUnknown otherwise (an error that came without an HTTP answer), as aws-sdk-go-v2's
// errors say whose fault it was.
func (e *apiError) ErrorFault() smithy.ErrorFault {
	switch {
	case e.httpStatus >= 400 && e.httpStatus < 500:
		return smithy.FaultClient
	case e.httpStatus >= 500 && e.httpStatus < 600:
		return smithy.FaultServer
	}
	return smithy.FaultUnknown
}

// HTTPHeader returns a copy of the headers of the answer that carried the error (as
// aws-sdk-go-v2's ResponseError has them in Response.Header): Get("X-Amzn-Requestid"),
// Get("Content-Type"), Get("Date"), ... Empty when no HTTP answer came back (a storage session's
// GO_AWAY or STATUS_RESPONSE).
func (e *apiError) HTTPHeader() http.Header { return e.header.Clone() }

func (e *apiError) kvswsStatus() Status { return e.status }

// AccessDeniedException means the caller lacks permission (HTTP 403 from the storage calls,
// 401 from the control plane).
type AccessDeniedException struct{ apiError }

// ClientLimitExceededException means too many calls per second (retried, and Retryable), or a
// limit such as the maximum number of viewers (not retryable).
type ClientLimitExceededException struct{ apiError }

// InvalidArgumentException means the service rejected a value, for example asking for a WEBRTC
// endpoint or joining a storage session on a channel that has no media storage configured.
type InvalidArgumentException struct{ apiError }

// ResourceNotFoundException means there is no such channel (or it is not active) in this
// region. HTTP 404.
type ResourceNotFoundException struct{ apiError }

// ResourceInUseException means the channel is busy with another change.
type ResourceInUseException struct{ apiError }

// NotAuthorizedException means the caller is not authorized (GetIceServerConfig). HTTP 401.
type NotAuthorizedException struct{ apiError }

// InvalidClientException means the client id is not valid (GetIceServerConfig).
type InvalidClientException struct{ apiError }

// SessionExpiredException means the signaling session expired (GetIceServerConfig).
type SessionExpiredException struct{ apiError }

// GenericAPIError is any other error the service answered with: throttling, signature and
// credential errors, 5xx, ... ErrorCode names it; StatusOf gives its stable number.
type GenericAPIError struct{ apiError }

// The modelled types know their status even when built as a zero value (in a caller's tests).
func (*AccessDeniedException) kvswsStatus() Status        { return StatusAccessDenied }
func (*ClientLimitExceededException) kvswsStatus() Status { return StatusClientLimitExceeded }
func (*InvalidArgumentException) kvswsStatus() Status     { return StatusInvalidArgument }
func (*ResourceNotFoundException) kvswsStatus() Status    { return StatusResourceNotFound }
func (*ResourceInUseException) kvswsStatus() Status       { return StatusResourceInUse }
func (*NotAuthorizedException) kvswsStatus() Status       { return StatusNotAuthorized }
func (*InvalidClientException) kvswsStatus() Status       { return StatusInvalidClient }
func (*SessionExpiredException) kvswsStatus() Status      { return StatusSessionExpired }

// clientError holds what errors raised on this side carry; the exported types embed it.
type clientError struct {
	status    Status
	message   string
	retryable bool
	attempts  int
}

// Error returns the message, which says what happened and, for validation errors, names the
// field.
func (e *clientError) Error() string { return e.message }

// Retryable reports whether the same call could succeed if tried again (connection errors and
// timeouts are).
func (e *clientError) Retryable() bool { return e.retryable }

// Attempts returns how many requests were sent before giving up (0 when none was).
func (e *clientError) Attempts() int { return e.attempts }

func (e *clientError) kvswsStatus() Status { return e.status }

// ParamValidationError means an input failed the operation's model (required member, pattern,
// length, enum) before any request was sent; the message names the member by its AWS name,
// such as "channelArn". Also returned by NewClient for partial credentials or a bad endpoint
// URL or CA bundle.
type ParamValidationError struct{ clientError }

// NoCredentialsError means no credentials were found in the Config, the environment or the shared
// files; the message says where kvsws looked.
type NoCredentialsError struct{ clientError }

// NoRegionError means NewClient found no region in the Config, the environment or the profile.
type NoRegionError struct{ clientError }

// CredentialRetrievalError means a credential source was found but failed (a credential_process
// that exited non-zero or printed bad JSON, an unreadable file).
type CredentialRetrievalError struct{ clientError }

// InternalError means kvsws ran out of memory or hit a bug of its own (please report it).
type InternalError struct{ clientError }

// EndpointConnectionError means kvsws could not connect to the endpoint (DNS, connection refused,
// proxy).
type EndpointConnectionError struct{ clientError }

// TimeoutError means connecting, or waiting for the answer, took longer than Config.ConnectTimeout
// or Config.ReadTimeout.
type TimeoutError struct {
	clientError
	// Connect is true when connecting timed out, false when the answer was too slow.
	Connect bool
}

// Timeout returns true, as net.Error's Timeout does.
func (e *TimeoutError) Timeout() bool { return true }

// TLSError means the TLS handshake or the verification of the server's certificate failed. TLS is
// always verified; Config.CABundle names the CAs to trust.
type TLSError struct{ clientError }

// BadResponseError means the service answered 2xx with a body that is not what the operation
// returns.
type BadResponseError struct{ clientError }

// TransportError is any other transport failure, such as a connection closed without an answer.
type TransportError struct{ clientError }

// ErrStorageNotEnabled matches a *StorageNotEnabledError with errors.Is.
var ErrStorageNotEnabled = errors.New("kvsws: the channel's media storage is not enabled")

// StorageNotEnabledError means a master's storage session found the channel's media storage not
// ENABLED (DescribeMediaStorageConfiguration, which the wrapping *OperationError names): the
// session ends, nothing was joined. Enable it with UpdateMediaStorageConfiguration. Not an
// APIError: the service answered, and its answer says the channel cannot store media.
type StorageNotEnabledError struct{ clientError }

// Is reports whether target is ErrStorageNotEnabled.
func (e *StorageNotEnabledError) Is(target error) bool { return target == ErrStorageNotEnabled }

// ConfigError means NewClient refused a Config value, or NewStorageSession a
// StorageSessionInput value.
type ConfigError struct {
	clientError
	// Field is the Config field that was refused, such as "MaxAttempts" ("" when the bad value
	// came from the environment, such as AWS_MAX_ATTEMPTS), or the StorageSessionInput field,
	// such as "StorageSessionInput.OfferTimeout".
	Field string
}

// Error names the field and says what is wrong with it.
func (e *ConfigError) Error() string {
	switch {
	case e.Field == "":
		return "kvsws: invalid configuration: " + e.message
	case strings.Contains(e.Field, "."):
		return fmt.Sprintf("kvsws: invalid %s: %s", e.Field, e.message)
	}
	return fmt.Sprintf("kvsws: invalid Config.%s: %s", e.Field, e.message)
}

// CanceledError means the call's context was cancelled or its deadline passed, before or while the
// call ran. It wraps ctx.Err(), so errors.Is(err, context.Canceled) and errors.Is(err,
// context.DeadlineExceeded) work.
type CanceledError struct {
	Err      error // ctx.Err()
	attempts int
}

// Error returns "request canceled, " followed by the context's error.
func (e *CanceledError) Error() string { return "request canceled, " + e.Err.Error() }

// Unwrap returns the context's error.
func (e *CanceledError) Unwrap() error { return e.Err }

// Attempts returns how many requests had been sent when the call was cancelled.
func (e *CanceledError) Attempts() int { return e.attempts }

// Retryable returns false: the caller asked for the call to stop.
func (e *CanceledError) Retryable() bool { return false }

func (e *CanceledError) kvswsStatus() Status { return StatusCancelled }

// errorDetail is a copy of a kvsws_error, taken right after the call that filled it.
type errorDetail struct {
	status     Status
	code       string
	message    string
	operation  string
	requestID  string
	httpStatus int
	retryable  bool
	attempts   int
	header     http.Header
	// a STATUS_RESPONSE's (kvsws_error_correlation_id), with operation the action sent
	correlationID string
}

// toError maps the details to this package's error types by the stable status number.
func (d *errorDetail) toError() error {
	if d.status >= 200 && d.status < 300 {
		a := apiError{d.status, d.code, d.message, d.httpStatus, d.requestID, d.retryable, d.attempts,
			d.header, d.correlationID, ""}
		if d.correlationID != "" {
			a.sent = d.operation
		}
		switch d.status {
		case StatusAccessDenied:
			return &AccessDeniedException{a}
		case StatusClientLimitExceeded:
			return &ClientLimitExceededException{a}
		case StatusInvalidArgument:
			return &InvalidArgumentException{a}
		case StatusResourceNotFound:
			return &ResourceNotFoundException{a}
		case StatusResourceInUse:
			return &ResourceInUseException{a}
		case StatusNotAuthorized:
			return &NotAuthorizedException{a}
		case StatusInvalidClient:
			return &InvalidClientException{a}
		case StatusSessionExpired:
			return &SessionExpiredException{a}
		default:
			return &GenericAPIError{a}
		}
	}
	c := clientError{d.status, d.message, d.retryable, d.attempts}
	switch d.status {
	case StatusParamValidation:
		return &ParamValidationError{c}
	case StatusNoCredentials:
		return &NoCredentialsError{c}
	case StatusNoRegion:
		return &NoRegionError{c}
	case StatusCredentialRetrieval:
		return &CredentialRetrievalError{c}
	case StatusConfig:
		return &ConfigError{clientError: c}
	case StatusConnect:
		return &EndpointConnectionError{c}
	case StatusConnectTimeout:
		return &TimeoutError{clientError: c, Connect: true}
	case StatusReadTimeout:
		return &TimeoutError{clientError: c}
	case StatusTLS:
		return &TLSError{c}
	case StatusBadResponse:
		return &BadResponseError{c}
	case StatusCancelled:
		return &CanceledError{Err: errors.New(d.message), attempts: d.attempts}
	case StatusStorageNotEnabled:
		return &StorageNotEnabledError{c}
	}
	if d.status >= 100 && d.status < 200 {
		return &TransportError{c} // KVSWS_E_TRANSPORT, or a transport status newer than this package
	}
	return &InternalError{c}
}
