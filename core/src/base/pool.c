/* SPDX-License-Identifier: Apache-2.0 */
/* pool.c - worker threads for the sessions' blocking steps, with more of them while some are slow.
 *
 * Why this shape: a session step (describe, endpoints, ICE servers, WebSocket, join) is a few
 * blocking HTTPS exchanges, each bounded by the client's deadlines, so a step against a slow or
 * trickling endpoint may hold its worker for max_attempts x the request timeout. With a fixed
 * four workers, four such steps held all of them and every other session's step waited in the
 * queue, "connecting" with no error. Deadlines alone still leave the others waiting that long;
 * non-blocking steps on a curl multi handle would turn the connect sequence, the retries and
 * every credential provider into state machines. So the steps stay blocking and the pool grows
 * around the slow ones: a watcher adds a worker whenever jobs wait while fewer than `base`
 * workers are free of a job older than slow_ms, up to `max`; a worker beyond `base` leaves after
 * idle_ms without work. A burst of quick steps (a thousand sessions starting) still runs on
 * `base` workers.
 */
#include "base/pool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

typedef struct job {
    kvi_pool_fn fn;
    void *arg;
    struct job *next;
} job;

typedef enum slot_state { SLOT_EMPTY, SLOT_RUNNING, SLOT_EXITED } slot_state;

typedef struct worker {
    kvi_pool *pool;
    pthread_t thread;
    slot_state state;      /* EXITED: the thread returned (or is returning), to be joined */
    int64_t busy_since_ms; /* 0: waiting for a job */
} worker;

struct kvi_pool {
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t ready; /* a job was queued, or stopping was set */
    pthread_cond_t watch; /* the watcher's: a job was queued, or stopping was set */
    job *head, *tail;
    int queued, idle, live; /* jobs waiting; workers waiting for a job; workers alive */
    int base, max, slow_ms, idle_ms;
    int stopping;
    worker *workers; /* max slots */
    pthread_t watcher;
    int has_watcher;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An absolute CLOCK_MONOTONIC time ms from now, for the timed waits. */
static struct timespec in_ms(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    kvi_pool *p = w->pool;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->head && !p->stopping) {
            if (p->live <= p->base) {
                pthread_cond_wait(&p->ready, &p->lock);
                continue;
            }
            struct timespec until = in_ms(p->idle_ms);
            if (pthread_cond_timedwait(&p->ready, &p->lock, &until) == ETIMEDOUT && !p->head &&
                !p->stopping && p->live > p->base)
                goto leave; /* an extra worker with nothing to do */
        }
        job *j = p->head;
        if (!j)
            break; /* stopping, and nothing left to run */
        p->head = j->next;
        if (!p->head)
            p->tail = NULL;
        p->queued--;
        p->idle--;
        w->busy_since_ms = now_ms();
        pthread_mutex_unlock(&p->lock);
        j->fn(j->arg);
        free(j);
        pthread_mutex_lock(&p->lock);
        w->busy_since_ms = 0;
        p->idle++;
    }
leave:
    p->idle--;
    p->live--;
    w->state = SLOT_EXITED;
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Starts one worker in a free slot; called with the lock held. 0 ok, -1 none could start. */
static int spawn(kvi_pool *p)
{
    for (int i = 0; i < p->max; i++) {
        worker *w = &p->workers[i];
        if (w->state == SLOT_EXITED) { /* it let go of the lock for good: the join is quick */
            pthread_join(w->thread, NULL);
            w->state = SLOT_EMPTY;
        }
        if (w->state != SLOT_EMPTY)
            continue;
        w->pool = p;
        w->busy_since_ms = 0;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
            return -1;
        w->state = SLOT_RUNNING;
        p->live++;
        p->idle++;
        return 0;
    }
    return -1;
}

/* Adds workers while jobs wait and fewer than `base` workers are free of a slow job. */
static void *watcher_main(void *arg)
{
    kvi_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stopping) {
        if (p->queued == 0) {
            pthread_cond_wait(&p->watch, &p->lock);
            continue;
        }
        int64_t now = now_ms();
        int slow = 0;
        for (int i = 0; i < p->max; i++) {
            const worker *w = &p->workers[i];
            if (w->state == SLOT_RUNNING && w->busy_since_ms &&
                now - w->busy_since_ms >= p->slow_ms)
                slow++;
        }
        while (p->queued > p->idle && p->live - slow < p->base && p->live < p->max &&
               spawn(p) == 0)
            ;
        /* a quarter of slow_ms: a stuck queue gets its worker within 1.25 x slow_ms */
        struct timespec until = in_ms(p->slow_ms / 4 + 1);
        pthread_cond_timedwait(&p->watch, &p->lock, &until);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

kvi_pool *kvi_pool_new(int base, int max, int slow_ms, int idle_ms)
{
    if (base < 1 || max < base || slow_ms < 1 || idle_ms < 1)
        return NULL;
    kvi_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->workers = calloc((size_t)max, sizeof *p->workers);
    if (!p->workers) {
        free(p);
        return NULL;
    }
    p->base = base;
    p->max = max;
    p->slow_ms = slow_ms;
    p->idle_ms = idle_ms;
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* wall clock jumps move no timeout */
    pthread_cond_init(&p->ready, &attr);
    pthread_cond_init(&p->watch, &attr);
    pthread_condattr_destroy(&attr);
    /* the workers block every signal, so the application's threads keep receiving them; the
     * watcher's later workers inherit its mask */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_mutex_lock(&p->lock);
    for (int i = 0; i < base; i++)
        spawn(p);
    int started = p->live;
    pthread_mutex_unlock(&p->lock);
    if (started > 0 && max > base)
        p->has_watcher = pthread_create(&p->watcher, NULL, watcher_main, p) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (started == 0) {
        kvi_pool_free(p);
        return NULL;
    }
    return p;
}

int kvi_pool_submit(kvi_pool *p, kvi_pool_fn fn, void *arg)
{
    job *j = malloc(sizeof *j);
    if (!j)
        return -1;
    j->fn = fn;
    j->arg = arg;
    j->next = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    p->queued++;
    pthread_cond_signal(&p->ready);
    pthread_cond_signal(&p->watch);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

int kvi_pool_threads(kvi_pool *p)
{
    pthread_mutex_lock(&p->lock);
    int n = p->live;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void kvi_pool_free(kvi_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->ready);
    pthread_cond_signal(&p->watch);
    pthread_mutex_unlock(&p->lock);
    if (p->has_watcher)
        pthread_join(p->watcher, NULL); /* after this no worker starts */
    for (int i = 0; i < p->max; i++) {
        pthread_mutex_lock(&p->lock);
        int started = p->workers[i].state != SLOT_EMPTY;
        pthread_mutex_unlock(&p->lock);
        if (started)
            pthread_join(p->workers[i].thread, NULL);
    }
    pthread_cond_destroy(&p->watch);
    pthread_cond_destroy(&p->ready);
    pthread_mutex_destroy(&p->lock);
    free(p->workers);
    free(p);
}
