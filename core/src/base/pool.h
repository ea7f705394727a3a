/* SPDX-License-Identifier: Apache-2.0 */
/* pool.h - worker threads that run the sessions' blocking network steps (internal). */
#ifndef KVSWS_POOL_H
#define KVSWS_POOL_H

typedef struct kvi_pool kvi_pool;
typedef void (*kvi_pool_fn)(void *arg);

/* Starts `base` workers, which always stay. While jobs wait and fewer than `base` workers are
 * free of a slow job (one running for slow_ms or more), more are started, up to `max` in all;
 * such an extra worker leaves after idle_ms without work. NULL when not even one could start. */
kvi_pool *kvi_pool_new(int base, int max, int slow_ms, int idle_ms);

/* Queues fn(arg) for a worker. 0 ok, -1 out of memory (the caller runs it itself). */
int kvi_pool_submit(kvi_pool *p, kvi_pool_fn fn, void *arg);

/* Workers alive now (for tests and diagnostics). */
int kvi_pool_threads(kvi_pool *p);

/* Runs what is queued, then joins the workers and frees the pool. */
void kvi_pool_free(kvi_pool *p);

#endif
