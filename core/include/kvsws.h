/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kvsws.h - the whole public C ABI of kvsws.
 *
 * kvsws signs and sends the Amazon Kinesis Video Streams calls that a WebRTC storage session needs,
 * maps every AWS and transport error to a stable code, and runs the storage session itself
 * (kvsws_session_*): it connects the signaling WebSocket, joins the session, hands the storage
 * service's SDP offer and ICE candidates to the application's own WebRTC stack, carries the answer
 * and candidates back, and keeps the session alive through GO_AWAY, expiry and reconnects.
 *
 * Copyright 2026 the kvsws authors. Licensed under the Apache License, Version 2.0 (LICENSE).
 *
 * Rules of this header:
 *  - every type is opaque; every symbol starts with kvsws_;
 *  - every function that can fail returns a kvsws_status; details go into a kvsws_error the caller
 *    owns (never thread-local state), so a call and its error can hop threads (cgo, asyncio);
 *  - options are set by key (kvsws_config_set_str / _int), so new options never change a struct;
 *  - the numeric values of kvsws_status are stable: they are never renumbered, only added.
 */
#ifndef KVSWS_H
#define KVSWS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(KVSWS_BUILDING) && defined(__GNUC__)
#define KVSWS_API __attribute__((visibility("default")))
#else
#define KVSWS_API
#endif

#define KVSWS_VERSION_MAJOR 0
#define KVSWS_VERSION_MINOR 1
#define KVSWS_VERSION_PATCH 0
#define KVSWS_VERSION_STRING "0.1.0"

/* The version of the library actually loaded (may differ from the header's). */
KVSWS_API const char *kvsws_version(void);

/* ---------------------------------------------------------------------------------------------
 * Status codes. Stable numbers, in ranges:
 *     0        success
 *     1..99    raised on this side before or without talking to AWS
 *   100..199   transport: could not talk to AWS, or what came back was not a valid answer
 *   200..299   AWS answered with an error (the AWS error name is in kvsws_error_code)
 *   300..399   AWS answered, and the answer says the channel cannot do what was asked
 * ------------------------------------------------------------------------------------------- */
typedef enum kvsws_status {
    KVSWS_OK = 0,

    KVSWS_E_PARAM_VALIDATION = 1,      /* bad input: the message names the field and the rule */
    KVSWS_E_NO_CREDENTIALS = 2,        /* no credentials found: the message says where we looked */
    KVSWS_E_NO_REGION = 3,             /* no region found: the message says where we looked */
    KVSWS_E_NO_MEMORY = 4,
    KVSWS_E_CREDENTIAL_RETRIEVAL = 5,  /* a source was found but failed (credential_process,
                                          a file, container credentials, IMDS) */
    KVSWS_E_CANCELLED = 6,             /* kvsws_cancel_trigger() was called */
    KVSWS_E_INTERNAL = 7,              /* a bug in kvsws: please report it */
    KVSWS_E_CONFIG = 8,                /* a bad option value or unknown option */

    KVSWS_E_CONNECT = 100,             /* could not connect (DNS, refused, proxy) */
    KVSWS_E_CONNECT_TIMEOUT = 101,
    KVSWS_E_READ_TIMEOUT = 102,
    KVSWS_E_TLS = 103,                 /* TLS handshake or certificate verification failed */
    KVSWS_E_BAD_RESPONSE = 104,        /* a 2xx whose body is not what the operation returns */
    KVSWS_E_TRANSPORT = 105,           /* any other transport failure (connection reset, ...) */

    KVSWS_E_ACCESS_DENIED = 200,          /* AccessDeniedException */
    KVSWS_E_CLIENT_LIMIT_EXCEEDED = 201,  /* ClientLimitExceededException */
    KVSWS_E_INVALID_ARGUMENT = 202,       /* InvalidArgumentException */
    KVSWS_E_RESOURCE_NOT_FOUND = 203,     /* ResourceNotFoundException */
    KVSWS_E_RESOURCE_IN_USE = 204,        /* ResourceInUseException */
    KVSWS_E_NOT_AUTHORIZED = 205,         /* NotAuthorizedException */
    KVSWS_E_INVALID_CLIENT = 206,         /* InvalidClientException */
    KVSWS_E_SESSION_EXPIRED = 207,        /* SessionExpiredException */
    KVSWS_E_THROTTLING = 230,             /* ThrottlingException and the other throttling codes */
    KVSWS_E_INVALID_SIGNATURE = 231,      /* InvalidSignatureException, SignatureDoesNotMatch */
    KVSWS_E_UNRECOGNIZED_CLIENT = 232,    /* UnrecognizedClientException, InvalidClientTokenId */
    KVSWS_E_EXPIRED_TOKEN = 233,          /* ExpiredTokenException, RequestExpired */
    KVSWS_E_MISSING_AUTHENTICATION = 234, /* MissingAuthenticationTokenException, IncompleteSignature */
    KVSWS_E_INTERNAL_FAILURE = 235,       /* InternalFailure, InternalServerError, any bare 500 */
    KVSWS_E_SERVICE_UNAVAILABLE = 236,    /* ServiceUnavailable(Exception), 502/503/504 */
    KVSWS_E_REQUEST_TIMEOUT = 237,        /* RequestTimeout(Exception) */
    KVSWS_E_SERVICE_OTHER = 299,          /* any other AWS error: see kvsws_error_code() */

    KVSWS_E_STORAGE_NOT_ENABLED = 300     /* "StorageNotEnabledError": a master's storage session
                                             found the channel's media storage not ENABLED
                                             (DescribeMediaStorageConfiguration); final: enable
                                             it with UpdateMediaStorageConfiguration */
} kvsws_status;

/* "KVSWS_E_RESOURCE_NOT_FOUND"; "KVSWS_E_UNKNOWN" for a number this library does not know. */
KVSWS_API const char *kvsws_status_name(kvsws_status status);
/* A one-line English description of the status. */
KVSWS_API const char *kvsws_status_string(kvsws_status status);

/* ---------------------------------------------------------------------------------------------
 * Errors. The caller owns a kvsws_error and passes it to calls; a call that fails fills it in,
 * a call that succeeds clears it. One error object per thread of calls; reuse is fine.
 * ------------------------------------------------------------------------------------------- */
typedef struct kvsws_error kvsws_error;

KVSWS_API kvsws_error *kvsws_error_new(void);            /* NULL only when out of memory */
KVSWS_API void kvsws_error_free(kvsws_error *err);
KVSWS_API kvsws_status kvsws_error_status(const kvsws_error *err);
/* The AWS error name ("ResourceNotFoundException"), or for errors raised on this side the name
 * botocore uses ("ParamValidationError", "NoCredentialsError", "NoRegionError",
 * "EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "SSLError", ...).
 * Never NULL: "" when there is no error. */
KVSWS_API const char *kvsws_error_code(const kvsws_error *err);
KVSWS_API const char *kvsws_error_message(const kvsws_error *err);    /* never NULL; no secrets */
KVSWS_API const char *kvsws_error_operation(const kvsws_error *err);  /* "JoinStorageSession" or "" */
KVSWS_API const char *kvsws_error_request_id(const kvsws_error *err); /* x-amzn-RequestId or "" */
/* A storage session's KVSWS_EVENT_STATUS (the signaling service refused a message this session
 * sent, in a STATUS_RESPONSE): the correlationId of that message, else "". Such an error's
 * operation is the action that was sent ("SDP_ANSWER" or "ICE_CANDIDATE"), its http_status the
 * STATUS_RESPONSE's statusCode, its request id "". */
KVSWS_API const char *kvsws_error_correlation_id(const kvsws_error *err);
KVSWS_API int kvsws_error_http_status(const kvsws_error *err);        /* 0 when none came back */
KVSWS_API int kvsws_error_retryable(const kvsws_error *err);          /* 1 if a retry makes sense */
KVSWS_API int kvsws_error_attempts(const kvsws_error *err);           /* requests sent, retries incl. */
/* The headers of the HTTP answer that carried a service error, as one JSON object with the
 * names in lower case and the values as the server sent them (repeated headers joined by ", "),
 * as botocore's ResponseMetadata.HTTPHeaders: {"x-amzn-requestid": "...", "content-type": ...}.
 * Never NULL: "{}" when no answer came back. At most 64 headers, values cut at 4096 bytes. */
KVSWS_API const char *kvsws_error_http_headers_json(const kvsws_error *err);
/* The line the AWS CLI prints: "An error occurred (CODE) when calling the OP operation: MESSAGE"
 * for service errors ("... when sending the SDP_ANSWER: MESSAGE" for a STATUS_RESPONSE), the
 * message alone for others. */
KVSWS_API const char *kvsws_error_describe(const kvsws_error *err);

/* ---------------------------------------------------------------------------------------------
 * Configuration: a bag of options, copied by kvsws_client_new. String options take NULL to unset.
 * ------------------------------------------------------------------------------------------- */
typedef enum kvsws_option {
    KVSWS_OPT_REGION = 1,             /* str: else AWS_REGION, AWS_DEFAULT_REGION, the profile */
    KVSWS_OPT_PROFILE = 2,            /* str: else AWS_PROFILE, else "default" */
    KVSWS_OPT_ENDPOINT_URL = 3,       /* str: the control plane's endpoint (Describe*,
                                         GetSignalingChannelEndpoint); the channel's endpoints
                                         come from GetSignalingChannelEndpoint (README) */
    KVSWS_OPT_ACCESS_KEY_ID = 4,      /* str: explicit credentials (with the secret) */
    KVSWS_OPT_SECRET_ACCESS_KEY = 5,  /* str */
    KVSWS_OPT_SESSION_TOKEN = 6,      /* str */
    KVSWS_OPT_CA_BUNDLE = 7,          /* str: PEM file of trusted CAs, else AWS_CA_BUNDLE, else
                                         AWS_KVS_CACERT_PATH; TLS is always verified */
    KVSWS_OPT_CONNECT_TIMEOUT_MS = 8, /* int: TCP + TLS, default 10000 -> KVSWS_E_CONNECT_TIMEOUT */
    KVSWS_OPT_READ_TIMEOUT_MS = 9,    /* int: default 60000; no byte for this long ->
                                         KVSWS_E_READ_TIMEOUT */
    KVSWS_OPT_MAX_ATTEMPTS = 10,      /* int: 1..20, default 3 (or AWS_MAX_ATTEMPTS) */
    KVSWS_OPT_RETRY_JOIN = 11,        /* int: 1 (default) retries JoinStorageSession on 5xx,
                                         throttling and connection errors; 0 never retries it */
    KVSWS_OPT_USER_AGENT_EXTRA = 12,  /* str: appended to "kvsws/<version>" */
    KVSWS_OPT_LOG_LEVEL = 13,         /* int: a kvsws_log_level; else the environment variable
                                         KVSWS_LOG_LEVEL (error, warn, info, debug or off, any
                                         case; another value fails kvsws_client_new with
                                         KVSWS_E_CONFIG), else KVSWS_LOG_OFF */
    KVSWS_OPT_CONFIG_FILE = 14,       /* str: else AWS_CONFIG_FILE, else ~/.aws/config */
    KVSWS_OPT_CREDENTIALS_FILE = 15,  /* str: else AWS_SHARED_CREDENTIALS_FILE, else
                                         ~/.aws/credentials */
    KVSWS_OPT_RETRY_BASE_DELAY_MS = 16, /* int: backoff base, default 1000 (max 20000) */
    KVSWS_OPT_USE_FIPS_ENDPOINT = 17,   /* int: 0/1, else AWS_USE_FIPS_ENDPOINT, the profile */
    /* int: default 30000. The total deadline of one HTTPS exchange (an attempt of a call, a
     * credential fetch from STS or the SSO portal, the WebSocket upgrade), from the first connect
     * byte to the answer's last one, however steadily bytes arrive: KVSWS_E_READ_TIMEOUT once
     * connected (KVSWS_E_CONNECT_TIMEOUT before), retryable. Each attempt has its own, so a call
     * ends within KVSWS_OPT_MAX_ATTEMPTS x this plus the backoff. */
    KVSWS_OPT_REQUEST_TIMEOUT_MS = 18,
    /* str: the AWS IoT credentials provider (X.509 device certificates), as
     * AWS_IOT_CORE_CREDENTIAL_ENDPOINT & co. configure it (README "AWS IoT credentials"). Give
     * the first five together; they come after explicit keys and before everything else in the
     * chain. The endpoint: a host as `aws iot describe-endpoint --endpoint-type
     * iot:CredentialProvider` prints it, a host:port or an https:// URL. */
    KVSWS_OPT_IOT_CREDENTIAL_ENDPOINT = 19,
    KVSWS_OPT_IOT_CERT_FILE = 20,        /* str: the device certificate, PEM */
    KVSWS_OPT_IOT_PRIVATE_KEY_FILE = 21, /* str: its private key, PEM */
    KVSWS_OPT_IOT_ROLE_ALIAS = 22,       /* str: [\w=,@-]{1,128} */
    KVSWS_OPT_IOT_THING_NAME = 23,       /* str: [a-zA-Z0-9:_-]{1,128}, sent as x-amzn-iot-thingname */
    KVSWS_OPT_IOT_CA_FILE = 24           /* str: CAs for the IoT endpoint; else KVSWS_OPT_CA_BUNDLE,
                                            AWS_CA_BUNDLE, AWS_KVS_CACERT_PATH, the system store */
} kvsws_option;

typedef enum kvsws_log_level {
    KVSWS_LOG_OFF = 0,
    KVSWS_LOG_ERROR = 1,
    KVSWS_LOG_WARN = 2,
    KVSWS_LOG_INFO = 3,
    KVSWS_LOG_DEBUG = 4   /* each call's answer, canonical requests and strings to sign; never a
                             secret */
} kvsws_log_level;
/* What the levels carry: ERROR a session that ended on an error; WARN recoveries (clock skew
 * corrected, a refused signaling message, a failed ICE refresh, a dropped WebSocket); INFO
 * state changes (client ready, a session's state, an endpoint discovered); DEBUG every call and
 * retry (as botocore, quiet at INFO) and the signing steps. */

/* Where log lines go. Called on the thread that makes the call; must not call back into kvsws. */
typedef void (*kvsws_log_fn)(void *userdata, kvsws_log_level level, const char *line);

typedef struct kvsws_config kvsws_config;

KVSWS_API kvsws_config *kvsws_config_new(void);
KVSWS_API void kvsws_config_free(kvsws_config *cfg);
/* KVSWS_E_CONFIG when the option is unknown or takes the other type; the error names it. */
KVSWS_API kvsws_status kvsws_config_set_str(kvsws_config *cfg, kvsws_option opt, const char *value,
                                            kvsws_error *err);
KVSWS_API kvsws_status kvsws_config_set_int(kvsws_config *cfg, kvsws_option opt, int64_t value,
                                            kvsws_error *err);
/* Log lines at or below the level go to fn (default: none, or stderr when fn is NULL). */
KVSWS_API void kvsws_config_set_log(kvsws_config *cfg, kvsws_log_fn fn, void *userdata);

/* ---------------------------------------------------------------------------------------------
 * Client: one per process is enough. Safe to share between threads; owns a connection pool.
 * Region is resolved here (KVSWS_E_NO_REGION); credentials on the first call that needs them.
 * ------------------------------------------------------------------------------------------- */
typedef struct kvsws_client kvsws_client;

KVSWS_API kvsws_status kvsws_client_new(const kvsws_config *cfg, kvsws_client **out,
                                        kvsws_error *err);
KVSWS_API void kvsws_client_free(kvsws_client *client);
KVSWS_API const char *kvsws_client_region(const kvsws_client *client);
/* Changes the client's log level from now on (any thread, any time; calls in flight see it at
 * their next line), e.g. to follow a host logger whose level changed. Ignores an unknown level. */
KVSWS_API void kvsws_client_set_log_level(kvsws_client *client, kvsws_log_level level);

/* ---------------------------------------------------------------------------------------------
 * Cancellation: trigger from any thread; every call that was given the token returns
 * KVSWS_E_CANCELLED promptly (during connect, transfer or a retry's backoff).
 * ------------------------------------------------------------------------------------------- */
typedef struct kvsws_cancel kvsws_cancel;

KVSWS_API kvsws_cancel *kvsws_cancel_new(void);
KVSWS_API void kvsws_cancel_free(kvsws_cancel *cancel);
KVSWS_API void kvsws_cancel_trigger(kvsws_cancel *cancel);
KVSWS_API void kvsws_cancel_reset(kvsws_cancel *cancel);

/* ---------------------------------------------------------------------------------------------
 * Responses of successful calls.
 * ------------------------------------------------------------------------------------------- */
typedef struct kvsws_response kvsws_response;

KVSWS_API void kvsws_response_free(kvsws_response *resp);
/* The operation's output as JSON, shaped like the AWS API's ("{}" for an empty output). */
KVSWS_API const char *kvsws_response_json(const kvsws_response *resp);
KVSWS_API int kvsws_response_http_status(const kvsws_response *resp);
KVSWS_API const char *kvsws_response_request_id(const kvsws_response *resp);
KVSWS_API int kvsws_response_attempts(const kvsws_response *resp); /* 1 when no retry happened */
/* The answer's headers as one JSON object, as kvsws_error_http_headers_json ("{}" if none). */
KVSWS_API const char *kvsws_response_http_headers_json(const kvsws_response *resp);

/* ---------------------------------------------------------------------------------------------
 * Operations.
 *
 * kvsws_client_call is the generic form the bindings use: operation is the AWS name
 * ("JoinStorageSession", ...) and input_json its input exactly as the AWS API documents it
 * (the same member names boto3 takes). The input is validated before any network I/O.
 * cancel may be NULL. *out (may be NULL if not wanted) receives the response on success.
 *
 * JoinStorageSession and JoinStorageSessionAsViewer go to the channel's WEBRTC endpoint and
 * GetIceServerConfig to its HTTPS endpoint: unless AWS_ENDPOINT_URL_KINESIS_VIDEO_WEBRTC_STORAGE /
 * AWS_ENDPOINT_URL_KINESIS_VIDEO_SIGNALING (or the profile's services section) names one, the
 * client finds them with GetSignalingChannelEndpoint once per channel and role and caches them
 * (KVSWS_OPT_ENDPOINT_URL and AWS_ENDPOINT_URL address the control plane only). When that lookup
 * fails, the error's operation is GetSignalingChannelEndpoint, with its request id.
 * ------------------------------------------------------------------------------------------- */
KVSWS_API kvsws_status kvsws_client_call(kvsws_client *client, const char *operation,
                                         const char *input_json, kvsws_cancel *cancel,
                                         kvsws_response **out, kvsws_error *err);

/* Typed forms of the same calls for C users. NULL optional arguments are left out. */
KVSWS_API kvsws_status kvsws_join_storage_session(kvsws_client *client, const char *channel_arn,
                                                  kvsws_response **out, kvsws_error *err);
KVSWS_API kvsws_status kvsws_join_storage_session_as_viewer(kvsws_client *client,
                                                            const char *channel_arn,
                                                            const char *client_id,
                                                            kvsws_response **out,
                                                            kvsws_error *err);
/* role: "MASTER" (default) or "VIEWER"; protocols: comma list, default "WSS,HTTPS,WEBRTC". */
KVSWS_API kvsws_status kvsws_get_signaling_channel_endpoint(kvsws_client *client,
                                                            const char *channel_arn,
                                                            const char *role,
                                                            const char *protocols,
                                                            kvsws_response **out,
                                                            kvsws_error *err);
/* Exactly one of channel_arn and channel_name. */
KVSWS_API kvsws_status kvsws_describe_signaling_channel(kvsws_client *client,
                                                        const char *channel_arn,
                                                        const char *channel_name,
                                                        kvsws_response **out, kvsws_error *err);
KVSWS_API kvsws_status kvsws_describe_media_storage_configuration(kvsws_client *client,
                                                                  const char *channel_arn,
                                                                  const char *channel_name,
                                                                  kvsws_response **out,
                                                                  kvsws_error *err);
/* client_id: default none; service: default "TURN". */
KVSWS_API kvsws_status kvsws_get_ice_server_config(kvsws_client *client, const char *channel_arn,
                                                   const char *client_id, const char *service,
                                                   kvsws_response **out, kvsws_error *err);


/* ---------------------------------------------------------------------------------------------
 * Signing for your own transport: SigV4 with the client's credentials and region, for a user
 * who sends a request (or opens a WebSocket) with another HTTP stack.
 *
 * url: the full URL; its path is signed as written (encoded once), its query canonicalized.
 * headers: NULL or a NULL-terminated array of "Name: value" strings to sign (Host is added from
 * the URL when absent). body/body_len: the payload (its SHA-256 is signed).
 * expires_s: 0 signs for an Authorization header; 1..604800 presigns a URL valid that long.
 * timestamp: Unix seconds to sign at, 0 for now (tests pin it).
 * *out (free with kvsws_string_free): header mode, the headers to add as "Name: value" lines
 * joined by "\n" (X-Amz-Date, X-Amz-Security-Token if any, Authorization); presign mode, the
 * presigned URL.
 * ------------------------------------------------------------------------------------------- */
KVSWS_API kvsws_status kvsws_sign_request(kvsws_client *client, const char *service,
                                          const char *method, const char *url,
                                          const char *const *headers, const void *body,
                                          size_t body_len, int64_t expires_s, int64_t timestamp,
                                          char **out, kvsws_error *err);
KVSWS_API void kvsws_string_free(char *s);

/* ---------------------------------------------------------------------------------------------
 * Storage sessions: the WebRTC handoff.
 *
 * A session does the whole storage-session flow for one channel: describe the channel and check
 * its media storage is ENABLED, find its WSS/HTTPS/WEBRTC endpoints, fetch the TURN servers,
 * connect the signaling WebSocket, call JoinStorageSession (again if no offer comes), hand the
 * service's SDP offer and ICE candidates to the application's own WebRTC stack, carry the answer
 * and candidates back, and keep it all alive (pings, GO_AWAY, idle close, the 1 hour session
 * limit, RECONNECT_ICE_SERVER, credential refresh) by reconnecting and rejoining with backoff.
 *
 * It is pull-based, like libpq: no callbacks. Either call kvsws_session_next_event with a
 * timeout (it waits, does the work and returns the next event), or wait yourself for
 * kvsws_session_fd to be readable in your own loop (epoll, asyncio, a Go poller), then call
 * kvsws_session_next_event with timeout 0. Many sessions need no thread each.
 * next_event never blocks on the network: reading frames, pings, timers and sends are quick, and
 * the steps that make HTTPS calls or connect (the first connect: describe, endpoints, ICE servers,
 * WebSocket, join; every reconnect and rejoin; the polite close of up to 1 s; the ICE refresh
 * after RECONNECT_ICE_SERVER) run on a few worker threads the client starts with its first
 * session (4, however many sessions, plus up to 60 more while steps run for over a second
 * against slow endpoints, so that those never delay another session's steps; the extra ones
 * leave after 10 s idle) and joins in kvsws_client_free. Every HTTPS exchange of a step is
 * bounded by KVSWS_OPT_REQUEST_TIMEOUT_MS (and the connect and read timeouts). The fd becomes
 * readable when such a step is done; until then the session waits for it (no frames are read,
 * no timers run). The state reads "new" until the first next_event.
 *
 * Threads: one thread reads events; the send functions, kvsws_session_wake,
 * kvsws_session_stats_json and kvsws_session_close are safe to call from any other thread at
 * the same time.
 *
 * Hostile servers: each next_event call does a bounded amount of work (at most 64 signaling
 * messages or about 10 ms of reading, then it returns and the fd stays readable for the rest),
 * so timers, kvsws_session_close and the thread's other sessions keep running while a server
 * floods. No frame is read while events wait for the application: a slow application makes the
 * server wait (TCP backpressure) instead of growing a queue (events queued before a close are
 * still delivered, then KVSWS_EVENT_CLOSED). The signaling WebSocket is failed,
 * with the RFC 6455 close code, and the session reconnects with its backoff (state
 * "reconnecting", the event's error says why) when the server: sends frames faster than
 * KVSWS_SESSION_OPT_FLOOD_LIMIT (1008 Policy Violation), sends a message over 1 MiB (1009), a
 * fragmented message of more than 1024 frames or one that does not complete within 20 s
 * (1008), text that is not UTF-8 (1007, also in a close reason), or a close frame with a
 * reserved code such as 1005, 1006 or 1015 (1002). Pings are answered with one pong for the
 * latest ping (RFC 6455 5.5.3). A signaling message with a NUL character (\u0000) in any string,
 * bytes that are not UTF-8, or a senderClientId that is not 1-256 characters of [a-zA-Z0-9_.-]
 * is refused whole (a WARN log line says why) and the session carries on; the application never
 * sees it.
 * ------------------------------------------------------------------------------------------- */
typedef struct kvsws_session kvsws_session;
typedef struct kvsws_event kvsws_event;

typedef enum kvsws_session_option {
    KVSWS_SESSION_OPT_CHANNEL_ARN = 1,       /* str: the channel (or CHANNEL_NAME) */
    KVSWS_SESSION_OPT_CHANNEL_NAME = 2,      /* str */
    KVSWS_SESSION_OPT_ROLE = 3,              /* int: KVSWS_ROLE_MASTER (default) / _VIEWER */
    KVSWS_SESSION_OPT_CLIENT_ID = 4,         /* str: the viewer's client id (VIEWER only) */
    KVSWS_SESSION_OPT_OFFER_TIMEOUT_MS = 5,  /* int: rejoin when no offer came, default 6000 */
    KVSWS_SESSION_OPT_PING_INTERVAL_MS = 6,  /* int: ping after this much silence, default 10000 */
    KVSWS_SESSION_OPT_MAX_JOIN_ATTEMPTS = 7, /* int: joins without an offer before giving up,
                                                default 5 (then KVSWS_EVENT_CLOSED) */
    KVSWS_SESSION_OPT_MAX_DURATION_MS = 8,   /* int: rejoin before the service's 1 h session
                                                limit, default 3300000 (55 min) */
    KVSWS_SESSION_OPT_CHECK_ANSWER = 9,      /* int: 1 (default) refuse an answer without H.264
                                                video and Opus audio */
    KVSWS_SESSION_OPT_RECONNECT_MAX_MS = 10, /* int: cap of the reconnect backoff, default 30000 */
    KVSWS_SESSION_OPT_FLOOD_LIMIT = 11       /* int: frames a second the signaling server may
                                                sustain (bursts of 10 s worth pass), default 200;
                                                0: no limit. See "Hostile servers" above */
} kvsws_session_option;

typedef enum kvsws_role { KVSWS_ROLE_MASTER = 0, KVSWS_ROLE_VIEWER = 1 } kvsws_role;

typedef enum kvsws_session_state {
    KVSWS_STATE_NEW = 0,
    KVSWS_STATE_CONNECTING = 1,   /* describe, endpoints, ICE servers, WebSocket */
    KVSWS_STATE_JOINING = 2,      /* JoinStorageSession sent, waiting for the offer */
    KVSWS_STATE_CONNECTED = 3,    /* the offer was delivered: signaling is live */
    KVSWS_STATE_RECONNECTING = 4, /* GO_AWAY, a dropped socket, the session limit: coming back */
    KVSWS_STATE_CLOSED = 5        /* for good: see the event's error */
} kvsws_session_state;

typedef enum kvsws_event_type {
    KVSWS_EVENT_NONE = 0,          /* nothing happened within the timeout */
    KVSWS_EVENT_STATE = 1,         /* the state changed: kvsws_event_state */
    KVSWS_EVENT_OFFER = 2,         /* an SDP offer: create a peer connection, answer it */
    KVSWS_EVENT_ICE_CANDIDATE = 3, /* a remote candidate (delivered after its offer) */
    KVSWS_EVENT_ICE_SERVERS = 4,   /* STUN/TURN servers to use (first and refreshed) */
    KVSWS_EVENT_STATUS = 5,        /* the service refused a message we sent */
    KVSWS_EVENT_CLOSED = 6         /* the session ended: kvsws_event_error says why */
} kvsws_event_type;

KVSWS_API kvsws_status kvsws_session_new(kvsws_client *client, kvsws_session **out,
                                         kvsws_error *err);
KVSWS_API kvsws_status kvsws_session_set_str(kvsws_session *s, kvsws_session_option opt,
                                             const char *value, kvsws_error *err);
KVSWS_API kvsws_status kvsws_session_set_int(kvsws_session *s, kvsws_session_option opt,
                                             int64_t value, kvsws_error *err);
/* Checks the options (before any I/O) and starts; the work happens in next_event. */
KVSWS_API kvsws_status kvsws_session_start(kvsws_session *s, kvsws_error *err);
/* A file descriptor that is readable when the session has work or events. Never read it. */
KVSWS_API int kvsws_session_fd(const kvsws_session *s);
/* Waits up to timeout_ms (0: do not wait; -1: forever) for the next event and does the work
 * due. *out is NULL and KVSWS_OK returned when nothing happened; free events with
 * kvsws_event_free. After KVSWS_EVENT_CLOSED it returns no more events. */
KVSWS_API kvsws_status kvsws_session_next_event(kvsws_session *s, int timeout_ms,
                                                kvsws_event **out, kvsws_error *err);
/* Makes a next_event that is waiting return at once (from any thread). */
KVSWS_API void kvsws_session_wake(kvsws_session *s);
KVSWS_API kvsws_session_state kvsws_session_get_state(const kvsws_session *s);

/* Sends the SDP answer to the offer's sender (recipient NULL: the last offer's sender; none
 * when the offer named none). A VIEWER's answer and candidates name no recipient: a recipient
 * is KVSWS_E_PARAM_VALIDATION. With KVSWS_SESSION_OPT_CHECK_ANSWER, an answer without H.264
 * video and Opus audio is refused with KVSWS_E_PARAM_VALIDATION and a message that says what
 * is missing. Candidates given before the answer to the current offer go out right after it. */
KVSWS_API kvsws_status kvsws_session_send_answer(kvsws_session *s, const char *sdp,
                                                 const char *recipient, kvsws_error *err);
/* Sends a local ICE candidate ("candidate:..." line; sdp_mid may be NULL; index -1 if none).
 * Before the answer to the current offer it is held (up to 100, then KVSWS_E_PARAM_VALIDATION)
 * and sent right after the answer, in order: the offerer can use it only then. A new offer
 * drops the held ones. */
KVSWS_API kvsws_status kvsws_session_send_candidate(kvsws_session *s, const char *candidate,
                                                    const char *sdp_mid, int sdp_mline_index,
                                                    const char *recipient, kvsws_error *err);
/* Closes the WebSocket politely and stops; next_event then returns KVSWS_EVENT_CLOSED. Safe from
 * any thread: it also interrupts a connect step in progress (within ~100 ms). */
KVSWS_API void kvsws_session_close(kvsws_session *s);
/* Stops a step in flight on a worker and waits for it (~100 ms at most), then frees. Free every
 * session before its client. */
KVSWS_API void kvsws_session_free(kvsws_session *s);

/* "connecting", "joining", ... */
KVSWS_API const char *kvsws_session_state_name(kvsws_session_state state);

/* The session's metrics as one JSON object in *json_out (free it with kvsws_string_free). Safe
 * from any thread, at any time between kvsws_session_new and kvsws_session_free; the counters
 * are plain numbers kept where the events happen, so reading them costs the session nothing.
 *   {"state": "connected", "state_ms": N,       the state and the time in it
 *    "uptime_ms": N,                             since kvsws_session_start
 *    "joins_sent": N,                            JoinStorageSession(AsViewer) requests, retries
 *                                                incl. (a request that may have reached the
 *                                                service counts: each can cost an offer)
 *    "offers_received": N, "answers_sent": N, "candidates_sent": N, "candidates_received": N,
 *    "reconnects": {"go_away": N, "drop": N, "idle": N, "session_limit": N,
 *                   "ice_refresh": N, "error": N},
 *    "offer_from_start_ms": N|null,              start to the last offer
 *    "offer_from_join_ms": N|null,               the last join to the last offer
 *    "websocket": {"messages_in": N, "bytes_in": N, "messages_out": N, "bytes_out": N},
 *    "backoff_ms": N, "retry_in_ms": N,          the wait before the next connect (0: none)
 *    "last_error": null | {"status": N, "status_name", "code", "message", "operation",
 *                          "http_status": N, "request_id", "ms_ago": N}}
 * Reconnect causes: go_away (GO_AWAY), drop (the WebSocket closed or failed, also for a broken
 * RFC 6455 rule or the flood limit), idle (the WebSocket went silent), session_limit
 * (KVSWS_SESSION_OPT_MAX_DURATION_MS), ice_refresh (RECONNECT_ICE_SERVER: the ICE servers are
 * fetched again on the same WebSocket), error (a connect or join step failed and is retried).
 * websocket counts signaling text messages and their payload bytes (not framing or pings).
 * last_error: the last error the session reported (a reconnecting or closed state, a STATUS
 * event, a failed ICE refresh). New members may be added; none is renamed or removed. */
KVSWS_API kvsws_status kvsws_session_stats_json(kvsws_session *s, char **json_out,
                                                kvsws_error *err);

KVSWS_API void kvsws_event_free(kvsws_event *ev);
KVSWS_API kvsws_event_type kvsws_event_get_type(const kvsws_event *ev);
KVSWS_API kvsws_session_state kvsws_event_state(const kvsws_event *ev);     /* STATE, CLOSED */
KVSWS_API const char *kvsws_event_sdp(const kvsws_event *ev);               /* OFFER */
KVSWS_API const char *kvsws_event_sender_id(const kvsws_event *ev);         /* "" if none */
KVSWS_API const char *kvsws_event_candidate(const kvsws_event *ev);         /* ICE_CANDIDATE */
KVSWS_API const char *kvsws_event_sdp_mid(const kvsws_event *ev);           /* "" if none */
KVSWS_API int kvsws_event_sdp_mline_index(const kvsws_event *ev);           /* -1 if none */
/* ICE_SERVERS: [{"urls": [...], "username": "...", "credential": "..."}], RTCIceServer-shaped */
KVSWS_API const char *kvsws_event_ice_servers(const kvsws_event *ev);
/* The whole event as one JSON object (what the bindings read):
 * {"type": "offer", "state": "...", "sdp": ..., "sender_id": ..., "candidate": ...,
 *  "sdp_mid": ..., "sdp_mline_index": ..., "ice_servers": [...],
 *  "error": {"status": N, "status_name": ..., "code": ..., "message": ..., "operation": ...,
 *  "http_status": N, "request_id": ..., "correlation_id": ..., "retryable": bool}} with only the
 * members that apply ("correlation_id": a STATUS event's, see kvsws_error_correlation_id).
 * ice_servers entries carry "ttl" (seconds) when the service gave one; TURN credentials are
 * fetched again on a reconnect once they are within a minute of it. */
KVSWS_API const char *kvsws_event_json(const kvsws_event *ev);
/* CLOSED, STATUS and RECONNECTING states: why (never NULL; status KVSWS_OK when no error). */
KVSWS_API const kvsws_error *kvsws_event_error(const kvsws_event *ev);

#ifdef __cplusplus
}
#endif
#endif /* KVSWS_H */
