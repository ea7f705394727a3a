/* SPDX-License-Identifier: Apache-2.0 */
/* pool.h - a few worker threads that run the sessions' blocking network steps (internal). */
#ifndef KVSWS_POOL_H
#define KVSWS_POOL_H

typedef struct kvi_pool kvi_pool;
typedef void (*kvi_pool_fn)(void *arg);

/* Starts `threads` workers; NULL when not even one could start. */
kvi_pool *kvi_pool_new(int threads);

/* Queues fn(arg) for a worker. 0 ok, -1 out of memory (the caller runs it itself). */
int kvi_pool_submit(kvi_pool *p, kvi_pool_fn fn, void *arg);

/* Runs what is queued, then joins the workers and frees the pool. */
void kvi_pool_free(kvi_pool *p);

#endif
