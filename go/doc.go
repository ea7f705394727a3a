// SPDX-License-Identifier: Apache-2.0

// Package kvsws calls the Amazon Kinesis Video Streams operations a WebRTC storage session
// needs, through the kvsws C library: JoinStorageSession, JoinStorageSessionAsViewer,
// GetSignalingChannelEndpoint, DescribeSignalingChannel, DescribeMediaStorageConfiguration and
// GetIceServerConfig. It reads like aws-sdk-go-v2:
//
//	client, err := kvsws.NewClient(kvsws.Config{Region: "us-west-2"})
//	if err != nil {
//		return err
//	}
//	defer client.Close()
//	_, err = client.JoinStorageSession(ctx, &kvsws.JoinStorageSessionInput{ChannelARN: arn})
//	var notFound *kvsws.ResourceNotFoundException
//	if errors.As(err, &notFound) {
//		// ...
//	}
//
// The C library does the protocol work: input validation against the service models (before
// any I/O), SigV4, credentials and region from the same chain as the AWS SDKs (Config, then
// AWS_* variables, then the shared files and credential_process), endpoint resolution and the
// per-channel endpoint cache, TLS (always verified), retries in the AWS standard mode, and the
// mapping of every AWS and transport error to a stable Status.
//
// # Storage sessions
//
// Client.NewStorageSession does the whole storage-session flow in the C library (the channel's
// media storage check, endpoints, TURN servers, the signaling WebSocket, JoinStorageSession and
// rejoins, GO_AWAY, dropped connections, the 1 hour limit) and delivers the storage service's
// SDP offer, ICE candidates and ICE servers as Events for the application's own WebRTC stack
// (pion: ICECandidateInit converts to and from webrtc.ICECandidateInit), which answers with
// SendAnswer and SendCandidate. See the StorageSession example and the repository's
// examples/go.
//
// Answer and candidates may be sent in any order, from any goroutine: candidates given before
// the answer to the current offer are held by the C library and sent right after the answer
// (the storage service, the offerer, can use a candidate only once it has the answer), so
// pion's OnICECandidate may fire before SendAnswer. The service's refusal of a message shows
// as EventStatus, named after what was sent (SDP_ANSWER, ICE_CANDIDATE) with the message's
// correlation id (CorrelationID). EventICEServers carries the TURN credentials' lifetime
// (ICEServersTTL) and comes again with fresh credentials after the service's
// RECONNECT_ICE_SERVER: give them to the running peer connection (SetConfiguration). A channel
// without media storage ends a master's session with a *StorageNotEnabledError
// (errors.Is(err, ErrStorageNotEnabled)).
//
// # Errors
//
// Every error an operation returns is an *OperationError wrapping one of this package's error
// types. Errors the service answered with implement APIError (ErrorCode, ErrorMessage,
// HTTPStatusCode, RequestID, Retryable, Attempts); the modelled ones have their own types
// (*AccessDeniedException, *ClientLimitExceededException, *InvalidArgumentException,
// *ResourceNotFoundException, *ResourceInUseException, *NotAuthorizedException,
// *InvalidClientException, *SessionExpiredException), the others are *GenericAPIError. Errors
// raised on this side have types too: *ParamValidationError, *NoCredentialsError,
// *NoRegionError, *CredentialRetrievalError, *EndpointConnectionError, *TimeoutError,
// *TLSError, *BadResponseError, *TransportError, *ConfigError, *InternalError,
// *CanceledError and (a storage session's) *StorageNotEnabledError. StatusOf gives any of them as a stable number. The service errors are
// smithy-go's smithy.APIError too (ErrorFault: client for 4xx, server for 5xx), as
// aws-sdk-go-v2's are, and keep the answer's headers (HTTPHeader).
//
// # Logging
//
// Config.Logger receives the core's log lines (never a secret) at matching levels; a
// *slog.Logger fits as it is. Without one the core logs to stderr as KVSWS_LOG_LEVEL says.
//
// # Cancellation and concurrency
//
// A call stops promptly when its context is cancelled or its deadline passes (during connect,
// transfer or a retry's backoff) and returns an error that wraps ctx.Err(). A *Client is safe
// for concurrent use; each call blocks one OS thread while it runs.
//
// # Building
//
// The package compiles the kvsws C core itself (it is in the same module): a C compiler and
// Debian's libcurl4-openssl-dev, libssl-dev and libcjson-dev are all it needs. Programs link the
// core statically and libcurl, OpenSSL and cJSON as shared libraries. With -tags kvsws_system it
// links an installed libkvsws through pkg-config instead.
package kvsws
