/* SPDX-License-Identifier: Apache-2.0 */
/* retry.h - the standard retry mode: what is worth retrying and how long to wait. */
#ifndef KVSWS_RETRY_H
#define KVSWS_RETRY_H

#include <stdint.h>

#include "kvsws.h"

/* 1 when an AWS error with this code/HTTP status is transient under the standard retry mode:
 * 500/502/503/504, RequestTimeout(Exception), the throttling codes (Throttling,
 * ThrottlingException, ThrottledException, RequestThrottledException, TooManyRequestsException,
 * ProvisionedThroughputExceededException, TransactionInProgressException, RequestLimitExceeded,
 * BandwidthLimitExceeded, LimitExceededException, RequestThrottled, SlowDown,
 * PriorRequestNotComplete, EC2ThrottledException), and ClientLimitExceededException unless its
 * message says the limit is a count of viewers/clients (not a rate). */
int kvi_retry_is_retryable_service(const char *code, int http_status, const char *message);

/* 1 for a throttling code (those above, plus a TPS ClientLimitExceededException). */
int kvi_retry_is_throttle(const char *code, const char *message);

/* 1 for transport statuses worth a retry (connect errors, timeouts, resets), 0 for TLS etc. */
int kvi_retry_is_retryable_transport(kvsws_status status);

/* Full-jitter exponential backoff before retry number `attempt` (1 = first retry):
 * random in [0, min(max_ms, base_ms * 2^(attempt-1))]. rand01 is a value in [0,1) (injected so
 * tests pin it). */
int64_t kvi_retry_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms, double rand01);

#endif
