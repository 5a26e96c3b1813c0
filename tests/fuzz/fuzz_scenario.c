/*
 * tests/fuzz/fuzz_scenario.c -- libFuzzer target: the scenario parser (sim/sim.h).
 *
 * Input: the text of a scenario file (docs/scenarios.md), any bytes. It is parsed with
 * sim_scenario_parse_text(); a scenario that parses is then given to sim_scenario_apply() with no
 * preset and no settings, as gpusim-bench does before running it. The first line of the input is
 * also parsed as an expectation (sim_expect_parse(), the grammar of `check =` lines). Any return
 * value is fine; an error must come with a message (a NUL-terminated line in the buffer). Only a
 * crash, a leak or a sanitizer report is a failure. Nothing is run: sim_run's cost is the
 * simulation's, which the API target (fuzz_api.c) covers in small bounded worlds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_scenario: check failed at fuzz_scenario.c:%d: %s\n", __LINE__,   \
                    #cond);                                                                        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* An error message is one non-empty, NUL-terminated line inside its buffer. */
static void check_msg(const char *err, size_t len)
{
    CHECK(memchr(err, '\0', len) != NULL);
    CHECK(err[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sim_scenario *s; /* large: allocated once */
    char err[SIM_TEXT_MAX];
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    if (s == NULL && (s = malloc(sizeof *s)) == NULL) {
        free(text);
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';

    memset(err, 0, sizeof err);
    int rc = sim_scenario_parse_text("fuzz.ini", text, s, err, sizeof err);
    CHECK(rc <= 0);
    if (rc != 0) {
        check_msg(err, sizeof err);
    } else {
        memset(err, 0, sizeof err);
        rc = sim_scenario_apply(s, NULL, NULL, 0, false, err, sizeof err);
        CHECK(rc <= 0);
        if (rc != 0)
            check_msg(err, sizeof err);
    }

    char *nl = strchr(text, '\n');
    if (nl)
        *nl = '\0';
    sim_expect e;
    memset(err, 0, sizeof err);
    rc = sim_expect_parse(text, &e, err, sizeof err);
    CHECK(rc == 0 || rc == GPUSIM_EINVAL);
    if (rc != 0)
        check_msg(err, sizeof err);
    free(text);
    return 0;
}
