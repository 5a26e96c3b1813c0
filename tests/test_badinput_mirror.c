/*
 * test_badinput_mirror.c -- the bad-input catalogue of mirror.h (policies, drivers, buffers, jobs,
 * the checker), preset.h (cost presets) and packet.h (the packet encoders).
 *
 * Every public function of those headers is called with each kind of bad argument that applies
 * (NULL, zero lengths and counts, addresses and lengths that are not 4 KiB-aligned, ranges past
 * 2^48 or wrapping, policies, layers and flags past the last, names that do not exist, and retired
 * states: a buffer being unregistered or unregistered twice, a buffer whose registration failed,
 * a driver whose context was killed, a driver whose process exited) and must return exactly the
 * error its header documents, change nothing observable (the driver's figures, the host's meminfo,
 * the world's queue and statistics, a config or a packet buffer) and leave the driver usable: the
 * host, GPU and driver checks pass, a good job runs afterwards, and nothing leaks.
 * docs/reliability.md §3 states the rules.
 */
#include "badinput_util.h"
#include "mirror_util.h"
#include "mirror/mirror.h"

#define RAM (64 * GPUSIM_MIB)

/* What a refused call must not change. */
typedef struct msnap {
    gpusim_driver_info_t info;
    gpusim_host_meminfo_t mem;
    gpusim_process_info_t proc;
    size_t pending, stats, subs;
} msnap;

static msnap snap(const mfx *f)
{
    msnap s;
    memset(&s, 0, sizeof s);
    ASSERT_OK(gpusim_driver_info(f->d, &s.info));
    ASSERT_OK(gpusim_host_meminfo(f->h, &s.mem));
    ASSERT_OK(gpusim_process_info(f->p, &s.proc));
    s.pending = gpusim_world_pending(f->w);
    s.stats = gpusim_stats_count(f->w);
    s.subs = gpusim_notifier_count(gpusim_process_notifier(f->p));
    return s;
}

static void assert_unchanged(const mfx *f, const msnap *before)
{
    msnap now = snap(f);
    assert_memory_equal(&now, before, sizeof now);
}

/* The driver still works: consistent, and a good job over a fresh buffer completes. */
static void driver_usable(mfx *f)
{
    call c = {0};
    mfx_check(f);
    gpusim_buffer_t *b = mfx_buffer(f, 4, NULL);
    gpusim_job_desc_t j = mfx_kernel(b, 1, 10);
    ASSERT_OK(gpusim_driver_submit(f->d, &j, call_cb, &c));
    ASSERT_OK(mfx_wait(f, &c));
    memset(&c, 0, sizeof c);
    ASSERT_OK(gpusim_driver_unregister(b, call_cb, &c));
    ASSERT_OK(mfx_wait(f, &c));
    ASSERT_OK(gpusim_world_run(f->w));
    mfx_check(f);
}

/* A fault handler that is not the drivers'. */
static void foreign_handler(gpusim_gpu_t *gpu, void *data)
{
    (void)gpu;
    (void)data;
}

/* ---- policies and configuration ------------------------------------------------------------ */

static void test_policy_config(void **state)
{
    (void)state;
    gpusim_policy_t pol = (gpusim_policy_t)77;
    gpusim_driver_config_t cfg;
    BAD_EQ(strcmp(gpusim_policy_name(GPUSIM_POLICY_COUNT), "?"), 0);
    BAD_EQ(strcmp(gpusim_policy_name((gpusim_policy_t)-1), "?"), 0);
    BAD(gpusim_policy_from_name(NULL, &pol), GPUSIM_EINVAL);
    BAD(gpusim_policy_from_name("pin", NULL), GPUSIM_EINVAL);
    BAD(gpusim_policy_from_name("", &pol), GPUSIM_ENOENT);
    BAD(gpusim_policy_from_name("PIN", &pol), GPUSIM_ENOENT);
    BAD(gpusim_policy_from_name("pin ", &pol), GPUSIM_ENOENT);
    BAD(gpusim_policy_from_name("fence_wait", &pol), GPUSIM_ENOENT);
    assert_int_equal(pol, 77);

    BAD_VOID(gpusim_driver_config_init(NULL, GPUSIM_POLICY_PIN));
    gpusim_driver_config_init(&cfg, GPUSIM_POLICY_REFAULT);
    PARAM_CATALOGUE(gpusim_driver_config_set, gpusim_driver_config_get, gpusim_driver_param_info,
                    gpusim_driver_config_t, cfg, "retry_timeout", "61s");
    BAD(gpusim_driver_config_set(&cfg, "preempt", "2", false, NULL, 0), GPUSIM_EINVAL);
    BAD(gpusim_driver_config_set(&cfg, "prefetch_threshold", "101%", false, NULL, 0),
        GPUSIM_ERANGE);
}

/* ---- drivers ------------------------------------------------------------------------------ */

static void test_driver_new(void **state)
{
    (void)state;
    mfx f;
    mfx_init(&f, RAM, GPUSIM_POLICY_FENCE_WAIT, NULL);
    gpusim_driver_config_t cfg;
    gpusim_driver_t *d = (gpusim_driver_t *)&cfg;
    gpusim_driver_t *const sentinel = d;
    gpusim_gpu_t *g2;
    gpusim_gpu_config_t gc;
    gpusim_driver_config_init(&cfg, GPUSIM_POLICY_PIN);
    gpusim_gpu_config_init(&gc);
    gc.name = "other";
    ASSERT_OK(gpusim_gpu_new(f.w, &gc, &g2));
    gpusim_gpu_t *g3;
    gc.name = "handled";
    ASSERT_OK(gpusim_gpu_new(f.w, &gc, &g3));
    msnap before = snap(&f);

    BAD(gpusim_driver_new(NULL, f.p, &cfg, &d), GPUSIM_EINVAL);
    BAD(gpusim_driver_new(g2, NULL, &cfg, &d), GPUSIM_EINVAL);
    BAD(gpusim_driver_new(g2, f.p, NULL, &d), GPUSIM_EINVAL);
    BAD(gpusim_driver_new(g2, f.p, &cfg, NULL), GPUSIM_EINVAL);
    const int policies[] = {GPUSIM_POLICY_COUNT, -1, 1000};
    for (size_t i = 0; i < 3; i++) {
        gpusim_driver_config_init(&cfg, GPUSIM_POLICY_PIN);
        cfg.policy = (gpusim_policy_t)policies[i];
        BAD(gpusim_driver_new(g2, f.p, &cfg, &d), GPUSIM_EINVAL);
    }
    const char *names[] = {"", "Drv", "a-b", "0123456789012345678901234567890x"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        gpusim_driver_config_init(&cfg, GPUSIM_POLICY_PIN);
        cfg.name = names[i];
        BAD(gpusim_driver_new(g2, f.p, &cfg, &d), GPUSIM_EINVAL);
    }
    /* Parameters that cannot work: a boolean above 1, rings and granules that are not powers of
     * two or are out of bounds (forced past the plausible range, or written directly). */
    const struct {
        int index;
        uint64_t value;
    } params[] = {
        {GPUSIM__DP_preempt, 2},           {GPUSIM__DP_check, UINT64_MAX},
        {GPUSIM__DP_ring_bytes, 0},        {GPUSIM__DP_ring_bytes, 3000},
        {GPUSIM__DP_ring_bytes, 128},      {GPUSIM__DP_ring_bytes, 32 * GPUSIM_MIB},
        {GPUSIM__DP_fault_granule, 0},     {GPUSIM__DP_fault_granule, 2048},
        {GPUSIM__DP_fault_granule, 12288},
    };
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
        gpusim_driver_config_init(&cfg, GPUSIM_POLICY_PIN);
        cfg.params_[params[i].index] = params[i].value;
        BAD(gpusim_driver_new(g2, f.p, &cfg, &d), GPUSIM_EINVAL);
    }
    /* A name taken; a process of another world. */
    gpusim_driver_config_init(&cfg, GPUSIM_POLICY_PIN);
    cfg.name = gpusim_driver_name(f.d);
    BAD(gpusim_driver_new(g2, f.p, &cfg, &d), GPUSIM_EEXIST);
    mfx other;
    mfx_init(&other, RAM, GPUSIM_POLICY_PIN, NULL);
    gpusim_driver_config_init(&cfg, GPUSIM_POLICY_PIN);
    BAD(gpusim_driver_new(g2, other.p, &cfg, &d), GPUSIM_EINVAL);
    gpusim_world_free(other.w);
    /* A device whose fault handler is someone else's. */
    ASSERT_OK(gpusim_gpu_set_fault_handler(g3, foreign_handler, NULL));
    BAD(gpusim_driver_new(g3, f.p, &cfg, &d), GPUSIM_EBUSY);
    ASSERT_OK(gpusim_gpu_set_fault_handler(g3, NULL, NULL));
    assert_ptr_equal(d, sentinel);

    BAD(gpusim_driver_free(NULL), GPUSIM_EINVAL);
    BAD_EQ(gpusim_driver_ctx(NULL), NULL);
    BAD_EQ(gpusim_driver_policy(NULL), GPUSIM_POLICY_COUNT);
    BAD_EQ(gpusim_driver_name(NULL), NULL);
    BAD(gpusim_driver_check(NULL, NULL, 0), GPUSIM_EINVAL);
    gpusim_driver_info_t info;
    POISON(info);
    BAD(gpusim_driver_info(NULL, &info), GPUSIM_EINVAL);
    BAD(gpusim_driver_info(f.d, NULL), GPUSIM_EINVAL);
    ASSERT_UNTOUCHED(info);
    gpusim_violation_t v[2];
    size_t n = 0x5a;
    BAD(gpusim_driver_violations(NULL, v, 2, &n), GPUSIM_EINVAL);
    BAD(gpusim_driver_violations(f.d, v, 2, NULL), GPUSIM_EINVAL);
    BAD(gpusim_driver_violations(f.d, NULL, 2, &n), GPUSIM_EINVAL);
    assert_true(n == 0x5a);
    assert_unchanged(&f, &before);
    driver_usable(&f);
    mfx_free(&f);
}

/* A driver is refused on a process that is not live. */
static void test_driver_dead_process(void **state)
{
    (void)state;
    mfx f;
    mfx_init(&f, RAM, GPUSIM_POLICY_PIN, NULL);
    gpusim_process_t *q;
    gpusim_process_config_t pc;
    gpusim_driver_config_t cfg;
    gpusim_driver_t *d = NULL;
    call c = {0};
    gpusim_process_config_init(&pc);
    pc.name = "gone";
    ASSERT_OK(gpusim_process_new(f.h, &pc, &q));
    ASSERT_OK(gpusim_process_exit(q, call_cb, &c));
    gpusim_driver_config_init(&cfg, GPUSIM_POLICY_PIN);
    BAD(gpusim_driver_new(f.g, q, &cfg, &d), GPUSIM_ESRCH); /* exiting */
    ASSERT_OK(mfx_wait(&f, &c));
    BAD(gpusim_driver_new(f.g, q, &cfg, &d), GPUSIM_ESRCH); /* dead */
    assert_null(d);
    driver_usable(&f);
    mfx_free(&f);
}

/* ---- buffers ------------------------------------------------------------------------------ */

static void test_register(void **state)
{
    (void)state;
    mfx f;
    mfx_init(&f, RAM, GPUSIM_POLICY_FENCE_WAIT, NULL);
    uint64_t va;
    gpusim_buffer_t *b = mfx_buffer(&f, 8, &va);
    gpusim_buffer_t *out = (gpusim_buffer_t *)&f;
    gpusim_buffer_t *const sentinel = out;
    const uint64_t END = GPUSIM_GPU_VA_END, W = GPUSIM_BUFFER_WRITE;
    call c = {0};
    msnap before = snap(&f);

    BAD(gpusim_driver_register(NULL, va, MPAGE, W, &out, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_driver_register(f.d, va, MPAGE, W, NULL, call_cb, &c), GPUSIM_EINVAL);
    const struct {
        uint64_t va, len;
    } bad[] = {
        {0x10000000, 0},
        {0x10000001, MPAGE},
        {0x10000800, MPAGE},
        {0x10000000, MPAGE + 1},
        {0x10000000, 100},
        {END, MPAGE},
        {END - MPAGE, 2 * MPAGE},
        {UINT64_MAX - MPAGE + 1, 2 * MPAGE},
        {0x10000000, UINT64_MAX - MPAGE + 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        BAD(gpusim_driver_register(f.d, bad[i].va, bad[i].len, W, &out, call_cb, &c),
            GPUSIM_EINVAL);
    BAD(gpusim_driver_register(f.d, 0x10000000, MPAGE, 0x2, &out, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_driver_register(f.d, 0x10000000, MPAGE, ~0u, &out, call_cb, &c), GPUSIM_EINVAL);
    /* Overlaps: the same range, inside, straddling either end. */
    BAD(gpusim_driver_register(f.d, va, 8 * MPAGE, W, &out, call_cb, &c), GPUSIM_EEXIST);
    BAD(gpusim_driver_register(f.d, va + 2 * MPAGE, MPAGE, W, &out, call_cb, &c), GPUSIM_EEXIST);
    BAD(gpusim_driver_register(f.d, va - MPAGE, 2 * MPAGE, W, &out, call_cb, &c), GPUSIM_EEXIST);
    BAD(gpusim_driver_register(f.d, va + 7 * MPAGE, 2 * MPAGE, W, &out, call_cb, &c),
        GPUSIM_EEXIST);
    assert_ptr_equal(out, sentinel);
    assert_int_equal(c.done, 0);

    /* buffer_range: NULLs. */
    uint64_t r_va = 0x5a, r_len = 0x5a;
    BAD(gpusim_buffer_range(NULL, &r_va, &r_len), GPUSIM_EINVAL);
    BAD(gpusim_buffer_range(b, NULL, &r_len), GPUSIM_EINVAL);
    BAD(gpusim_buffer_range(b, &r_va, NULL), GPUSIM_EINVAL);
    assert_true(r_va == 0x5a && r_len == 0x5a);
    BAD(gpusim_driver_unregister(NULL, call_cb, &c), GPUSIM_EINVAL);
    assert_unchanged(&f, &before);

    /* A registration that has not reported yet: unregister and submit are EBUSY. */
    gpusim_buffer_t *fresh;
    uint64_t fva = mfx_mmap(&f, 0, 4 * MPAGE, 0);
    ASSERT_OK(gpusim_driver_register(f.d, fva, 4 * MPAGE, W, &fresh, call_cb, &c));
    BAD(gpusim_driver_unregister(fresh, NULL, NULL), GPUSIM_EBUSY);
    gpusim_job_desc_t j = mfx_kernel(fresh, 1, 10);
    BAD(gpusim_driver_submit(f.d, &j, NULL, NULL), GPUSIM_EBUSY);
    ASSERT_OK(mfx_wait(&f, &c));

    /* Unregistering: unregister again is EBUSY, a job naming it EINVAL. */
    call u = {0};
    ASSERT_OK(gpusim_driver_unregister(b, call_cb, &u));
    before = snap(&f);
    BAD(gpusim_driver_unregister(b, call_cb, &u), GPUSIM_EBUSY);
    j = mfx_kernel(fresh, 1, 10);
    j.buffers[1] = b;
    j.nbuffers = 2;
    BAD(gpusim_driver_submit(f.d, &j, NULL, NULL), GPUSIM_EINVAL);
    assert_unchanged(&f, &before);
    ASSERT_OK(mfx_wait(&f, &u));
    assert_int_equal(u.done, 1);
    memset(&c, 0, sizeof c);
    ASSERT_OK(gpusim_driver_unregister(fresh, call_cb, &c));
    ASSERT_OK(mfx_wait(&f, &c));
    driver_usable(&f);
    mfx_free(&f);
}

/* A registration that failed (pin-persistent over an unmapped range): the buffer must still be
 * unregistered, and a job naming it is refused. */
static void test_register_failed(void **state)
{
    (void)state;
    mfx f;
    mfx_init(&f, RAM, GPUSIM_POLICY_PIN_PERSISTENT, NULL);
    gpusim_buffer_t *bad, *good = mfx_buffer(&f, 2, NULL);
    call c = {0};
    ASSERT_OK(gpusim_driver_register(f.d, 0x7000000000, 4 * MPAGE, GPUSIM_BUFFER_WRITE, &bad,
                                     call_cb, &c));
    badinput_calls_++;
    assert_int_equal(mfx_wait(&f, &c), GPUSIM_EFAULT);
    gpusim_job_desc_t j = mfx_kernel(good, 1, 10);
    j.buffers[1] = bad;
    j.nbuffers = 2;
    msnap before = snap(&f);
    BAD(gpusim_driver_submit(f.d, &j, NULL, NULL), GPUSIM_EINVAL);
    assert_unchanged(&f, &before);
    memset(&c, 0, sizeof c);
    ASSERT_OK(gpusim_driver_unregister(bad, call_cb, &c));
    ASSERT_OK(mfx_wait(&f, &c));
    memset(&c, 0, sizeof c);
    ASSERT_OK(gpusim_driver_unregister(good, call_cb, &c));
    ASSERT_OK(mfx_wait(&f, &c));
    driver_usable(&f);
    mfx_free(&f);
}

/* ---- jobs --------------------------------------------------------------------------------- */

static void test_submit(void **state)
{
    (void)state;
    mfx f, other;
    mfx_init(&f, RAM, GPUSIM_POLICY_FENCE_WAIT, NULL);
    mfx_init(&other, RAM, GPUSIM_POLICY_FENCE_WAIT, NULL);
    uint64_t va;
    gpusim_buffer_t *b = mfx_buffer(&f, 8, &va), *b2 = mfx_buffer(&f, 8, NULL);
    gpusim_buffer_t *foreign = mfx_buffer(&other, 8, NULL);
    const gpusim_job_desc_t good = mfx_kernel(b, 1, 10);
    gpusim_job_desc_t j;
    call c = {0};
    msnap before = snap(&f);

    BAD(gpusim_driver_submit(NULL, &good, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_driver_submit(f.d, NULL, call_cb, &c), GPUSIM_EINVAL);
/* Each case below changes one thing of a good job and must be EINVAL. */
#define BAD_JOB(change)                                                                            \
    do {                                                                                           \
        j = good;                                                                                  \
        change;                                                                                    \
        BAD(gpusim_driver_submit(f.d, &j, call_cb, &c), GPUSIM_EINVAL);                            \
    } while (0)
    BAD_JOB(j.nbuffers = 0);
    BAD_JOB(j.nbuffers = GPUSIM_JOB_MAX_BUFFERS + 1);
    BAD_JOB(j.nbuffers = UINT32_MAX);
    BAD_JOB(j.buffers[0] = NULL);
    BAD_JOB(j.buffers[0] = foreign);
    BAD_JOB((j.buffers[1] = b, j.nbuffers = 2));
    BAD_JOB(j.kind = (gpusim_job_kind_t)2);
    BAD_JOB(j.kind = (gpusim_job_kind_t)-1);
    BAD_JOB(j.kernel.passes = 0);
    BAD_JOB(j.kernel.waves = 0);
    BAD_JOB(j.kernel.touches_per_pass = 0);
    BAD_JOB(j.kernel.bytes_per_touch = 0);
    BAD_JOB(j.kernel.bytes_per_touch = 4097);
    BAD_JOB(j.kernel.write_pct = 101);
    BAD_JOB(j.kernel.pattern = (gpusim_access_pattern_t)7);
    BAD_JOB(j.kernel.seed = 1);               /* unused by STRIDED: must be zero */
    BAD_JOB(j.kernel.buffer_va = va + MPAGE); /* runs past the buffer */
    BAD_JOB(j.kernel.buffer_va = va - MPAGE); /* starts before it */
    BAD_JOB(j.kernel.buffer_bytes = 0);
    BAD_JOB(j.kernel.buffer_va = UINT64_MAX - MPAGE + 1); /* wraps */
    BAD_JOB((j.kernel.buffer_va = va, j.kernel.buffer_bytes = UINT64_MAX));
    /* Copies: zero bytes, ranges outside the named buffers, wrapping. */
    j = good;
    j.kind = GPUSIM_JOB_COPY;
    memset(&j.kernel, 0, sizeof j.kernel);
    j.copy_src = va;
    j.copy_dst = va + 4 * MPAGE;
    j.copy_bytes = MPAGE;
    const gpusim_job_desc_t copy = j;
    ASSERT_OK(gpusim_driver_submit(f.d, &copy, call_cb, &c)); /* the good copy */
    ASSERT_OK(mfx_wait(&f, &c));
    before = snap(&f);
    memset(&c, 0, sizeof c);
#undef BAD_JOB
#define BAD_COPY(change)                                                                           \
    do {                                                                                           \
        j = copy;                                                                                  \
        change;                                                                                    \
        BAD(gpusim_driver_submit(f.d, &j, call_cb, &c), GPUSIM_EINVAL);                            \
    } while (0)
    BAD_COPY(j.copy_bytes = 0);
    BAD_COPY(j.copy_bytes = 8 * MPAGE);
    BAD_COPY(j.copy_src = 0x1000);
    BAD_COPY(j.copy_dst = UINT64_MAX - 10);
    BAD_COPY(j.copy_src = UINT64_MAX - MPAGE + 2);
    BAD_COPY(j.copy_bytes = UINT64_MAX);
#undef BAD_COPY
    assert_unchanged(&f, &before);
    assert_int_equal(c.done, 0);

    gpusim_world_free(other.w);
    (void)b2;
    driver_usable(&f);
    mfx_free(&f);
}

/* A driver whose context was killed, and one whose process exited: their calls are refused; the
 * rest of the world goes on, and both can still be freed. */
static void test_retired_driver(void **state)
{
    (void)state;
    mfx f;
    mfx_init(&f, RAM, GPUSIM_POLICY_REFAULT, NULL);
    gpusim_buffer_t *b = mfx_buffer(&f, 4, NULL), *out = NULL;
    gpusim_job_desc_t j = mfx_kernel(b, 1, 10);
    call c = {0};
    ASSERT_OK(gpusim_gpu_ctx_kill(gpusim_driver_ctx(f.d), GPUSIM_ECANCELED));
    msnap before = snap(&f);
    BAD(gpusim_driver_submit(f.d, &j, call_cb, &c), GPUSIM_ECTXKILLED);
    BAD(gpusim_driver_register(f.d, 0x20000000, MPAGE, 0, &out, call_cb, &c), GPUSIM_ECTXKILLED);
    assert_unchanged(&f, &before);
    assert_null(out);
    ASSERT_OK(gpusim_driver_unregister(b, call_cb, &c));
    ASSERT_OK(mfx_wait(&f, &c));
    mfx_check(&f);
    ASSERT_OK(gpusim_driver_free(f.d));

    /* A new driver, then its process exits. */
    gpusim_driver_config_t cfg;
    gpusim_driver_config_init(&cfg, GPUSIM_POLICY_FENCE_WAIT);
    ASSERT_OK(gpusim_driver_new(f.g, f.p, &cfg, &f.d));
    b = mfx_buffer(&f, 4, NULL);
    j = mfx_kernel(b, 1, 10);
    memset(&c, 0, sizeof c);
    ASSERT_OK(gpusim_process_exit(f.p, call_cb, &c));
    ASSERT_OK(mfx_wait(&f, &c));
    call d = {0};
    BAD(gpusim_driver_submit(f.d, &j, call_cb, &d), GPUSIM_ESRCH);
    BAD(gpusim_driver_register(f.d, 0x20000000, MPAGE, 0, &out, call_cb, &d), GPUSIM_ESRCH);
    assert_null(out);
    assert_int_equal(d.done, 0);
    ASSERT_OK(gpusim_driver_unregister(b, call_cb, &d));
    ASSERT_OK(mfx_wait(&f, &d));
    mfx_check(&f);
    ASSERT_OK(gpusim_driver_free(f.d));
    f.d = NULL;
    mfx_check(&f);
    mfx_free(&f);
}

/* gpusim_driver_free while a host operation it started is in flight: EBUSY, nothing freed. */
static void test_driver_free_busy(void **state)
{
    (void)state;
    mfx f;
    mfx_init(&f, RAM, GPUSIM_POLICY_PIN_PERSISTENT, NULL);
    gpusim_buffer_t *b;
    uint64_t va = mfx_mmap(&f, 0, 4 * MPAGE, 0);
    call c = {0};
    ASSERT_OK(gpusim_driver_register(f.d, va, 4 * MPAGE, GPUSIM_BUFFER_WRITE, &b, call_cb, &c));
    BAD(gpusim_driver_free(f.d), GPUSIM_EBUSY);
    ASSERT_OK(mfx_wait(&f, &c));
    driver_usable(&f);
    mfx_free(&f);
}

/* gpusim_host_free while a driver mirrors one of its processes: EBUSY (the driver would be left
 * with a freed process). */
static void test_host_free_with_driver(void **state)
{
    (void)state;
    mfx f;
    mfx_init(&f, RAM, GPUSIM_POLICY_PIN, NULL);
    BAD(gpusim_host_free(f.h), GPUSIM_EBUSY);
    driver_usable(&f);
    ASSERT_OK(gpusim_driver_free(f.d));
    f.d = NULL;
    ASSERT_OK(gpusim_host_free(f.h));
    gpusim_world_free(f.w);
    ASSERT_NO_LEAK();
}

/* ---- preset.h ----------------------------------------------------------------------------- */

static void test_presets(void **state)
{
    (void)state;
    gpusim_preset_info_t pi;
    gpusim_param_info_t info;
    bool changed = true;
    gpusim_host_config_t hc, hc0;
    gpusim_gpu_config_t gc, gc0;
    gpusim_driver_config_t dc, dc0;
    size_t npresets = 0;
    while (gpusim_preset_info(npresets, &pi) == 0)
        npresets++;

    POISON(pi);
    BAD(gpusim_preset_info(0, NULL), GPUSIM_EINVAL);
    BAD(gpusim_preset_info(npresets, &pi), GPUSIM_ENOENT);
    BAD(gpusim_preset_info(SIZE_MAX, &pi), GPUSIM_ENOENT);
    ASSERT_UNTOUCHED(pi);
    BAD(gpusim_preset_find(NULL), GPUSIM_EINVAL);
    BAD(gpusim_preset_find(""), GPUSIM_ENOENT);
    BAD(gpusim_preset_find("NVIDIA-H100"), GPUSIM_ENOENT);
    BAD(gpusim_preset_find("nvidia-h100 "), GPUSIM_ENOENT);
    BAD_EQ(strcmp(gpusim_layer_name(GPUSIM_LAYER_COUNT), "?"), 0);
    BAD_EQ(strcmp(gpusim_layer_name((gpusim_layer_t)-1), "?"), 0);

    POISON(info);
    BAD(gpusim_preset_param(NULL, GPUSIM_LAYER_GPU, 0, &info, &changed), GPUSIM_EINVAL);
    BAD(gpusim_preset_param("amd-mi300x", GPUSIM_LAYER_GPU, 0, NULL, &changed), GPUSIM_EINVAL);
    BAD(gpusim_preset_param("amd-mi300x", GPUSIM_LAYER_COUNT, 0, &info, &changed), GPUSIM_EINVAL);
    BAD(gpusim_preset_param("amd-mi300x", (gpusim_layer_t)-1, 0, &info, &changed), GPUSIM_EINVAL);
    BAD(gpusim_preset_param("amd-mi300x", GPUSIM_LAYER_HOST, 0, &info, &changed), GPUSIM_EINVAL);
    BAD(gpusim_preset_param("linux-x86-64", GPUSIM_LAYER_GPU, 0, &info, &changed), GPUSIM_EINVAL);
    BAD(gpusim_preset_param("nope", GPUSIM_LAYER_GPU, 0, &info, &changed), GPUSIM_ENOENT);
    BAD(gpusim_preset_param("amd-mi300x", GPUSIM_LAYER_GPU, 100000, &info, &changed),
        GPUSIM_ENOENT);
    BAD(gpusim_preset_param("amd-mi300x", GPUSIM_LAYER_DRIVER, SIZE_MAX, &info, &changed),
        GPUSIM_ENOENT);
    ASSERT_UNTOUCHED(info);
    assert_true(changed);

    /* Applying: NULLs, the wrong kind, unknown names; the config is unchanged. */
    gpusim_host_config_init(&hc);
    gpusim_gpu_config_init(&gc);
    gpusim_driver_config_init(&dc, GPUSIM_POLICY_PIN);
    hc0 = hc;
    gc0 = gc;
    dc0 = dc;
    BAD(gpusim_host_config_preset(NULL, "linux-x86-64"), GPUSIM_EINVAL);
    BAD(gpusim_host_config_preset(&hc, NULL), GPUSIM_EINVAL);
    BAD(gpusim_host_config_preset(&hc, "amd-mi300x"), GPUSIM_EINVAL);
    BAD(gpusim_host_config_preset(&hc, "nope"), GPUSIM_ENOENT);
    BAD(gpusim_gpu_config_preset(NULL, "amd-mi300x"), GPUSIM_EINVAL);
    BAD(gpusim_gpu_config_preset(&gc, NULL), GPUSIM_EINVAL);
    BAD(gpusim_gpu_config_preset(&gc, "linux-x86-64"), GPUSIM_EINVAL);
    BAD(gpusim_gpu_config_preset(&gc, "nope"), GPUSIM_ENOENT);
    BAD(gpusim_driver_config_preset(NULL, "amd-mi300x"), GPUSIM_EINVAL);
    BAD(gpusim_driver_config_preset(&dc, NULL), GPUSIM_EINVAL);
    BAD(gpusim_driver_config_preset(&dc, "linux-x86-64"), GPUSIM_EINVAL);
    BAD(gpusim_driver_config_preset(&dc, ""), GPUSIM_ENOENT);
    assert_memory_equal(&hc, &hc0, sizeof hc);
    assert_memory_equal(&gc, &gc0, sizeof gc);
    assert_memory_equal(&dc, &dc0, sizeof dc);
    ASSERT_OK(gpusim_gpu_config_preset(&gc, "amd-mi300x"));
}

/* ---- packet.h ----------------------------------------------------------------------------- */

static void test_packets(void **state)
{
    (void)state;
    uint8_t buf[256], copy[256];
    const uint64_t LIM = GPUSIM_PKT_VA_LIMIT;
    memset(buf, 0xcc, sizeof buf);
    memcpy(copy, buf, sizeof buf);

    /* NULL buffers: EINVAL for every encoder, even with room. */
    gpusim_kernel_desc_t k;
    memset(&k, 0, sizeof k);
    k.pattern = GPUSIM_PATTERN_SEQUENTIAL;
    k.buffer_va = 0x100000;
    k.buffer_bytes = 0x10000;
    k.passes = 1;
    k.touches_per_pass = 16;
    k.bytes_per_touch = 64;
    k.waves = 1;
    BAD(gpusim_packet_nop(NULL, 64, 4), GPUSIM_EINVAL);
    BAD(gpusim_packet_copy(NULL, 64, 0x2000, 0x1000, 64), GPUSIM_EINVAL);
    BAD(gpusim_packet_dispatch(NULL, 128, &k), GPUSIM_EINVAL);
    BAD(gpusim_packet_fence_signal(NULL, 64, 1, 1), GPUSIM_EINVAL);
    BAD(gpusim_packet_fence_wait(NULL, 64, 1, 1), GPUSIM_EINVAL);
    BAD(gpusim_packet_tlb_invalidate(NULL, 64, GPUSIM_TLB_SCOPE_CONTEXT, 0, 0), GPUSIM_EINVAL);

    /* NOP lengths: zero, not a dword multiple, too long, wrapping when narrowed. */
    const size_t nops[] = {0, 1, 3, 6, GPUSIM_PKT_MAX_BYTES + 4, SIZE_MAX, (size_t)1 << 32};
    for (size_t i = 0; i < sizeof nops / sizeof nops[0]; i++)
        BAD(gpusim_packet_nop(buf, sizeof buf, nops[i]), GPUSIM_EINVAL);
    /* EINVAL takes precedence over ENOSPC; a good packet with too little room is ENOSPC. */
    BAD(gpusim_packet_nop(buf, 0, 3), GPUSIM_EINVAL);
    BAD(gpusim_packet_nop(buf, 4, 8), GPUSIM_ENOSPC);
    BAD(gpusim_packet_nop(buf, 0, 4), GPUSIM_ENOSPC);

    /* COPY: zero bytes, ranges reaching past 2^48 or wrapping. */
    BAD(gpusim_packet_copy(buf, sizeof buf, 0x2000, 0x1000, 0), GPUSIM_EINVAL);
    BAD(gpusim_packet_copy(buf, sizeof buf, LIM, 0x1000, 64), GPUSIM_EINVAL);
    BAD(gpusim_packet_copy(buf, sizeof buf, 0x2000, LIM - 32, 64), GPUSIM_EINVAL);
    BAD(gpusim_packet_copy(buf, sizeof buf, 0x2000, UINT64_MAX - 10, 64), GPUSIM_EINVAL);
    BAD(gpusim_packet_copy(buf, sizeof buf, 0x2000, 0x1000, UINT64_MAX), GPUSIM_EINVAL);
    BAD(gpusim_packet_copy(buf, GPUSIM_PKT_COPY_BYTES - 1, 0x2000, 0x1000, 64), GPUSIM_ENOSPC);

    /* DISPATCH: a NULL kernel, and one bad field at a time. */
    BAD(gpusim_packet_dispatch(buf, sizeof buf, NULL), GPUSIM_EINVAL);
    gpusim_kernel_desc_t b;
#define BAD_KERNEL(change)                                                                         \
    do {                                                                                           \
        b = k;                                                                                     \
        change;                                                                                    \
        BAD(gpusim_packet_dispatch(buf, sizeof buf, &b), GPUSIM_EINVAL);                           \
    } while (0)
    BAD_KERNEL(b.pattern = (gpusim_access_pattern_t)7);
    BAD_KERNEL(b.pattern = (gpusim_access_pattern_t)-1);
    BAD_KERNEL(b.buffer_bytes = 0);
    BAD_KERNEL(b.buffer_va = LIM - 0x100);
    BAD_KERNEL(b.buffer_va = UINT64_MAX - 0x100);
    BAD_KERNEL(b.passes = 0);
    BAD_KERNEL(b.touches_per_pass = 0);
    BAD_KERNEL((b.passes = UINT32_MAX, b.touches_per_pass = UINT64_MAX));
    BAD_KERNEL(b.bytes_per_touch = 0);
    BAD_KERNEL(b.bytes_per_touch = GPUSIM_PKT_MAX_BYTES_PER_TOUCH + 1);
    BAD_KERNEL((b.buffer_bytes = 32, b.bytes_per_touch = 64));
    BAD_KERNEL(b.write_pct = 101);
    BAD_KERNEL(b.waves = 0);
    BAD_KERNEL(b.hot_set_pct = 10);    /* unused by SEQUENTIAL */
    BAD_KERNEL(b.hot_access_pct = 10); /* unused */
    BAD_KERNEL(b.stride = 64);         /* unused */
    BAD_KERNEL(b.seed = 1);            /* unused */
    BAD_KERNEL(b.trace_id = 1);        /* unused */
    BAD_KERNEL((b.pattern = GPUSIM_PATTERN_STRIDED, b.stride = 0));
    BAD_KERNEL((b.pattern = GPUSIM_PATTERN_STRIDED, b.stride = b.buffer_bytes + 1));
    BAD_KERNEL((b.pattern = GPUSIM_PATTERN_HOTCOLD, b.hot_set_pct = 0));
    BAD_KERNEL((b.pattern = GPUSIM_PATTERN_HOTCOLD, b.hot_set_pct = 101));
    BAD_KERNEL((b.pattern = GPUSIM_PATTERN_HOTCOLD, b.hot_set_pct = 10, b.hot_access_pct = 101));
#undef BAD_KERNEL
    BAD(gpusim_packet_dispatch(buf, GPUSIM_PKT_DISPATCH_BYTES - 4, &k), GPUSIM_ENOSPC);

    /* Fences: handle 0, value 0, no room. */
    BAD(gpusim_packet_fence_signal(buf, sizeof buf, 0, 1), GPUSIM_EINVAL);
    BAD(gpusim_packet_fence_signal(buf, sizeof buf, 1, 0), GPUSIM_EINVAL);
    BAD(gpusim_packet_fence_wait(buf, sizeof buf, 0, 1), GPUSIM_EINVAL);
    BAD(gpusim_packet_fence_wait(buf, sizeof buf, 1, 0), GPUSIM_EINVAL);
    BAD(gpusim_packet_fence_wait(buf, GPUSIM_PKT_FENCE_BYTES - 1, 1, 1), GPUSIM_ENOSPC);
    BAD(gpusim_packet_fence_signal(buf, 0, 1, 1), GPUSIM_ENOSPC);

    /* TLB_INVALIDATE: unknown scope, misaligned, empty, past 2^48, CONTEXT with a range. */
    const gpusim_tlb_scope_t R = GPUSIM_TLB_SCOPE_RANGE, C = GPUSIM_TLB_SCOPE_CONTEXT;
    BAD(gpusim_packet_tlb_invalidate(buf, sizeof buf, (gpusim_tlb_scope_t)2, 0, 0), GPUSIM_EINVAL);
    BAD(gpusim_packet_tlb_invalidate(buf, sizeof buf, (gpusim_tlb_scope_t)-1, 0, 0), GPUSIM_EINVAL);
    BAD(gpusim_packet_tlb_invalidate(buf, sizeof buf, R, 0x1001, 0x1000), GPUSIM_EINVAL);
    BAD(gpusim_packet_tlb_invalidate(buf, sizeof buf, R, 0x1000, 0x800), GPUSIM_EINVAL);
    BAD(gpusim_packet_tlb_invalidate(buf, sizeof buf, R, 0x1000, 0), GPUSIM_EINVAL);
    BAD(gpusim_packet_tlb_invalidate(buf, sizeof buf, R, LIM, 0x1000), GPUSIM_EINVAL);
    BAD(gpusim_packet_tlb_invalidate(buf, sizeof buf, R, LIM - 0x1000, 0x2000), GPUSIM_EINVAL);
    BAD(gpusim_packet_tlb_invalidate(buf, sizeof buf, R, 0x1000, UINT64_MAX - 0xfff),
        GPUSIM_EINVAL);
    BAD(gpusim_packet_tlb_invalidate(buf, sizeof buf, C, 0x1000, 0), GPUSIM_EINVAL);
    BAD(gpusim_packet_tlb_invalidate(buf, sizeof buf, C, 0, 0x1000), GPUSIM_EINVAL);
    BAD(gpusim_packet_tlb_invalidate(buf, GPUSIM_PKT_TLB_INVALIDATE_BYTES - 4, C, 0, 0),
        GPUSIM_ENOSPC);

    /* On error nothing is written. */
    assert_memory_equal(buf, copy, sizeof buf);
    assert_int_equal(gpusim_packet_dispatch(buf, sizeof buf, &k), GPUSIM_PKT_DISPATCH_BYTES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_policy_config),
        GPUSIM_TEST(test_driver_new),
        GPUSIM_TEST(test_driver_dead_process),
        GPUSIM_TEST(test_register),
        GPUSIM_TEST(test_register_failed),
        GPUSIM_TEST(test_submit),
        GPUSIM_TEST(test_retired_driver),
        GPUSIM_TEST(test_driver_free_busy),
        GPUSIM_TEST(test_host_free_with_driver),
        GPUSIM_TEST(test_presets),
        GPUSIM_TEST(test_packets),
    };
    return cmocka_run_group_tests(tests, NULL, badinput_report);
}
