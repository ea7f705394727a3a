// SPDX-License-Identifier: Apache-2.0

package kvsws

import "errors"

// Status is the stable number the C library gives every outcome (kvsws_status in kvsws.h). The
// numbers are never renumbered, only added to, so they are safe to store, compare and use as
// metric labels (String gives the name). They come in ranges:
//
//	0        success
//	1..99    raised on this side before or without talking to AWS
//	100..199 transport: could not talk to AWS, or what came back was not a valid answer
//	200..299 AWS answered with an error
//	300..399 AWS answered, and the answer says the channel cannot do what was asked
type Status int

// The statuses, as numbered in kvsws.h.
const (
	StatusUnknown Status = -1 // not an error from kvsws (see StatusOf)
	StatusOK      Status = 0

	StatusParamValidation     Status = 1 // bad input: the message names the field and the rule
	StatusNoCredentials       Status = 2 // no credentials found
	StatusNoRegion            Status = 3 // no region found
	StatusNoMemory            Status = 4
	StatusCredentialRetrieval Status = 5 // a credential source was found but failed
	StatusCancelled           Status = 6 // the call was cancelled (context, or the client closed)
	StatusInternal            Status = 7 // a bug in kvsws: please report it
	StatusConfig              Status = 8 // a bad option value

	StatusConnect        Status = 100 // could not connect (DNS, refused, proxy)
	StatusConnectTimeout Status = 101
	StatusReadTimeout    Status = 102
	StatusTLS            Status = 103 // TLS handshake or certificate verification failed
	StatusBadResponse    Status = 104 // a 2xx whose body is not what the operation returns
	StatusTransport      Status = 105 // any other transport failure (connection reset, ...)

	StatusAccessDenied          Status = 200 // AccessDeniedException
	StatusClientLimitExceeded   Status = 201 // ClientLimitExceededException
	StatusInvalidArgument       Status = 202 // InvalidArgumentException
	StatusResourceNotFound      Status = 203 // ResourceNotFoundException
	StatusResourceInUse         Status = 204 // ResourceInUseException
	StatusNotAuthorized         Status = 205 // NotAuthorizedException
	StatusInvalidClient         Status = 206 // InvalidClientException
	StatusSessionExpired        Status = 207 // SessionExpiredException
	StatusThrottling            Status = 230 // ThrottlingException and the other throttling codes
	StatusInvalidSignature      Status = 231 // InvalidSignatureException, SignatureDoesNotMatch
	StatusUnrecognizedClient    Status = 232 // UnrecognizedClientException, InvalidClientTokenId
	StatusExpiredToken          Status = 233 // ExpiredTokenException, RequestExpired
	StatusMissingAuthentication Status = 234 // MissingAuthenticationTokenException, ...
	StatusInternalFailure       Status = 235 // InternalFailure, InternalServerError, a bare 500
	StatusServiceUnavailable    Status = 236 // ServiceUnavailable(Exception), 502/503/504
	StatusRequestTimeout        Status = 237 // RequestTimeout(Exception)
	StatusServiceOther          Status = 299 // any other AWS error: see APIError.ErrorCode

	StatusStorageNotEnabled Status = 300 // the channel's media storage is not ENABLED: *StorageNotEnabledError
)

// String returns the status's name in kvsws.h, such as "KVSWS_E_RESOURCE_NOT_FOUND", or
// "KVSWS_E_UNKNOWN" for a number the loaded library does not know.
func (s Status) String() string { return cStatusName(s) }

// statusError is implemented by every error type of this package.
type statusError interface {
	kvswsStatus() Status
}

// StatusOf returns the Status of an error returned by this package, looking through wrapping:
// StatusOK for nil, StatusCancelled for a cancelled call, and StatusUnknown for errors that do
// not come from kvsws (including ErrClientClosed).
func StatusOf(err error) Status {
	if err == nil {
		return StatusOK
	}
	var se statusError
	if errors.As(err, &se) {
		return se.kvswsStatus()
	}
	return StatusUnknown
}

// Version returns the version of the C library actually loaded, such as "0.1.0".
func Version() string { return cVersion() }
