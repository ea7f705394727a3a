/* SPDX-License-Identifier: Apache-2.0 */
/* connect.h - the (re)connect steps a session runs on the client's workers. */
#ifndef KVSWS_SESSION_CONNECT_H
#define KVSWS_SESSION_CONNECT_H

#include "session/state.h"

/* Closes the WebSocket (politely: a close frame and a short wait, on a worker) and stops
 * watching it. */
void kvi_connect_drop_websocket(kvsws_session *s, int polite);
/* Forgets the candidates that came before their offer (a new connection starts clean). */
void kvi_connect_clear_pending(kvsws_session *s);
/* A failure in a (re)connect step: come back later if it can pass, else close for good. */
void kvi_connect_fail_step(kvsws_session *s, kvsws_error *step_err, kvi_reconnect_cause cause);
/* Hands a blocking step to the client's workers; the loop learns it ended through the timer. */
void kvi_connect_start_job(kvsws_session *s, job_kind kind);
/* 1 when the step in flight has finished (its results wait for kvi_connect_finish_job). */
int kvi_connect_job_done(kvsws_session *s);
/* Waits for a step in flight (stopped early by the cancel flag) and drops what it left. */
void kvi_connect_abandon_job(kvsws_session *s);
/* The reader's half of a connect: what happens before the network (connect_steps, on a worker,
 * does the rest). */
void kvi_connect_start(kvsws_session *s);
/* A finished step's results, applied with the events in the order the inline steps had. */
void kvi_connect_finish_job(kvsws_session *s);

#endif
