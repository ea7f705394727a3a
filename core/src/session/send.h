/* SPDX-License-Identifier: Apache-2.0 */
/* send.h - sending answers and candidates, and the correlation ids sent. */
#ifndef KVSWS_SESSION_SEND_H
#define KVSWS_SESSION_SEND_H

#include "session/state.h"

/* Drops the candidates held for an answer (a new offer came); send_lock held. */
void kvi_send_drop_held_locked(kvsws_session *s);
/* What this session sent with that correlation id ("SDP_ANSWER", "ICE_CANDIDATE"), or NULL. */
const char *kvi_send_sent_action(kvsws_session *s, const char *correlation_id);

#endif
