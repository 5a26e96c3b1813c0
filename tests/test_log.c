/*
 * tests/test_log.c -- leveled logging: off by default, filtered before formatting, delivered with
 * the virtual time, truncated safely, and written to stderr when no sink is set.
 */
#include "test_util.h"

#include <stdio.h>
#include <unistd.h>

#include "core/log.h"

typedef struct sink {
    int calls;
    gpusim_log_level_t level;
    gpusim_time_t now;
    char subsystem[32];
    char msg[1024];
} sink_t;

static void capture(void *ud, gpusim_log_level_t level, gpusim_time_t now, const char *subsystem,
                    const char *msg)
{
    sink_t *s = ud;
    s->calls++;
    s->level = level;
    s->now = now;
    snprintf(s->subsystem, sizeof(s->subsystem), "%s", subsystem);
    snprintf(s->msg, sizeof(s->msg), "%s", msg);
}

static int evaluated;

static int side_effect(void)
{
    return ++evaluated;
}

static void test_off_by_default(void **state)
{
    (void)state;
    sink_t s = {0};
    gpusim_world_config_t cfg;
    gpusim_world_t *w;
    gpusim_world_config_init(&cfg);
    cfg.log_cb = capture; /* a sink, but the default level is OFF */
    cfg.log_ud = &s;
    ASSERT_OK(gpusim_world_new(&cfg, &w));
    evaluated = 0;
    GPUSIM_LOG(w, GPUSIM_LOG_ERROR, "test", "value %d", side_effect());
    assert_int_equal(s.calls, 0);
    assert_int_equal(evaluated, 0); /* arguments of a dropped message are not evaluated */
    gpusim_world_free(w);
    assert_int_equal(s.calls, 0);
    ASSERT_NO_LEAK();
}

static void test_levels_filter(void **state)
{
    (void)state;
    sink_t s = {0};
    gpusim_world_t *w = test_world(1);
    ASSERT_OK(gpusim_world_set_log(w, GPUSIM_LOG_WARN, capture, &s));
    GPUSIM_LOG(w, GPUSIM_LOG_INFO, "test", "dropped");
    GPUSIM_LOG(w, GPUSIM_LOG_DEBUG, "test", "dropped");
    assert_int_equal(s.calls, 0);
    GPUSIM_LOG(w, GPUSIM_LOG_WARN, "test", "kept %d", 1);
    GPUSIM_LOG(w, GPUSIM_LOG_ERROR, "test", "kept %d", 2);
    assert_int_equal(s.calls, 2);
    assert_int_equal(s.level, GPUSIM_LOG_ERROR);
    assert_string_equal(s.msg, "kept 2");

    ASSERT_ERR(gpusim_world_set_log(w, (gpusim_log_level_t)9, capture, &s), GPUSIM_EINVAL);
    ASSERT_OK(gpusim_world_set_log(w, GPUSIM_LOG_OFF, capture, &s));
    GPUSIM_LOG(w, GPUSIM_LOG_ERROR, "test", "dropped");
    assert_int_equal(s.calls, 2);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_message_carries_virtual_time(void **state)
{
    (void)state;
    sink_t s = {0};
    gpusim_world_config_t cfg;
    gpusim_world_t *w;
    gpusim_world_config_init(&cfg);
    cfg.log_level = GPUSIM_LOG_INFO;
    cfg.log_cb = capture;
    cfg.log_ud = &s;
    ASSERT_OK(gpusim_world_new(&cfg, &w));
    /* Creation itself is an INFO milestone. */
    assert_int_equal(s.calls, 1);
    assert_string_equal(s.subsystem, "world");
    assert_non_null(strstr(s.msg, "created"));
    ASSERT_OK(gpusim_world_run_until(w, 12345));
    GPUSIM_LOG(w, GPUSIM_LOG_INFO, "tlb", "flush %s", "all");
    assert_int_equal(s.now, 12345);
    assert_string_equal(s.subsystem, "tlb");
    assert_string_equal(s.msg, "flush all");
    gpusim_world_free(w);
    assert_non_null(strstr(s.msg, "freed"));
    ASSERT_NO_LEAK();
}

static void test_long_messages_are_truncated(void **state)
{
    (void)state;
    sink_t s = {0};
    char big[2000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    gpusim_world_t *w = test_world(1);
    ASSERT_OK(gpusim_world_set_log(w, GPUSIM_LOG_DEBUG, capture, &s));
    GPUSIM_LOG(w, GPUSIM_LOG_DEBUG, "test", "%s", big);
    size_t len = strlen(s.msg);
    assert_int_equal(len, 511);
    assert_string_equal(s.msg + len - 3, "...");
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_trace_only_in_debug_builds(void **state)
{
    (void)state;
    sink_t s = {0};
    gpusim_world_t *w = test_world(1);
    ASSERT_OK(gpusim_world_set_log(w, GPUSIM_LOG_TRACE, capture, &s));
    GPUSIM_LOG(w, GPUSIM_LOG_TRACE, "test", "trace");
#ifdef GPUSIM_DEBUG
    assert_int_equal(s.calls, 1);
#else
    assert_int_equal(s.calls, 0); /* compiled out */
#endif
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_default_sink_is_stderr(void **state)
{
    (void)state;
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);

    gpusim_world_t *w = test_world(1);
    ASSERT_OK(gpusim_world_set_log(w, GPUSIM_LOG_WARN, NULL, NULL));
    ASSERT_OK(gpusim_world_run_until(w, 1500000));
    GPUSIM_LOG(w, GPUSIM_LOG_WARN, "dma", "engine %d stalled", 3);
    gpusim_world_free(w);

    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    char line[256] = "";
    rewind(tmp);
    assert_non_null(fgets(line, sizeof(line), tmp));
    fclose(tmp);
    assert_string_equal(line, "gpusim [1.5ms] WARN  dma: engine 3 stalled\n");
    ASSERT_NO_LEAK();
}

static void test_level_names(void **state)
{
    (void)state;
    assert_string_equal(gpusim__log_level_name(GPUSIM_LOG_ERROR), "ERROR");
    assert_string_equal(gpusim__log_level_name(GPUSIM_LOG_TRACE), "TRACE");
    assert_string_equal(gpusim__log_level_name((gpusim_log_level_t)42), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_off_by_default),
        GPUSIM_TEST(test_levels_filter),
        GPUSIM_TEST(test_message_carries_virtual_time),
        GPUSIM_TEST(test_long_messages_are_truncated),
        GPUSIM_TEST(test_trace_only_in_debug_builds),
        GPUSIM_TEST(test_default_sink_is_stderr),
        GPUSIM_TEST(test_level_names),
    };
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
