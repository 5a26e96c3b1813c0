/*
 * tests/test_preset.c -- the cost presets (gpusim/preset.h, preset/preset.c).
 *
 * Covers the enumeration (GPU presets first, each kind's default first, unique names), lookup by
 * name, layer names, gpusim_preset_param() (its errors; a default preset changes nothing; every
 * preset's value of every field lies in the field's plausible range and the field's name, unit
 * and range are the table's) and applying a preset to a configuration (every field then reads
 * back as gpusim_preset_param() reports it, which also catches a preset naming a field twice with
 * two values; presets of one kind replace each other completely; errors change nothing; fields
 * of the configurations that are not parameters stay).
 *
 * Everything goes through the public API, over the three tables alike (the `layer` descriptors
 * below), so a table added later is covered by adding one row.
 */
#include "test_util.h"

#include <stdio.h>

#define NPRESETS_MAX 64 /* far more than exist: bounds the enumeration loops */

/* A configuration of any layer: the three public types side by side. */
typedef struct any_config {
    gpusim_host_config_t host;
    gpusim_gpu_config_t gpu;
    gpusim_driver_config_t driver;
} any_config;

/* One parameter table as the public API offers it. */
typedef struct layer_api {
    gpusim_layer_t layer;
    gpusim_preset_kind_t kind; /* the kind of preset that sets it */
    int (*info)(size_t i, gpusim_param_info_t *out);
    int (*get)(const any_config *c, const char *name, uint64_t *value);
    int (*apply)(any_config *c, const char *preset);
} layer_api;

static int host_get(const any_config *c, const char *name, uint64_t *v)
{
    return gpusim_host_config_get(&c->host, name, v);
}
static int gpu_get(const any_config *c, const char *name, uint64_t *v)
{
    return gpusim_gpu_config_get(&c->gpu, name, v);
}
static int driver_get(const any_config *c, const char *name, uint64_t *v)
{
    return gpusim_driver_config_get(&c->driver, name, v);
}
static int host_apply(any_config *c, const char *p)
{
    return gpusim_host_config_preset(&c->host, p);
}
static int gpu_apply(any_config *c, const char *p)
{
    return gpusim_gpu_config_preset(&c->gpu, p);
}
static int driver_apply(any_config *c, const char *p)
{
    return gpusim_driver_config_preset(&c->driver, p);
}

static const layer_api layers[] = {
    {GPUSIM_LAYER_HOST, GPUSIM_PRESET_HOST, gpusim_host_param_info, host_get, host_apply},
    {GPUSIM_LAYER_GPU, GPUSIM_PRESET_GPU, gpusim_gpu_param_info, gpu_get, gpu_apply},
    {GPUSIM_LAYER_DRIVER, GPUSIM_PRESET_GPU, gpusim_driver_param_info, driver_get, driver_apply},
};
#define NLAYERS (sizeof layers / sizeof layers[0])

static void config_init(any_config *c)
{
    memset(c, 0, sizeof *c);
    gpusim_host_config_init(&c->host);
    gpusim_gpu_config_init(&c->gpu);
    gpusim_driver_config_init(&c->driver, GPUSIM_POLICY_REFAULT);
}

/* The number of fields of a table. */
static size_t nfields(const layer_api *l)
{
    gpusim_param_info_t info;
    size_t n = 0;
    while (l->info(n, &info) == 0)
        n++;
    assert_true(n > 0);
    return n;
}

/* The number of presets; fails the test if the enumeration does not end. */
static size_t npresets(void)
{
    gpusim_preset_info_t info;
    size_t n = 0;
    while (n < NPRESETS_MAX && gpusim_preset_info(n, &info) == 0)
        n++;
    assert_true(n < NPRESETS_MAX);
    return n;
}

static gpusim_preset_info_t preset_at(size_t i)
{
    gpusim_preset_info_t info;
    ASSERT_OK(gpusim_preset_info(i, &info));
    return info;
}

/* The name of the default preset of `kind`. */
static const char *default_of(gpusim_preset_kind_t kind)
{
    for (size_t i = 0; i < npresets(); i++) {
        gpusim_preset_info_t p = preset_at(i);
        if (p.kind == kind && p.is_default)
            return p.name;
    }
    fail_msg("no default preset of kind %d", (int)kind);
    return NULL;
}

/* Every field of `l` in *c equals preset `name`'s value. */
static void assert_config_is(const any_config *c, const layer_api *l, const char *name)
{
    for (size_t i = 0; i < nfields(l); i++) {
        gpusim_param_info_t info;
        uint64_t v;
        ASSERT_OK(gpusim_preset_param(name, l->layer, i, &info, NULL));
        ASSERT_OK(l->get(c, info.name, &v));
        if (v != info.def)
            fail_msg("%s.%s: %llu after applying %s, which has %llu", gpusim_layer_name(l->layer),
                     info.name, (unsigned long long)v, name, (unsigned long long)info.def);
    }
}

/* ---- enumeration and lookup ----------------------------------------------------------------- */

static void test_info_gpu_presets_first_default_first(void **state)
{
    (void)state;
    size_t n = npresets();
    assert_true(n >= 3);
    /* The GPU presets form a prefix, and the first preset of each kind is its default. */
    bool seen_host = false, first_gpu = true, first_host = true;
    for (size_t i = 0; i < n; i++) {
        gpusim_preset_info_t p = preset_at(i);
        if (p.kind == GPUSIM_PRESET_GPU) {
            assert_false(seen_host);
            assert_true(p.is_default == first_gpu);
            first_gpu = false;
        } else {
            assert_int_equal(p.kind, GPUSIM_PRESET_HOST);
            seen_host = true;
            assert_true(p.is_default == first_host);
            first_host = false;
        }
    }
    assert_false(first_gpu);
    assert_false(first_host);
    assert_string_equal(default_of(GPUSIM_PRESET_GPU), "nvidia-h100");
    assert_string_equal(default_of(GPUSIM_PRESET_HOST), "linux-x86-64");
}

static void test_info_names_unique_and_described(void **state)
{
    (void)state;
    size_t n = npresets();
    for (size_t i = 0; i < n; i++) {
        gpusim_preset_info_t p = preset_at(i);
        assert_non_null(p.name);
        assert_true(p.name[0] != '\0');
        assert_non_null(p.description);
        assert_true(p.description[0] != '\0');
        for (size_t j = 0; j < i; j++)
            if (strcmp(preset_at(j).name, p.name) == 0)
                fail_msg("presets %zu and %zu are both named %s", j, i, p.name);
    }
}

static void test_info_errors(void **state)
{
    (void)state;
    gpusim_preset_info_t info;
    ASSERT_ERR(gpusim_preset_info(0, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_preset_info(npresets(), &info), GPUSIM_ENOENT);
    ASSERT_ERR(gpusim_preset_info(SIZE_MAX, &info), GPUSIM_ENOENT);
}

static void test_find(void **state)
{
    (void)state;
    for (size_t i = 0; i < npresets(); i++)
        assert_int_equal(gpusim_preset_find(preset_at(i).name), (int)i);
    assert_int_equal(gpusim_preset_find("amd-mi300x"), gpusim_preset_find("amd-mi300x"));
    assert_true(gpusim_preset_find("amd-mi300x") >= 0);
    ASSERT_ERR(gpusim_preset_find("no-such-preset"), GPUSIM_ENOENT);
    ASSERT_ERR(gpusim_preset_find(""), GPUSIM_ENOENT);
    ASSERT_ERR(gpusim_preset_find("NVIDIA-H100"), GPUSIM_ENOENT); /* names are exact */
    ASSERT_ERR(gpusim_preset_find("nvidia-h100 "), GPUSIM_ENOENT);
    ASSERT_ERR(gpusim_preset_find(NULL), GPUSIM_EINVAL);
}

static void test_layer_name(void **state)
{
    (void)state;
    assert_string_equal(gpusim_layer_name(GPUSIM_LAYER_HOST), "host");
    assert_string_equal(gpusim_layer_name(GPUSIM_LAYER_GPU), "gpu");
    assert_string_equal(gpusim_layer_name(GPUSIM_LAYER_DRIVER), "driver");
    assert_string_equal(gpusim_layer_name(GPUSIM_LAYER_COUNT), "?");
    assert_string_equal(gpusim_layer_name((gpusim_layer_t)-1), "?");
}

/* ---- gpusim_preset_param -------------------------------------------------------------------- */

static void test_param_errors(void **state)
{
    (void)state;
    gpusim_param_info_t info;
    bool changed = true;
    const char *gpu = default_of(GPUSIM_PRESET_GPU), *host = default_of(GPUSIM_PRESET_HOST);
    ASSERT_ERR(gpusim_preset_param(NULL, GPUSIM_LAYER_GPU, 0, &info, &changed), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_preset_param(gpu, GPUSIM_LAYER_GPU, 0, NULL, &changed), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_preset_param(gpu, GPUSIM_LAYER_COUNT, 0, &info, &changed), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_preset_param(gpu, (gpusim_layer_t)-1, 0, &info, &changed), GPUSIM_EINVAL);
    /* A preset only has values for the tables its kind sets. */
    ASSERT_ERR(gpusim_preset_param(gpu, GPUSIM_LAYER_HOST, 0, &info, &changed), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_preset_param("amd-mi300x", GPUSIM_LAYER_HOST, 0, &info, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_preset_param(host, GPUSIM_LAYER_GPU, 0, &info, &changed), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_preset_param(host, GPUSIM_LAYER_DRIVER, 0, &info, &changed), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_preset_param("no-such-preset", GPUSIM_LAYER_GPU, 0, &info, &changed),
               GPUSIM_ENOENT);
    for (size_t l = 0; l < NLAYERS; l++) {
        const char *p = default_of(layers[l].kind);
        size_t n = nfields(&layers[l]);
        ASSERT_OK(gpusim_preset_param(p, layers[l].layer, n - 1, &info, NULL));
        ASSERT_ERR(gpusim_preset_param(p, layers[l].layer, n, &info, &changed), GPUSIM_ENOENT);
        ASSERT_ERR(gpusim_preset_param("amd-mi300x", layers[l].layer, n, &info, &changed),
                   layers[l].kind == GPUSIM_PRESET_GPU ? GPUSIM_ENOENT : GPUSIM_EINVAL);
    }
}

/* A default preset is its tables' defaults: it changes no field, and reports the table's row. */
static void test_param_default_preset_changes_nothing(void **state)
{
    (void)state;
    for (size_t l = 0; l < NLAYERS; l++) {
        const char *p = default_of(layers[l].kind);
        for (size_t i = 0; i < nfields(&layers[l]); i++) {
            gpusim_param_info_t want, got;
            bool changed = true;
            ASSERT_OK(layers[l].info(i, &want));
            ASSERT_OK(gpusim_preset_param(p, layers[l].layer, i, &got, &changed));
            if (changed)
                fail_msg("%s changes %s.%s", p, gpusim_layer_name(layers[l].layer), want.name);
            assert_string_equal(got.name, want.name);
            assert_true(got.def == want.def);
            assert_string_equal(got.tag, want.tag);
            assert_string_equal(got.source, want.source);
        }
    }
}

/* Every preset's value of every field lies in the field's plausible range; name, unit and range
 * are the table's whatever the preset; a field a preset leaves is the table's row, and a field
 * it changes has a tag and source of its own. */
static void test_param_every_value_in_range(void **state)
{
    (void)state;
    size_t nchanged = 0;
    for (size_t k = 0; k < npresets(); k++) {
        gpusim_preset_info_t p = preset_at(k);
        for (size_t l = 0; l < NLAYERS; l++) {
            if (layers[l].kind != p.kind)
                continue;
            for (size_t i = 0; i < nfields(&layers[l]); i++) {
                gpusim_param_info_t t, v;
                bool changed;
                ASSERT_OK(layers[l].info(i, &t));
                ASSERT_OK(gpusim_preset_param(p.name, layers[l].layer, i, &v, &changed));
                assert_string_equal(v.name, t.name);
                assert_string_equal(v.unit, t.unit);
                assert_true(v.min == t.min && v.max == t.max);
                if (v.def < v.min || v.def > v.max)
                    fail_msg("%s: %s.%s = %llu is outside %llu..%llu", p.name,
                             gpusim_layer_name(layers[l].layer), v.name, (unsigned long long)v.def,
                             (unsigned long long)v.min, (unsigned long long)v.max);
                assert_non_null(v.tag);
                assert_non_null(v.source);
                assert_true(v.source[0] != '\0');
                if (!changed) {
                    assert_true(v.def == t.def);
                    assert_string_equal(v.source, t.source);
                } else {
                    nchanged++;
                    assert_string_not_equal(v.source, t.source);
                }
            }
        }
    }
    assert_true(nchanged > 0); /* amd-mi300x changes fields: the loop saw both branches */
}

static void test_param_mi300x_changes_what_it_says(void **state)
{
    (void)state;
    gpusim_param_info_t v;
    bool changed = false;
    int seen = 0;
    /* One field it changes (with its value) and one it leaves, in each of its tables. */
    for (size_t i = 0; gpusim_preset_param("amd-mi300x", GPUSIM_LAYER_GPU, i, &v, &changed) == 0;
         i++) {
        if (strcmp(v.name, "vram_size") == 0) {
            assert_true(changed);
            assert_true(v.def == 192 * GPUSIM_GIB);
            seen |= 1;
        } else if (strcmp(v.name, "page_walk_level") == 0) {
            assert_false(changed);
            seen |= 2;
        }
    }
    for (size_t i = 0; gpusim_preset_param("amd-mi300x", GPUSIM_LAYER_DRIVER, i, &v, &changed) == 0;
         i++) {
        if (strcmp(v.name, "fault_granule") == 0) {
            assert_true(changed);
            assert_true(v.def == 2 * GPUSIM_MIB);
            seen |= 4;
        } else if (strcmp(v.name, "retry_timeout") == 0) {
            assert_false(changed);
            seen |= 8;
        }
    }
    assert_int_equal(seen, 15);
}

/* ---- applying a preset ---------------------------------------------------------------------- */

/* Every preset applied to a fresh configuration: every field reads back as the preset's. */
static void test_apply_reads_back(void **state)
{
    (void)state;
    for (size_t k = 0; k < npresets(); k++) {
        gpusim_preset_info_t p = preset_at(k);
        for (size_t l = 0; l < NLAYERS; l++) {
            any_config c;
            if (layers[l].kind != p.kind)
                continue;
            config_init(&c);
            ASSERT_OK(layers[l].apply(&c, p.name));
            assert_config_is(&c, &layers[l], p.name);
        }
    }
}

/* Presets of one kind replace each other: amd-mi300x, then nvidia-h100, is every default again;
 * and the default preset over a configuration changed by name restores it too. */
static void test_apply_default_after_other_restores_defaults(void **state)
{
    (void)state;
    any_config c, fresh;
    config_init(&c);
    config_init(&fresh);
    ASSERT_OK(gpusim_gpu_config_preset(&c.gpu, "amd-mi300x"));
    ASSERT_OK(gpusim_driver_config_preset(&c.driver, "amd-mi300x"));
    assert_config_is(&c, &layers[1], "amd-mi300x");
    assert_config_is(&c, &layers[2], "amd-mi300x");
    ASSERT_OK(gpusim_gpu_config_preset(&c.gpu, "nvidia-h100"));
    ASSERT_OK(gpusim_driver_config_preset(&c.driver, "nvidia-h100"));
    ASSERT_OK(gpusim_host_config_set(&c.host, "swap_in_4k", "9us", false, NULL, 0));
    ASSERT_OK(gpusim_host_config_preset(&c.host, "linux-x86-64"));
    for (size_t l = 0; l < NLAYERS; l++) {
        for (size_t i = 0; i < nfields(&layers[l]); i++) {
            gpusim_param_info_t t;
            uint64_t v, f;
            ASSERT_OK(layers[l].info(i, &t));
            ASSERT_OK(layers[l].get(&c, t.name, &v));
            ASSERT_OK(layers[l].get(&fresh, t.name, &f));
            if (v != t.def || v != f)
                fail_msg("%s.%s: %llu, not the default %llu", gpusim_layer_name(layers[l].layer),
                         t.name, (unsigned long long)v, (unsigned long long)t.def);
        }
    }
}

/* A preset of the wrong kind, an unknown name or a NULL argument: an error, and not one byte of
 * the configuration changes. */
static void test_apply_errors_change_nothing(void **state)
{
    (void)state;
    any_config c, before;
    config_init(&c);
    ASSERT_OK(gpusim_gpu_config_set(&c.gpu, "vram_size", "40GiB", false, NULL, 0));
    ASSERT_OK(gpusim_driver_config_set(&c.driver, "fault_granule", "64KiB", false, NULL, 0));
    ASSERT_OK(gpusim_host_config_set(&c.host, "swap_in_4k", "9us", false, NULL, 0));
    memcpy(&before, &c, sizeof c);
    for (size_t l = 0; l < NLAYERS; l++) {
        const char *wrong = default_of(layers[l].kind == GPUSIM_PRESET_GPU ? GPUSIM_PRESET_HOST
                                                                           : GPUSIM_PRESET_GPU);
        ASSERT_ERR(layers[l].apply(&c, wrong), GPUSIM_EINVAL);
        if (layers[l].kind == GPUSIM_PRESET_HOST)
            ASSERT_ERR(layers[l].apply(&c, "amd-mi300x"), GPUSIM_EINVAL);
        ASSERT_ERR(layers[l].apply(&c, "no-such-preset"), GPUSIM_ENOENT);
        ASSERT_ERR(layers[l].apply(&c, ""), GPUSIM_ENOENT);
        ASSERT_ERR(layers[l].apply(&c, NULL), GPUSIM_EINVAL);
        assert_memory_equal(&c, &before, sizeof c);
    }
    ASSERT_ERR(gpusim_host_config_preset(NULL, "linux-x86-64"), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_config_preset(NULL, "nvidia-h100"), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_driver_config_preset(NULL, "nvidia-h100"), GPUSIM_EINVAL);
}

/* A preset sets parameters only: the name, engines, RAM, swap, THP mode and policy stay. */
static void test_apply_keeps_other_fields(void **state)
{
    (void)state;
    any_config c;
    config_init(&c);
    c.gpu.name = "mygpu";
    c.gpu.engines = 3;
    c.gpu.replayable = false;
    c.host.ram_bytes = 4 * GPUSIM_GIB;
    c.host.swap_bytes = 0;
    c.host.nodes = 2;
    c.host.thp = GPUSIM_THP_ALWAYS;
    c.host.khugepaged = false;
    c.driver.policy = GPUSIM_POLICY_PIN;
    c.driver.name = "mydrv";
    ASSERT_OK(gpusim_gpu_config_preset(&c.gpu, "amd-mi300x"));
    ASSERT_OK(gpusim_driver_config_preset(&c.driver, "amd-mi300x"));
    ASSERT_OK(gpusim_host_config_preset(&c.host, "linux-x86-64"));
    assert_string_equal(c.gpu.name, "mygpu");
    assert_int_equal(c.gpu.engines, 3);
    assert_false(c.gpu.replayable);
    assert_true(c.host.ram_bytes == 4 * GPUSIM_GIB);
    assert_true(c.host.swap_bytes == 0);
    assert_int_equal(c.host.nodes, 2);
    assert_int_equal(c.host.thp, GPUSIM_THP_ALWAYS);
    assert_false(c.host.khugepaged);
    assert_int_equal(c.driver.policy, GPUSIM_POLICY_PIN);
    assert_string_equal(c.driver.name, "mydrv");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_info_gpu_presets_first_default_first),
        GPUSIM_TEST(test_info_names_unique_and_described),
        GPUSIM_TEST(test_info_errors),
        GPUSIM_TEST(test_find),
        GPUSIM_TEST(test_layer_name),
        GPUSIM_TEST(test_param_errors),
        GPUSIM_TEST(test_param_default_preset_changes_nothing),
        GPUSIM_TEST(test_param_every_value_in_range),
        GPUSIM_TEST(test_param_mi300x_changes_what_it_says),
        GPUSIM_TEST(test_apply_reads_back),
        GPUSIM_TEST(test_apply_default_after_other_restores_defaults),
        GPUSIM_TEST(test_apply_errors_change_nothing),
        GPUSIM_TEST(test_apply_keeps_other_fields),
    };
    return cmocka_run_group_tests_name("preset", tests, NULL, NULL);
}
