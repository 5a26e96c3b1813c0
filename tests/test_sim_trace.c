/*
 * tests/test_sim_trace.c -- the trace writer of sim/ (sim/trace.c, sim/sim.h "traces"): two
 * traces -- one filled by hand through sim_trace_span (with overlapping and nested spans and
 * names that need escaping), one attached to a world whose host invalidation waits for a
 * subscriber -- are written as one Chrome trace-event document, parsed back with jansson (which
 * rejects invalid JSON and invalid UTF-8), and checked event by event: metadata, exact
 * microseconds, one process per run, one thread per track, lanes for spans that do not nest,
 * escaping, determinism, and errors.
 *
 * Public API only (sim/ sits on <gpusim.h>): no internal header, no leak accounting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "sim.h"

#define US GPUSIM_NS_PER_US

/* Writes traces[0..n) to memory; returns the text (free() it). */
static char *write_all(sim_trace *const *traces, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(sim_trace_write(f, traces, n), 0);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *doc = json_loads(text, 0, &e);
    if (!doc)
        fail_msg("not JSON: %s at line %d col %d\n%s", e.text, e.line, e.column, text);
    return doc;
}

static json_t *events(json_t *doc)
{
    json_t *ev = json_object_get(doc, "traceEvents");
    assert_true(json_is_array(ev));
    assert_string_equal(json_string_value(json_object_get(doc, "displayTimeUnit")), "ns");
    return ev;
}

static json_int_t geti(const json_t *e, const char *k)
{
    json_t *v = json_object_get(e, k);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static const char *gets(const json_t *e, const char *k)
{
    json_t *v = json_object_get(e, k);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

/* The metadata event `what` ("process_name", "thread_name") of (pid, tid): its args.name. */
static const char *meta_name(json_t *ev, json_int_t pid, json_int_t tid, const char *what)
{
    size_t i;
    json_t *e;
    json_array_foreach(ev, i, e)
    {
        if (!strcmp(gets(e, "ph"), "M") && geti(e, "pid") == pid && geti(e, "tid") == tid &&
            !strcmp(gets(e, "name"), what))
            return gets(json_object_get(e, "args"), "name");
    }
    return NULL;
}

/* The tid of the thread named `name` in process pid, or -1. */
static json_int_t tid_named(json_t *ev, json_int_t pid, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach(ev, i, e)
    {
        if (!strcmp(gets(e, "ph"), "M") && geti(e, "pid") == pid &&
            !strcmp(gets(e, "name"), "thread_name") &&
            !strcmp(gets(json_object_get(e, "args"), "name"), name))
            return geti(e, "tid");
    }
    return -1;
}

/* The complete event named `name` of process pid, or NULL. */
static json_t *span_named(json_t *ev, json_int_t pid, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach(ev, i, e)
    {
        if (!strcmp(gets(e, "ph"), "X") && geti(e, "pid") == pid && !strcmp(gets(e, "name"), name))
            return e;
    }
    return NULL;
}

/* Nanoseconds from a microsecond number, exactly (the writer prints whole ns). */
static uint64_t ns_of(const json_t *e, const char *k)
{
    json_t *v = json_object_get(e, k);
    assert_true(json_is_number(v));
    return (uint64_t)(json_number_value(v) * 1000.0 + 0.5);
}

/* Fails unless the complete events of every (pid, tid) nest: each begins after the enclosing one
 * began and ends no later than it ends, or begins after it ended. */
static void check_nesting(json_t *ev)
{
    size_t i, j;
    json_t *a, *b;
    json_array_foreach(ev, i, a)
    {
        if (strcmp(gets(a, "ph"), "X"))
            continue;
        json_array_foreach(ev, j, b)
        {
            uint64_t a0, a1, b0, b1;
            if (j <= i || strcmp(gets(b, "ph"), "X") || geti(a, "pid") != geti(b, "pid") ||
                geti(a, "tid") != geti(b, "tid"))
                continue;
            a0 = ns_of(a, "ts");
            a1 = a0 + ns_of(a, "dur");
            b0 = ns_of(b, "ts");
            b1 = b0 + ns_of(b, "dur");
            /* disjoint, or one inside the other */
            if (!(a1 <= b0 || b1 <= a0 || (a0 <= b0 && b1 <= a1) || (b0 <= a0 && a1 <= b1)))
                fail_msg("spans %s and %s overlap on one thread", gets(a, "name"), gets(b, "name"));
        }
    }
}

/* ---- a world that reports an invalidation ---------------------------------------------------- */

static gpusim_completion_t later;

static gpusim_notifier_answer_t wait_5us(gpusim_notifier_sub_t *sub,
                                         const gpusim_notifier_range_t *r, uint64_t cur_seq,
                                         gpusim_completion_t **wait_on)
{
    gpusim_world_t *w = gpusim_notifier_sub_data(sub);
    gpusim_notifier_set_seq(sub, cur_seq);
    (void)r;
    gpusim_completion_init(&later, NULL);
    assert_int_equal(gpusim_completion_signal_at(w, &later, gpusim_world_now(w) + 5 * US), 0);
    *wait_on = &later;
    return GPUSIM_NOTIFIER_WAIT;
}

/* A host callback: records status + 1 and the result. */
typedef struct done_t {
    int status1;
    uint64_t result;
} done_t;

static void done_cb(void *data, int status, uint64_t result)
{
    done_t *d = data;
    d->status1 = status + 1;
    d->result = result;
}

/* A world whose process munmaps a range a subscriber makes wait 5 us, traced into t. Returns the
 * time of the munmap. */
static gpusim_time_t traced_world(sim_trace *t)
{
    gpusim_world_t *w;
    gpusim_host_t *h;
    gpusim_process_t *p;
    gpusim_notifier_sub_t *sub;
    gpusim_process_config_t pc;
    gpusim_host_config_t hc;
    gpusim_time_t at;
    done_t mm = {0}, um = {0};
    uint64_t va;
    assert_int_equal(gpusim_world_new(NULL, &w), 0);
    assert_int_equal(sim_trace_attach(t, w), 0);
    gpusim_host_config_init(&hc);
    hc.ram_bytes = 64 * GPUSIM_MIB;
    assert_int_equal(gpusim_host_new(w, &hc, &h), 0);
    gpusim_process_config_init(&pc);
    assert_int_equal(gpusim_process_new(h, &pc, &p), 0);
    assert_int_equal(gpusim_process_mmap(p, 0, 16 * 4096, GPUSIM_PROT_READ | GPUSIM_PROT_WRITE,
                                         GPUSIM_MAP_PRIVATE | GPUSIM_MAP_POPULATE, NULL, 0, done_cb,
                                         &mm),
                     0);
    assert_int_equal(gpusim_world_run(w), 0);
    assert_int_equal(mm.status1, 1);
    va = mm.result;
    assert_int_equal(
        gpusim_notifier_insert(gpusim_process_notifier(p), va, 16 * 4096, wait_5us, w, &sub), 0);
    at = gpusim_world_now(w);
    assert_int_equal(gpusim_process_munmap(p, va, 16 * 4096, done_cb, &um), 0);
    assert_int_equal(gpusim_world_run(w), 0);
    assert_int_equal(um.status1, 1);
    gpusim_world_free(w);
    return at;
}

/* ---- tests ----------------------------------------------------------------------------------- */

/*
 * Two runs in one document. Run 1 (by hand): two tracks in order of first appearance; "a" holds
 * a span with one nested inside it, and a span that overlaps it without nesting, which goes to a
 * second lane ("app #2"); a zero-length span; names that need escaping. Run 2: the world's
 * invalidation, with its blocked_ns argument, on the "syscall" track.
 */
static void test_two_traces(void **state)
{
    sim_trace *t[2];
    char *text, *again;
    json_t *doc, *ev, *e;
    json_int_t app, app2, gpu, sys;
    gpusim_time_t at;
    (void)state;
    t[0] = sim_trace_new("steady-reuse/pin/1");
    t[1] = sim_trace_new("munmap \"quoted\" \xc3\xa9 \xff/2"); /* é, then a stray byte */
    assert_non_null(t[0]);
    assert_non_null(t[1]);
    sim_trace_span(t[0], "app", "outer", 1000, 9001);        /* 1.000 .. 9.001 us */
    sim_trace_span(t[0], "gpu", "kernel", 1234567, 2345678); /* a second track */
    sim_trace_span(t[0], "app", "inner", 2000, 3000);        /* nests in outer */
    sim_trace_span(t[0], "app", "straddle", 5000, 12000);    /* overlaps outer: lane 2 */
    sim_trace_span(t[0], "app", "instant", 20000, 20000);    /* zero length */
    sim_trace_span(t[0], "app", "tab\there \"q\" \\ \n", 30000, 30001);
    sim_trace_span(t[0], "app", "backwards", 50000, 40000); /* end < begin: an instant */
    sim_trace_span(t[0], "app", "short", 60000, 61000);     /* same begin as the next: */
    sim_trace_span(t[0], "app", "long", 60000, 70000);      /* the longer one encloses */
    sim_trace_span(t[0], "app", "ctl \x1f", 80000, 80001);
    sim_trace_span(t[0], NULL, "ignored", 0, 1); /* bad input: nothing */
    sim_trace_span(t[0], "app", NULL, 0, 1);
    sim_trace_span(NULL, "app", "ignored", 0, 1);
    at = traced_world(t[1]);

    text = write_all(t, 2);
    doc = parse(text);
    ev = events(doc);

    /* Processes: one per run, named by the labels (escaped; the stray byte became U+FFFD). */
    assert_string_equal(meta_name(ev, 1, 0, "process_name"), "steady-reuse/pin/1");
    assert_string_equal(meta_name(ev, 2, 0, "process_name"),
                        "munmap \"quoted\" \xc3\xa9 \xef\xbf\xbd/2");
    /* Threads: tracks in order of first appearance, then the extra lane. */
    app = tid_named(ev, 1, "app");
    gpu = tid_named(ev, 1, "gpu");
    app2 = tid_named(ev, 1, "app #2");
    assert_int_equal(app, 1);
    assert_int_equal(gpu, 2);
    assert_int_equal(app2, 3);
    sys = tid_named(ev, 2, "syscall");
    assert_int_equal(sys, 1);

    /* Spans: exact microseconds, on their thread and lane. */
    e = span_named(ev, 1, "outer");
    assert_non_null(e);
    assert_int_equal(geti(e, "tid"), app);
    assert_non_null(strstr(text, "\"ts\":1.000,\"dur\":8.001,\"name\":\"outer\""));
    assert_null(json_object_get(e, "args"));
    e = span_named(ev, 1, "kernel");
    assert_int_equal(geti(e, "tid"), gpu);
    assert_non_null(strstr(text, "\"ts\":1234.567,\"dur\":1111.111,\"name\":\"kernel\""));
    assert_int_equal(geti(span_named(ev, 1, "inner"), "tid"), app);
    assert_int_equal(geti(span_named(ev, 1, "straddle"), "tid"), app2);
    e = span_named(ev, 1, "instant");
    assert_int_equal(ns_of(e, "dur"), 0);
    assert_int_equal(geti(span_named(ev, 1, "backwards"), "tid"), app);
    assert_non_null(strstr(text, "\"ts\":50.000,\"dur\":0.000,\"name\":\"backwards\""));
    assert_non_null(span_named(ev, 1, "tab\there \"q\" \\ \n"));
    assert_non_null(span_named(ev, 1, "ctl \x1f"));
    assert_int_equal(geti(span_named(ev, 1, "short"), "tid"), app);
    assert_int_equal(geti(span_named(ev, 1, "long"), "tid"), app);
    assert_null(span_named(ev, 1, "ignored"));

    /* The world's invalidation: begun at the munmap, blocked 5 us. */
    e = span_named(ev, 2, "invalidate unmap");
    assert_non_null(e);
    assert_int_equal(geti(e, "tid"), sys);
    assert_int_equal(ns_of(e, "ts"), at);
    assert_true(ns_of(e, "dur") >= 5 * US);
    assert_int_equal(geti(json_object_get(e, "args"), "blocked_ns"), 5 * US);

    check_nesting(ev);

    /* Writing again gives the same bytes. */
    again = write_all(t, 2);
    assert_string_equal(text, again);
    free(again);
    json_decref(doc);
    free(text);
    sim_trace_free(t[0]);
    sim_trace_free(t[1]);
}

/* Many spans overlapping in a staircase all get lanes; the layout nests on every thread. */
static void test_staircase(void **state)
{
    sim_trace *t = sim_trace_new("stairs");
    char *text;
    json_t *doc, *ev;
    (void)state;
    for (uint64_t i = 0; i < 50; i++)
        sim_trace_span(t, "reclaim", "step", i * 10, i * 10 + 35); /* each overlaps 3 others */
    text = write_all(&t, 1);
    doc = parse(text);
    ev = events(doc);
    check_nesting(ev);
    assert_int_equal(tid_named(ev, 1, "reclaim"), 1);
    assert_true(tid_named(ev, 1, "reclaim #4") > 1);
    assert_int_equal(tid_named(ev, 1, "reclaim #5"), -1); /* four lanes suffice */
    json_decref(doc);
    free(text);
    sim_trace_free(t);
}

/* No traces: an empty, valid document. Bad arguments: errors, no crash. A failing write:
 * GPUSIM_ENOSPC. */
static void test_empty_and_errors(void **state)
{
    sim_trace *t = sim_trace_new(NULL);
    char *text;
    json_t *doc;
    FILE *full;
    gpusim_world_t *w;
    (void)state;
    text = write_all(NULL, 0);
    doc = parse(text);
    assert_int_equal(json_array_size(events(doc)), 0);
    json_decref(doc);
    free(text);

    /* A NULL entry is skipped; its pid is not reused. */
    {
        sim_trace *two[2] = {NULL, t};
        sim_trace_span(t, "x", "y", 0, 1);
        text = write_all(two, 2);
        doc = parse(text);
        assert_string_equal(meta_name(events(doc), 2, 0, "process_name"), "");
        assert_null(meta_name(events(doc), 1, 0, "process_name"));
        json_decref(doc);
        free(text);
    }

    assert_int_equal(sim_trace_write(NULL, &t, 1), GPUSIM_EINVAL);
    assert_int_equal(sim_trace_write(stdout, NULL, 1), GPUSIM_EINVAL);
    assert_int_equal(gpusim_world_new(NULL, &w), 0);
    assert_int_equal(sim_trace_attach(NULL, w), GPUSIM_EINVAL);
    assert_int_equal(sim_trace_attach(t, NULL), GPUSIM_EINVAL);
    gpusim_world_free(w);
    sim_trace_free(NULL);

    full = fopen("/dev/full", "w");
    if (full) {
        assert_int_equal(sim_trace_write(full, &t, 1), GPUSIM_ENOSPC);
        fclose(full);
    }
    sim_trace_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_traces),
        cmocka_unit_test(test_staircase),
        cmocka_unit_test(test_empty_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
