/* SPDX-License-Identifier: Apache-2.0 */
/* messages.h - reading and handling the signaling service's messages. */
#ifndef KVSWS_SESSION_MESSAGES_H
#define KVSWS_SESSION_MESSAGES_H

#include "session/state.h"

/* Reads the WebSocket within the step's budget. It stops early (and wakes the loop, so the fd
 * stays readable) when the budget is spent: TLS may hold bytes poll() cannot see. */
void kvi_messages_read(kvsws_session *s);

#endif
