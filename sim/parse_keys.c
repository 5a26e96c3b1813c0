/*
 * sim/parse_keys.c -- the keys of each scenario section: how each value is read, where it goes,
 * and which variants of its section it applies to; the setters of [host] and [gpu] that also take
 * cost parameters by name; the host structure check. (The value syntaxes: parse_values.c.)
 *
 * One table per section kind (sim__keys()) is the single description of the fixed keys: the parser
 * looks keys up in it, records the line of each key given (for duplicate detection and for errors
 * found later), and checks the `mask` once the section is complete, since `type =` or `kernel =`
 * may come after the keys that depend on it. docs/scenarios.md documents these tables.
 *
 * Invariants: a setter either stores a valid value or changes nothing and explains why in msg;
 * every stored value already lies in the range the scenario structure documents (kernel fields in
 * the ranges of gpusim_kernel_desc_t, activity fields as sim.h says), so the runner never checks.
 */
#include "parse_internal.h"

#include <stdio.h>
#include <string.h>

_Static_assert(sizeof(gpusim_thp_mode_t) == sizeof(unsigned), "enums are stored as unsigned");
_Static_assert(sizeof(gpusim_access_pattern_t) == sizeof(unsigned), "enums are stored as unsigned");
_Static_assert(sizeof(gpusim_madvise_t) == sizeof(unsigned), "enums are stored as unsigned");
_Static_assert(sizeof(sim_activity_type) == sizeof(unsigned), "enums are stored as unsigned");

/* ---- custom setters ----------------------------------------------------------------------- */

static int set_scenario_name(void *obj, void *aux, const char *v, char *msg, size_t msglen)
{
    sim_scenario *s = obj;
    (void)aux;
    if (!sim__name_ok(v, "-")) {
        snprintf(msg, msglen, "'%s' is not a scenario name ([a-z0-9-], 1 to 31 characters)", v);
        return GPUSIM_EINVAL;
    }
    snprintf(s->name, sizeof s->name, "%s", v);
    return 0;
}

static int set_description(void *obj, void *aux, const char *v, char *msg, size_t msglen)
{
    sim_scenario *s = obj;
    (void)aux;
    if (strlen(v) >= sizeof s->description) {
        snprintf(msg, msglen, "too long (%zu characters, at most %zu)", strlen(v),
                 sizeof s->description - 1);
        return GPUSIM_ERANGE;
    }
    snprintf(s->description, sizeof s->description, "%s", v);
    return 0;
}

static int set_preset(void *obj, void *aux, const char *v, char *msg, size_t msglen)
{
    sim_scenario *s = obj;
    (void)aux;
    return sim__preset_spec(v, s->gpu_preset, s->host_preset, msg, msglen);
}

static int set_gpu_policy(void *obj, void *aux, const char *v, char *msg, size_t msglen)
{
    sim_gpu_desc *g = obj;
    gpusim_policy_t p;
    (void)aux;
    if (gpusim_policy_from_name(v, &p) != 0) {
        size_t off = (size_t)snprintf(msg, msglen, "unknown policy '%s' (one of:", v);
        for (int i = 0; i < GPUSIM_POLICY_COUNT && off < msglen; i++)
            off += (size_t)snprintf(msg + off, msglen - off, "%s %s", i ? "," : "",
                                    gpusim_policy_name((gpusim_policy_t)i));
        if (off < msglen)
            snprintf(msg + off, msglen - off, ")");
        return GPUSIM_EINVAL;
    }
    g->policy_fixed = true;
    g->policy = p;
    return 0;
}

static int set_memlock(void *obj, void *aux, const char *v, char *msg, size_t msglen)
{
    sim_process_desc *p = obj;
    uint64_t b;
    (void)aux;
    if (strcmp(v, "unlimited") == 0) {
        p->cfg.memlock_limit = UINT64_MAX;
        return 0;
    }
    int rc = gpusim_size_parse(v, &b, msg, msglen);
    if (rc != 0)
        return rc;
    p->cfg.memlock_limit = b;
    return 0;
}

/* A reference to another section, resolved once the file is read. */
static int set_ref(sim__ref *r, const char *v, char *msg, size_t msglen)
{
    if (!sim__name_ok(v, "_-")) {
        snprintf(msg, msglen, "'%s' is not a section name ([a-z0-9_-], 1 to 31 characters)", v);
        return GPUSIM_EINVAL;
    }
    memcpy(r->name, v, strlen(v) + 1); /* sim__name_ok: shorter than SIM_NAME_MAX */
    return 0;
}

static int set_buffer_process(void *obj, void *aux, const char *v, char *msg, size_t msglen)
{
    (void)obj;
    return set_ref(&((sim__buffer_pending *)aux)->process, v, msg, msglen);
}

static int set_buffer_size(void *obj, void *aux, const char *v, char *msg, size_t msglen)
{
    sim_buffer_desc *b = obj;
    uint64_t x;
    (void)aux;
    int rc = gpusim_size_parse(v, &x, msg, msglen);
    if (rc != 0)
        return rc;
    if (x == 0 || x % GPUSIM_HOST_PAGE_SIZE != 0) {
        snprintf(msg, msglen, "%s is not a positive multiple of 4KiB", v);
        return GPUSIM_EINVAL;
    }
    b->size = x;
    return 0;
}

static int set_job_gpu(void *obj, void *aux, const char *v, char *msg, size_t msglen)
{
    (void)obj;
    return set_ref(&((sim__job_pending *)aux)->gpu, v, msg, msglen);
}

/* "a, b c": names separated by commas and/or blanks; 1..GPUSIM_JOB_MAX_BUFFERS, distinct. */
static int set_job_buffers(void *obj, void *aux, const char *v, char *msg, size_t msglen)
{
    sim__job_pending *jp = aux;
    sim__ref refs[GPUSIM_JOB_MAX_BUFFERS];
    unsigned n = 0;
    const char *p = v;
    (void)obj;
    for (;;) {
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        size_t len = strcspn(p, ", \t");
        if (n == GPUSIM_JOB_MAX_BUFFERS) {
            snprintf(msg, msglen, "more than %u buffers", GPUSIM_JOB_MAX_BUFFERS);
            return GPUSIM_ERANGE;
        }
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(len < 63 ? len : 63), p);
        int rc = set_ref(&refs[n], name, msg, msglen);
        if (rc != 0)
            return rc;
        for (unsigned i = 0; i < n; i++) {
            if (strcmp(refs[i].name, refs[n].name) == 0) {
                snprintf(msg, msglen, "buffer '%s' is listed twice", refs[n].name);
                return GPUSIM_EINVAL;
            }
        }
        n++;
        p += len;
    }
    if (n == 0) {
        snprintf(msg, msglen, "expected a list of buffer names");
        return GPUSIM_EINVAL;
    }
    memcpy(jp->buffers, refs, n * sizeof refs[0]);
    jp->nbuffers = n;
    return 0;
}

static int set_job_copy(void *obj, void *aux, const char *v, char *msg, size_t msglen)
{
    sim_job_desc *j = obj;
    uint64_t x;
    (void)aux;
    int rc = gpusim_size_parse(v, &x, msg, msglen);
    if (rc != 0)
        return rc;
    if (x == 0) {
        snprintf(msg, msglen, "must be more than 0 bytes");
        return GPUSIM_ERANGE;
    }
    j->kind = SIM_JOB_COPY;
    j->copy_bytes = x;
    return 0;
}

static int set_job_seed(void *obj, void *aux, const char *v, char *msg, size_t msglen)
{
    sim_job_desc *j = obj;
    uint64_t x;
    (void)aux;
    int rc = sim__parse_count(v, &x, msg, msglen);
    if (rc != 0)
        return rc;
    j->kernel.seed = x;
    j->seed_fixed = true;
    return 0;
}

static int set_job_length(void *obj, void *aux, const char *v, char *msg, size_t msglen)
{
    gpusim_time_t t;
    (void)obj;
    int rc = gpusim_duration_parse(v, &t, msg, msglen);
    if (rc != 0)
        return rc;
    if (t == 0) {
        snprintf(msg, msglen, "must be more than 0");
        return GPUSIM_ERANGE;
    }
    ((sim__job_pending *)aux)->length = t;
    return 0;
}

static int set_activity_buffer(void *obj, void *aux, const char *v, char *msg, size_t msglen)
{
    (void)obj;
    return set_ref(&((sim__activity_pending *)aux)->buffer, v, msg, msglen);
}

static int set_activity_process(void *obj, void *aux, const char *v, char *msg, size_t msglen)
{
    (void)obj;
    return set_ref(&((sim__activity_pending *)aux)->process, v, msg, msglen);
}

/* ---- the tables --------------------------------------------------------------------------- */

#define KEY(n, kind_, type, field, lo, hi, msk)                                                    \
    {                                                                                              \
        .name = n, .kind = kind_, .offset = offsetof(type, field),                                 \
        .width = sizeof(((type *)0)->field), .min = lo, .max = hi, .mask = msk                     \
    }
#define ENUMKEY(n, type, field, nm, vals, msk)                                                     \
    {                                                                                              \
        .name = n, .kind = SIM__V_ENUM, .offset = offsetof(type, field),                           \
        .width = sizeof(((type *)0)->field), .min = 0, .max = UINT64_MAX, .names = nm,             \
        .values = vals, .mask = msk                                                                \
    }
#define CUSTOM(n, fn, msk)                                                                         \
    {                                                                                              \
        .name = n, .kind = SIM__V_CUSTOM, .set = fn, .mask = msk                                   \
    }

static const sim__key scenario_keys[] = {
    CUSTOM("name", set_scenario_name, 0),
    CUSTOM("description", set_description, 0),
    KEY("duration", SIM__V_DURATION, sim_scenario, duration, 1, UINT64_MAX, 0),
    KEY("memory_budget", SIM__V_SIZE, sim_scenario, memory_budget, SIM_MEMORY_BUDGET_MIN,
        UINT64_MAX, 0),
    CUSTOM("preset", set_preset, 0),
};

static const char *const thp_names[] = {"never", "madvise", "always", NULL};

static const sim__key host_keys[] = {
    KEY("ram", SIM__V_SIZE, gpusim_host_config_t, ram_bytes, 0, UINT64_MAX, 0),
    KEY("swap", SIM__V_SIZE, gpusim_host_config_t, swap_bytes, 0, UINT64_MAX, 0),
    KEY("nodes", SIM__V_COUNT, gpusim_host_config_t, nodes, 1, 64, 0),
    KEY("movable", SIM__V_SIZE, gpusim_host_config_t, movable_bytes, 0, UINT64_MAX, 0),
    ENUMKEY("thp", gpusim_host_config_t, thp, thp_names, NULL, 0),
    KEY("khugepaged", SIM__V_BOOL, gpusim_host_config_t, khugepaged, 0, 1, 0),
    KEY("mirror_aging", SIM__V_BOOL, gpusim_host_config_t, mirror_aging, 0, 1, 0),
    KEY("data_mode", SIM__V_BOOL, gpusim_host_config_t, data_mode, 0, 1, 0),
};

static const sim__key gpu_keys[] = {
    KEY("engines", SIM__V_COUNT, sim_gpu_desc, cfg.engines, 1, GPUSIM_GPU_MAX_ENGINES, 0),
    KEY("replayable", SIM__V_BOOL, sim_gpu_desc, cfg.replayable, 0, 1, 0),
    CUSTOM("policy", set_gpu_policy, 0),
};

static const sim__key process_keys[] = {
    CUSTOM("memlock", set_memlock, 0),
    KEY("oom_unkillable", SIM__V_BOOL, sim_process_desc, cfg.oom_unkillable, 0, 1, 0),
    KEY("node", SIM__V_COUNT, sim_process_desc, cfg.node, 0, 63, 0),
};

static const sim__key buffer_keys[] = {
    CUSTOM("process", set_buffer_process, 0),
    CUSTOM("size", set_buffer_size, 0),
    KEY("hugepage", SIM__V_BOOL, sim_buffer_desc, hugepage, 0, 1, 0),
    KEY("populate", SIM__V_BOOL, sim_buffer_desc, populate, 0, 1, 0),
    KEY("writable", SIM__V_BOOL, sim_buffer_desc, writable, 0, 1, 0),
    KEY("fragment", SIM__V_PERCENT, sim_buffer_desc, fragment, 0, 90, 0),
};

#define P(x)       (1u << GPUSIM_PATTERN_##x)
#define KERNEL_ALL (P(SEQUENTIAL) | P(STRIDED) | P(RANDOM) | P(HOTCOLD) | P(STENCIL) | P(CHASE))

static const char *const pattern_names[] = {"sequential", "strided", "random", "hotcold",
                                            "stencil",    "chase",   NULL};

static const sim__key job_keys[] = {
    CUSTOM("gpu", set_job_gpu, 0),
    CUSTOM("buffers", set_job_buffers, 0),
    ENUMKEY("kernel", sim_job_desc, kernel.pattern, pattern_names, NULL, KERNEL_ALL),
    CUSTOM("copy", set_job_copy, SIM__JOB_COPY),
    KEY("passes", SIM__V_COUNT, sim_job_desc, kernel.passes, 1, UINT32_MAX, KERNEL_ALL),
    KEY("touches", SIM__V_COUNT, sim_job_desc, kernel.touches_per_pass, 1, UINT64_MAX, KERNEL_ALL),
    KEY("bytes_per_touch", SIM__V_SIZE, sim_job_desc, kernel.bytes_per_touch, 1,
        GPUSIM_PKT_MAX_BYTES_PER_TOUCH, KERNEL_ALL),
    KEY("compute", SIM__V_DURATION, sim_job_desc, kernel.compute_ns_per_touch, 0, UINT32_MAX,
        KERNEL_ALL),
    KEY("write", SIM__V_PERCENT, sim_job_desc, kernel.write_pct, 0, 100, KERNEL_ALL),
    KEY("hot_set", SIM__V_PERCENT, sim_job_desc, kernel.hot_set_pct, 1, 100, P(HOTCOLD)),
    KEY("hot_access", SIM__V_PERCENT, sim_job_desc, kernel.hot_access_pct, 0, 100, P(HOTCOLD)),
    KEY("stride", SIM__V_SIZE, sim_job_desc, kernel.stride, 1, UINT64_MAX, P(STRIDED) | P(STENCIL)),
    KEY("waves", SIM__V_COUNT, sim_job_desc, kernel.waves, 1, UINT32_MAX, KERNEL_ALL),
    CUSTOM("pattern_seed", set_job_seed, P(RANDOM) | P(HOTCOLD) | P(CHASE)),
    CUSTOM("length", set_job_length, KERNEL_ALL),
    KEY("start", SIM__V_DURATION, sim_job_desc, start, 0, UINT64_MAX, 0),
    KEY("repeat", SIM__V_COUNT, sim_job_desc, repeat, 1, UINT64_MAX, 0),
    KEY("interval", SIM__V_DURATION, sim_job_desc, interval, 0, UINT64_MAX, 0),
};
#undef P

#define A(x) (1u << SIM_ACT_##x)
static const char *const activity_names[] = {"churn",    "madvise", "mprotect", "mremap", "fork",
                                             "pressure", "compact", "exit",     NULL};
static const char *const advice_names[] = {"dontneed", "free",       "pageout",
                                           "hugepage", "nohugepage", NULL};
static const unsigned advice_values[] = {GPUSIM_MADV_DONTNEED, GPUSIM_MADV_FREE,
                                         GPUSIM_MADV_PAGEOUT, GPUSIM_MADV_HUGEPAGE,
                                         GPUSIM_MADV_NOHUGEPAGE};
static const char *const prot_names[] = {"none", "read", "read-write", "read-exec", NULL};
static const unsigned prot_values[] = {GPUSIM_PROT_NONE, GPUSIM_PROT_READ,
                                       GPUSIM_PROT_READ | GPUSIM_PROT_WRITE,
                                       GPUSIM_PROT_READ | GPUSIM_PROT_EXEC};
#define RANGED (A(CHURN) | A(MADVISE) | A(MPROTECT) | A(MREMAP) | A(FORK))

static const sim__key activity_keys[] = {
    ENUMKEY("type", sim_activity_desc, type, activity_names, NULL, 0),
    CUSTOM("buffer", set_activity_buffer, RANGED | A(EXIT)),
    CUSTOM("process", set_activity_process, A(FORK) | A(EXIT)),
    KEY("offset", SIM__V_SIZE, sim_activity_desc, offset, 0, UINT64_MAX, RANGED),
    KEY("length", SIM__V_SIZE, sim_activity_desc, len, 0, UINT64_MAX, RANGED),
    KEY("at", SIM__V_DURATION, sim_activity_desc, at, 0, UINT64_MAX, 0),
    KEY("every", SIM__V_DURATION, sim_activity_desc, every, 0, UINT64_MAX, 0),
    KEY("count", SIM__V_COUNT, sim_activity_desc, count, 0, UINT64_MAX, 0),
    ENUMKEY("advice", sim_activity_desc, advice, advice_names, advice_values, A(MADVISE)),
    ENUMKEY("prot", sim_activity_desc, prot, prot_names, prot_values, A(MPROTECT)),
    KEY("hold", SIM__V_DURATION, sim_activity_desc, hold, 0, UINT64_MAX,
        A(MPROTECT) | A(MREMAP) | A(FORK) | A(PRESSURE)),
    KEY("parent_writes", SIM__V_SIZE, sim_activity_desc, parent_writes, 0, UINT64_MAX, A(FORK)),
    KEY("child_writes", SIM__V_SIZE, sim_activity_desc, child_writes, 0, UINT64_MAX, A(FORK)),
    KEY("size", SIM__V_SIZE, sim_activity_desc, bytes, 1, UINT64_MAX, A(PRESSURE)),
    KEY("rate", SIM__V_RATE, sim_activity_desc, rate, 0, UINT64_MAX, A(PRESSURE)),
    KEY("node", SIM__V_COUNT, sim_activity_desc, node, 0, 63, A(COMPACT)),
};
#undef A

#define TABLE(t)                                                                                   \
    do {                                                                                           \
        _Static_assert(sizeof t / sizeof t[0] <= SIM__KEYS_MAX, "table too long");                 \
        *n = sizeof t / sizeof t[0];                                                               \
        return t;                                                                                  \
    } while (0)

const sim__key *sim__keys(sim__sect_kind kind, size_t *n)
{
    switch (kind) {
    case SIM__S_SCENARIO:
        TABLE(scenario_keys);
    case SIM__S_HOST:
        TABLE(host_keys);
    case SIM__S_GPU:
        TABLE(gpu_keys);
    case SIM__S_PROCESS:
        TABLE(process_keys);
    case SIM__S_BUFFER:
        TABLE(buffer_keys);
    case SIM__S_JOB:
        TABLE(job_keys);
    case SIM__S_ACTIVITY:
        TABLE(activity_keys);
    default:
        *n = 0;
        return NULL;
    }
}

/* ---- [host] and [gpu]: fixed keys, then parameters by name -------------------------------- */

const char *sim__host_canonical(const char *key)
{
    /* swap_latency is the name the scenario format gives the swap-in cost. */
    return strcmp(key, "swap_latency") == 0 ? "swap_in_4k" : key;
}

int sim__host_set(sim_scenario *s, const char *key, const char *value, bool force, int *index,
                  char *msg, size_t msglen)
{
    int i = sim__key_find(host_keys, sizeof host_keys / sizeof host_keys[0], key);
    int rc;
    if (index != NULL)
        *index = i;
    if (i >= 0)
        return sim__key_set(&host_keys[i], &s->host, NULL, value, msg, msglen);
    rc = gpusim_host_config_set(&s->host, sim__host_canonical(key), value, force, msg, msglen);
    if (rc == 0)
        sim__mark_explicit(GPUSIM_LAYER_HOST, sim__host_canonical(key), s->host_explicit);
    return rc;
}

int sim__gpu_set(sim_gpu_desc *g, const char *key, const char *value, bool force, int *index,
                 char *msg, size_t msglen)
{
    int i = sim__key_find(gpu_keys, sizeof gpu_keys / sizeof gpu_keys[0], key);
    int rc;
    if (index != NULL)
        *index = i;
    if (i >= 0)
        return sim__key_set(&gpu_keys[i], g, NULL, value, msg, msglen);
    if (strncmp(key, "driver.", 7) == 0) {
        rc = gpusim_driver_config_set(&g->drv, key + 7, value, force, msg, msglen);
        if (rc == 0)
            sim__mark_explicit(GPUSIM_LAYER_DRIVER, key + 7, g->drv_explicit);
        return rc;
    }
    rc = gpusim_gpu_config_set(&g->cfg, key, value, force, msg, msglen);
    if (rc == 0)
        sim__mark_explicit(GPUSIM_LAYER_GPU, key, g->gpu_explicit);
    return rc;
}

int sim__host_check(const gpusim_host_config_t *h, const char **which, char *msg, size_t msglen)
{
    const uint64_t huge = GPUSIM_HOST_HUGE_SIZE;
    char a[GPUSIM_UNITS_BUFSZ];
    gpusim_size_format(h->ram_bytes, a, sizeof a);
    *which = "ram";
    if (h->ram_bytes == 0 || h->ram_bytes % h->nodes != 0 || (h->ram_bytes / h->nodes) % huge) {
        snprintf(msg, msglen, "ram = %s is not a positive multiple of 2MiB per node (%u node%s)", a,
                 h->nodes, h->nodes == 1 ? "" : "s");
        return GPUSIM_EINVAL;
    }
    if (h->ram_bytes > 16 * GPUSIM_TIB) {
        snprintf(msg, msglen, "ram = %s is more than 16TiB", a);
        return GPUSIM_EINVAL;
    }
    *which = "swap";
    if (h->swap_bytes % GPUSIM_HOST_PAGE_SIZE != 0) {
        gpusim_size_format(h->swap_bytes, a, sizeof a);
        snprintf(msg, msglen, "swap = %s is not a multiple of 4KiB", a);
        return GPUSIM_EINVAL;
    }
    *which = "movable";
    if (h->movable_bytes % huge != 0 || h->movable_bytes > h->ram_bytes / h->nodes) {
        gpusim_size_format(h->movable_bytes, a, sizeof a);
        snprintf(msg, msglen, "movable = %s is not a multiple of 2MiB within one node's memory", a);
        return GPUSIM_EINVAL;
    }
    *which = NULL;
    return 0;
}
