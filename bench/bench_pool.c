/*
 * bench_pool.c -- the parallel runner of gpusim-bench (bench_pool.h).
 *
 * One private loop holds a SIGINT watcher and the queued work. Each finished run is counted in
 * its after-work callback on the loop thread; when the last one is in, the watcher is closed and
 * uv_run returns. Ctrl-C: the watcher sets the stop flag that running sim_run calls poll between
 * slices of simulated time (they return GPUSIM_ECANCELED), cancels the queued runs (their
 * after-work callback sees UV_ECANCELED), and stops itself, so a second Ctrl-C kills the process
 * at once with the default action.
 */
#include "bench_pool.h"

#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

typedef struct pool {
    uv_loop_t loop;
    uv_signal_t sigint;
    atomic_int stop; /* written by the loop thread, read by sim_run on the pool threads */
    bench_run *runs;
    size_t n, finished, done; /* finished: after-work callbacks seen; done: runs completed */
    bool interrupted;
    bool progress, tty; /* progress display; tty: redraw one line, else print lines */
    uint64_t t0;        /* uv_hrtime at the start, for the ETA (display only) */
} pool;

static void work_cb(uv_work_t *req)
{
    bench_run *r = (bench_run *)req;
    pool *p = req->data;
    sim_run_opts opts = {.stop = &p->stop, .trace = r->trace};
    r->rc = sim_run(r->s, r->policy, r->seed, &opts, &r->result);
}

static void show_progress(pool *p, bool last)
{
    double elapsed = (double)(uv_hrtime() - p->t0) / 1e9;
    char eta[32] = "--:--";
    if (p->done > 0 && p->done < p->n) {
        double left = elapsed / (double)p->done * (double)(p->n - p->done);
        unsigned s = left > 359999 ? 359999 : (unsigned)(left + 0.5);
        if (s >= 3600)
            snprintf(eta, sizeof eta, "%u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
        else
            snprintf(eta, sizeof eta, "%u:%02u", s / 60, s % 60);
    } else if (p->done == p->n) {
        snprintf(eta, sizeof eta, "0:00");
    }
    if (p->tty) {
        enum { WIDTH = 30 };
        char bar[WIDTH + 1];
        size_t fill = p->n ? p->done * WIDTH / p->n : WIDTH;
        for (size_t i = 0; i < WIDTH; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[WIDTH] = '\0';
        fprintf(stderr, "\r[%s] %zu/%zu runs  ETA %s  ", bar, p->done, p->n, eta);
        if (last)
            fputc('\n', stderr);
    } else {
        fprintf(stderr, "gpusim-bench: %zu/%zu runs done, ETA %s\n", p->done, p->n, eta);
    }
    fflush(stderr);
}

static void after_work_cb(uv_work_t *req, int status)
{
    bench_run *r = (bench_run *)req;
    pool *p = req->data;
    p->finished++;
    if (status == UV_ECANCELED || r->rc == GPUSIM_ECANCELED) {
        r->state = BENCH_RUN_CANCELED;
    } else {
        r->state = BENCH_RUN_DONE;
        p->done++;
        if (p->progress)
            show_progress(p, p->done == p->n);
    }
    if (p->finished == p->n) {
        if (p->progress && p->tty && p->done < p->n)
            fputc('\n', stderr); /* leave the bar of an interrupted run on its own line */
        uv_close((uv_handle_t *)&p->sigint, NULL);
    }
}

static void on_sigint(uv_signal_t *h, int signum)
{
    pool *p = h->data;
    (void)signum;
    atomic_store(&p->stop, 1);
    p->interrupted = true;
    uv_signal_stop(h);
    for (size_t i = 0; i < p->n; i++)
        if (p->runs[i].state == BENCH_RUN_PENDING)
            uv_cancel((uv_req_t *)&p->runs[i].req); /* UV_EBUSY when running: it sees stop */
}

int bench_pool_run(bench_run *runs, size_t n, bool progress, bool *interrupted)
{
    pool p = {.runs = runs, .n = n, .progress = progress, .tty = isatty(STDERR_FILENO) == 1};
    int rc;
    atomic_init(&p.stop, 0);
    *interrupted = false;
    if (n == 0)
        return 0;
    if ((rc = uv_loop_init(&p.loop)) != 0)
        return GPUSIM_ENOMEM;
    p.sigint.data = &p;
    if ((rc = uv_signal_init(&p.loop, &p.sigint)) != 0 ||
        (rc = uv_signal_start(&p.sigint, on_sigint, SIGINT)) != 0) {
        fprintf(stderr, "gpusim-bench: cannot watch SIGINT: %s\n", uv_strerror(rc));
        uv_loop_close(&p.loop);
        return GPUSIM_EINVAL;
    }
    p.t0 = uv_hrtime();
    if (p.progress && p.tty)
        show_progress(&p, false);
    for (size_t i = 0; i < n; i++) {
        runs[i].state = BENCH_RUN_PENDING;
        runs[i].req.data = &p;
        if ((rc = uv_queue_work(&p.loop, &runs[i].req, work_cb, after_work_cb)) != 0) {
            /* Cannot happen with a valid callback; count it as canceled so the loop ends. */
            runs[i].state = BENCH_RUN_CANCELED;
            p.finished++;
        }
    }
    if (p.finished == n)
        uv_close((uv_handle_t *)&p.sigint, NULL);
    uv_run(&p.loop, UV_RUN_DEFAULT);
    uv_loop_close(&p.loop);
    *interrupted = p.interrupted;
    return 0;
}
