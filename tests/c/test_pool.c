/* SPDX-License-Identifier: Apache-2.0 */
/* test_pool.c - the sessions' workers: slow jobs get workers of their own, quick bursts do not,
 * extra workers leave when idle, and freeing runs what is queued. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "check.h"
#include "base/pool.h"
#include "test_support.h"

/* A job that blocks until released, as a step against a trickling endpoint does. */
typedef struct gate {
    pthread_mutex_t lock;
    pthread_cond_t open_cond;
    int open;
    int started;
} gate;

static gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

static void blocked_job(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g.lock);
    g.started++;
    while (!g.open)
        pthread_cond_wait(&g.open_cond, &g.lock);
    pthread_mutex_unlock(&g.lock);
}

static void open_gate(void)
{
    pthread_mutex_lock(&g.lock);
    g.open = 1;
    pthread_cond_broadcast(&g.open_cond);
    pthread_mutex_unlock(&g.lock);
}

static int64_t done_at[8];
static int done_count;
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;

static void quick_job(void *arg)
{
    int64_t *at = arg;
    pthread_mutex_lock(&done_lock);
    *at = now_ms();
    done_count++;
    pthread_mutex_unlock(&done_lock);
}

static int count_done(void)
{
    pthread_mutex_lock(&done_lock);
    int n = done_count;
    pthread_mutex_unlock(&done_lock);
    return n;
}

/* Two workers, both held by slow jobs: two quick jobs queued behind them still run, on new
 * workers, once the slow ones count as slow (300 ms), not when the slow ones end. */
static void test_slow_jobs_get_company(void)
{
    kvi_pool *p = kvi_pool_new(2, 8, 300, 500);
    CHECK(p != NULL);
    CHECK_INT(kvi_pool_threads(p), 2);
    int64_t t0 = now_ms();
    CHECK_INT(kvi_pool_submit(p, blocked_job, NULL), 0);
    CHECK_INT(kvi_pool_submit(p, blocked_job, NULL), 0);
    CHECK_INT(kvi_pool_submit(p, quick_job, &done_at[0]), 0);
    CHECK_INT(kvi_pool_submit(p, quick_job, &done_at[1]), 0);
    while (count_done() < 2 && now_ms() - t0 < 5000)
        sleep_ms(10);
    CHECK_INT(count_done(), 2);
    int64_t waited = done_at[1] > done_at[0] ? done_at[1] - t0 : done_at[0] - t0;
    CHECK(waited >= 250 && waited < (RUNNING_ON_VALGRIND ? 3000 : 1000));
    /* more workers beside the slow ones (two, unless one slow job was not slow yet) */
    CHECK(kvi_pool_threads(p) >= 3 && kvi_pool_threads(p) <= 4);
    open_gate();
    /* the extras leave after 500 ms without work; the base two stay */
    int64_t t1 = now_ms();
    while (kvi_pool_threads(p) > 2 && now_ms() - t1 < 5000)
        sleep_ms(20);
    CHECK_INT(kvi_pool_threads(p), 2);
    kvi_pool_free(p);
}

/* A burst of quick jobs runs on the base workers: none of them is slow. */
static void test_quick_burst_stays_small(void)
{
    kvi_pool *p = kvi_pool_new(2, 8, 300, 500);
    pthread_mutex_lock(&done_lock);
    done_count = 0;
    pthread_mutex_unlock(&done_lock);
    int64_t sink[200];
    for (int i = 0; i < 200; i++)
        CHECK_INT(kvi_pool_submit(p, quick_job, &sink[i]), 0);
    int64_t t0 = now_ms();
    while (count_done() < 200 && now_ms() - t0 < 5000)
        sleep_ms(5);
    CHECK_INT(count_done(), 200);
    CHECK_INT(kvi_pool_threads(p), 2);
    kvi_pool_free(p);
}

/* Freeing runs what is still queued, then joins everyone. */
static void test_free_runs_the_queue(void)
{
    kvi_pool *p = kvi_pool_new(1, 1, 300, 500);
    pthread_mutex_lock(&done_lock);
    done_count = 0;
    pthread_mutex_unlock(&done_lock);
    int64_t sink[20];
    for (int i = 0; i < 20; i++)
        CHECK_INT(kvi_pool_submit(p, quick_job, &sink[i]), 0);
    kvi_pool_free(p);
    CHECK_INT(count_done(), 20);
    CHECK(kvi_pool_new(0, 4, 300, 500) == NULL);
    CHECK(kvi_pool_new(4, 2, 300, 500) == NULL);
    kvi_pool_free(NULL);
}

int main(void)
{
    test_slow_jobs_get_company();
    test_quick_burst_stays_small();
    test_free_runs_the_queue();
    return CHECK_DONE();
}
