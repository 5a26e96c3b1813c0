/*
 * gpusim-demo -- the main job until gpusim-bench exists: builds a world, runs a small model on the
 * event engine, and prints every statistic the world recorded.
 *
 * The model is a GPU engine serving a stream of jobs: a host thread submits jobs with exponential
 * inter-arrival times (mean 10 us), the engine runs them one at a time in FIFO order with
 * exponential service times (mean 8 us), so it is an M/M/1 queue at 80 % load. Queueing theory
 * gives its mean time in system as 1 / (mu - lambda) = 40 us, which the output can be checked
 * against. It uses only the public API: worlds, events, named random streams and statistics.
 *
 * stdout carries the results and is bit-identical for the same seed and duration; the wall-clock
 * figure goes to stderr because it is not.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gpusim.h>
#include <uv.h>

#define QUEUE_MAX 4096 /* Jobs that can wait; more are dropped (and counted). */

typedef struct demo {
    gpusim_world_t *w;
    gpusim_rng_t arrivals;         /* Stream "demo.arrivals". */
    gpusim_rng_t service;          /* Stream "demo.service". */
    gpusim_event_t submit;         /* Next job submission. */
    gpusim_event_t finish;         /* Completion of the running job. */
    double mean_gap_ns;            /* Mean inter-arrival time. */
    double mean_service_ns;        /* Mean service time. */
    gpusim_time_t fifo[QUEUE_MAX]; /* Submission times of waiting jobs (ring). */
    size_t head, len;
    bool busy;
    gpusim_time_t busy_since;
    gpusim_stat_t *submitted, *completed, *dropped, *depth, *latency, *busy_ns;
} demo_t;

static gpusim_time_t draw(gpusim_rng_t *rng, double mean)
{
    return (gpusim_time_t)gpusim_rng_exponential(rng, mean) + 1;
}

static void start_next(demo_t *d)
{
    d->busy = true;
    d->busy_since = gpusim_world_now(d->w);
    gpusim_event_schedule_after(d->w, &d->finish, draw(&d->service, d->mean_service_ns));
}

static void on_submit(gpusim_world_t *w, gpusim_event_t *ev)
{
    demo_t *d = ev->data;
    gpusim_stat_add(d->submitted, 1);
    if (d->len == QUEUE_MAX) {
        gpusim_stat_add(d->dropped, 1);
    } else {
        d->fifo[(d->head + d->len++) % QUEUE_MAX] = gpusim_world_now(w);
        gpusim_stat_set(d->depth, (int64_t)d->len);
        if (!d->busy)
            start_next(d);
    }
    gpusim_event_schedule_after(w, ev, draw(&d->arrivals, d->mean_gap_ns));
}

static void on_finish(gpusim_world_t *w, gpusim_event_t *ev)
{
    demo_t *d = ev->data;
    gpusim_time_t now = gpusim_world_now(w);
    gpusim_stat_record(d->latency, now - d->fifo[d->head]);
    gpusim_stat_add(d->busy_ns, now - d->busy_since);
    gpusim_stat_add(d->completed, 1);
    d->head = (d->head + 1) % QUEUE_MAX;
    d->len--;
    gpusim_stat_set(d->depth, (int64_t)d->len);
    d->busy = false;
    if (d->len > 0)
        start_next(d);
}

static int setup(demo_t *d)
{
    struct {
        const char *name;
        gpusim_stat_kind_t kind;
        const char *unit;
        gpusim_stat_t **slot;
    } stats[] = {
        {"demo.jobs.submitted", GPUSIM_STAT_COUNTER, "", &d->submitted},
        {"demo.jobs.completed", GPUSIM_STAT_COUNTER, "", &d->completed},
        {"demo.jobs.dropped", GPUSIM_STAT_COUNTER, "", &d->dropped},
        {"demo.queue.depth", GPUSIM_STAT_GAUGE, "", &d->depth},
        {"demo.latency", GPUSIM_STAT_HISTOGRAM, "ns", &d->latency},
        {"demo.engine.busy", GPUSIM_STAT_COUNTER, "ns", &d->busy_ns},
    };
    for (size_t i = 0; i < sizeof(stats) / sizeof(stats[0]); i++) {
        int rc =
            gpusim_stat_register(d->w, stats[i].name, stats[i].kind, stats[i].unit, stats[i].slot);
        if (rc != 0)
            return rc;
    }
    gpusim_world_rng(d->w, "demo.arrivals", &d->arrivals);
    gpusim_world_rng(d->w, "demo.service", &d->service);
    gpusim_event_init(&d->submit, on_submit, d);
    gpusim_event_init(&d->finish, on_finish, d);
    return gpusim_event_schedule(d->w, &d->submit, 0);
}

/* Prints a value in the statistic's unit. */
static void print_value(const char *unit, uint64_t v, char *buf, size_t len)
{
    if (strcmp(unit, "ns") == 0)
        gpusim_duration_format(v, buf, len);
    else if (strcmp(unit, "bytes") == 0)
        gpusim_size_format(v, buf, len);
    else
        snprintf(buf, len, "%llu", (unsigned long long)v);
}

static void print_stats(gpusim_world_t *w)
{
    gpusim_stats_iter_t it;
    gpusim_stat_info_t s;
    char a[GPUSIM_UNITS_BUFSZ], b[GPUSIM_UNITS_BUFSZ], c[GPUSIM_UNITS_BUFSZ], e[GPUSIM_UNITS_BUFSZ],
        f[GPUSIM_UNITS_BUFSZ];
    printf("%-24s %-9s %s\n", "statistic", "kind", "value");
    gpusim_stats_iter_init(&it, w, NULL);
    while (gpusim_stats_iter_next(&it, &s)) {
        switch (s.kind) {
        case GPUSIM_STAT_COUNTER:
            print_value(s.unit, s.count, a, sizeof(a));
            printf("%-24s %-9s %s\n", s.name, "counter", a);
            break;
        case GPUSIM_STAT_GAUGE:
            print_value(s.unit, (uint64_t)(s.value < 0 ? 0 : s.value), a, sizeof(a));
            print_value(s.unit, (uint64_t)(s.peak < 0 ? 0 : s.peak), b, sizeof(b));
            printf("%-24s %-9s %s (peak %s)\n", s.name, "gauge", a, b);
            break;
        case GPUSIM_STAT_HISTOGRAM:
            print_value(s.unit, s.count ? s.sum / s.count : 0, a, sizeof(a));
            print_value(s.unit, s.p50, b, sizeof(b));
            print_value(s.unit, s.p99, c, sizeof(c));
            print_value(s.unit, s.p999, e, sizeof(e));
            print_value(s.unit, s.max, f, sizeof(f));
            printf("%-24s %-9s n=%llu mean=%s p50=%s p99=%s p99.9=%s max=%s\n", s.name, "histogram",
                   (unsigned long long)s.count, a, b, c, e, f);
            break;
        }
    }
}

static int usage(FILE *out, int rc)
{
    fprintf(out, "usage: gpusim-demo [--seed N] [--time DURATION]\n"
                 "  Runs an M/M/1 GPU job queue for DURATION of virtual time (default 100ms)\n"
                 "  and prints every statistic of the world.\n");
    return rc;
}

int main(int argc, char **argv)
{
    uint64_t seed = 1;
    gpusim_time_t duration = 100 * GPUSIM_NS_PER_MS;
    char msg[160];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return usage(stdout, 0);
        if (i + 1 >= argc)
            return usage(stderr, 2);
        if (strcmp(argv[i], "--seed") == 0) {
            char *end;
            const char *arg = argv[++i];
            errno = 0;
            seed = strtoull(arg, &end, 10);
            if (*arg < '0' || *arg > '9' || *end != '\0' || errno == ERANGE) {
                fprintf(stderr, "gpusim-demo: invalid seed '%s'\n", argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--time") == 0) {
            if (gpusim_duration_parse(argv[++i], &duration, msg, sizeof(msg)) != 0) {
                fprintf(stderr, "gpusim-demo: %s\n", msg);
                return 2;
            }
        } else {
            return usage(stderr, 2);
        }
    }

    static demo_t d; /* the FIFO makes it large; static keeps it off the stack */
    gpusim_world_config_t cfg;
    gpusim_world_config_init(&cfg);
    cfg.seed = seed;
    int rc = gpusim_world_new(&cfg, &d.w);
    if (rc == 0) {
        d.mean_gap_ns = 10.0 * GPUSIM_NS_PER_US;
        d.mean_service_ns = 8.0 * GPUSIM_NS_PER_US;
        rc = setup(&d);
    }
    if (rc != 0) {
        fprintf(stderr, "gpusim-demo: set-up failed: %s\n", gpusim_strerror(rc));
        gpusim_world_free(d.w);
        return 1;
    }

    uint64_t t0 = uv_hrtime();
    rc = gpusim_world_run_until(d.w, duration);
    uint64_t wall = uv_hrtime() - t0;
    if (rc != 0) {
        fprintf(stderr, "gpusim-demo: run failed: %s\n", gpusim_strerror(rc));
        gpusim_world_free(d.w);
        return 1;
    }

    char t[GPUSIM_UNITS_BUFSZ];
    gpusim_duration_format(duration, t, sizeof(t));
    printf("gpusim %s demo: M/M/1 GPU job queue at 80%% load (theory: mean latency 40us)\n",
           gpusim_version_string());
    printf("seed %llu, %s of virtual time\n\n", (unsigned long long)seed, t);
    print_stats(d.w);

    char wt[GPUSIM_UNITS_BUFSZ];
    gpusim_duration_format(wall, wt, sizeof(wt));
    fprintf(stderr, "\n%llu events in %s wall time (%.3g x real time, %s)\n",
            (unsigned long long)gpusim_world_events_run(d.w), wt,
            wall ? (double)duration / (double)wall : 0.0, gpusim_allocator_name());
    gpusim_world_free(d.w);
    return 0;
}
