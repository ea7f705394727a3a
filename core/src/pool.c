/* SPDX-License-Identifier: Apache-2.0 */
/* pool.c - a fixed few worker threads and a FIFO of jobs, for the sessions' blocking steps. */
#include "pool.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

typedef struct job {
    kvi_pool_fn fn;
    void *arg;
    struct job *next;
} job;

struct kvi_pool {
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t ready; /* a job was queued, or stopping was set */
    job *head, *tail;
    int stopping;
    int started;
    pthread_t *threads;
};

static void *worker(void *arg)
{
    kvi_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->ready, &p->lock);
        job *j = p->head;
        if (!j)
            break; /* stopping, and nothing left to run */
        p->head = j->next;
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->lock);
        j->fn(j->arg);
        free(j);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

kvi_pool *kvi_pool_new(int threads)
{
    kvi_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->threads = calloc((size_t)threads, sizeof *p->threads);
    if (!p->threads) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->ready, NULL);
    /* the workers block every signal, so the application's threads keep receiving them */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[p->started], NULL, worker, p) == 0)
            p->started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (p->started == 0) {
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
    pthread_cond_signal(&p->ready);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

void kvi_pool_free(kvi_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->ready);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->started; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->ready);
    pthread_mutex_destroy(&p->lock);
    free(p->threads);
    free(p);
}
