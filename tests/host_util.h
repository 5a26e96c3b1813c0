/*
 * tests/host_util.h -- what the host MM's test suites share: a completion record for asynchronous
 * host calls, running the world until a call has completed, and the invariant check every test
 * makes after each step. Include after test_util.h.
 */
#ifndef GPUSIM_TESTS_HOST_UTIL_H
#define GPUSIM_TESTS_HOST_UTIL_H

#include "test_util.h"

/* The outcome of one asynchronous host call. Set `w` to record the virtual time of completion. */
typedef struct call {
    int done;         /* times the callback ran (must end up 1) */
    int status;       /* its status */
    uint64_t result;  /* its result */
    gpusim_time_t at; /* virtual time of the callback, when w is set */
    gpusim_world_t *w;
} call;

static inline void call_cb(void *data, int status, uint64_t result)
{
    call *c = data;
    c->done++;
    c->status = status;
    c->result = result;
    if (c->w)
        c->at = gpusim_world_now(c->w);
}

/* Fails the test, with the checker's message, unless every host invariant holds. */
static inline void host_check_ok(const gpusim_host_t *h)
{
    char msg[256];
    if (gpusim_host_check(h, msg, sizeof msg))
        fail_msg("host check: %s", msg);
}

/* Runs the world until nothing is left, asserts the call completed once and the host is
 * consistent, and returns the call's status. */
static inline int host_finish(gpusim_world_t *w, const gpusim_host_t *h, call *c)
{
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(c->done, 1);
    host_check_ok(h);
    return c->status;
}

#endif /* GPUSIM_TESTS_HOST_UTIL_H */
