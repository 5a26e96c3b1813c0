/*
 * tests/test_gpu_packet.c -- the command-queue packet format: public encoders (gpusim/packet.h),
 * the validating decoder and its fuzz entry point (src/gpu/packet.h), docs/packets.md.
 *
 * Covers: the exact wire bytes of every packet, checked against a second, unchecked encoder
 * written here from the tables of docs/packets.md; round trips of every packet type and of random
 * valid packets; every rejection path of the decoder (ring arguments, header, reserved fields,
 * every field rule of every packet), each asserting the reason, the field and the offset, with the
 * matching encoder refusing the same arguments; too-small buffers; NOP padding; packets wrapping
 * around the end of the ring at every dword position; truncation at wptr; the first error of a
 * stream; the corpus of tests/data/packets/ (fuzz inputs with their expected outcome); and the
 * fuzz entry point on a few thousand seeded random and mutated-valid inputs.
 */
#include "test_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/compiler.h"
#include "gpu/packet.h"

#define VA_LIMIT GPUSIM_PKT_VA_LIMIT
#define PAGE     UINT64_C(4096)
#define BIG_RING 65536u
#define GUARD    64u
/* A large counter at ring position 0x40, so offsets are not ring positions. */
#define BASE     ((UINT64_C(7) << 32) | 0x40)

typedef gpusim__gpu_packet pkt_t;
typedef gpusim__gpu_packet_error perr_t;

/* The ring every test decodes from; the guard after it must never matter. */
static uint8_t g_ring[BIG_RING + GUARD];

/* A ring under construction: the host's side of a queue. */
typedef struct tring {
    uint8_t *ring;
    uint32_t size;
    uint64_t rptr, wptr;
} tring;

static void tr_init(tring *t, uint32_t size, uint64_t rptr)
{
    assert_true(size <= BIG_RING);
    memset(g_ring, 0, sizeof g_ring);
    memset(g_ring + size, 0xff, GUARD); /* read by mistake, it would corrupt a field */
    t->ring = g_ring;
    t->size = size;
    t->rptr = t->wptr = rptr;
}

/* Appends n bytes at wptr, wrapping around the end of the ring. */
static void tr_push(tring *t, const void *src, size_t n)
{
    const uint8_t *s = src;
    for (size_t i = 0; i < n; i++)
        t->ring[(t->wptr + i) & (t->size - 1)] = s[i];
    t->wptr += n;
}

/* Asserts an encoder wrote a packet; returns its length. */
static size_t enc_ok(int rc, int line)
{
    if (rc <= 0)
        fail_msg("encoder at line %d returned %s (%d)", line, gpusim_err_name(rc), rc);
    return (size_t)rc;
}
#define ENC(call) enc_ok((call), __LINE__)

/* ------------------------------------------------------------------------------------------- */
/* An unchecked encoder, straight from the byte tables of docs/packets.md                      */
/* ------------------------------------------------------------------------------------------- */

static void put32(uint8_t *b, size_t off, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[off + (size_t)i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *b, size_t off, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[off + (size_t)i] = (uint8_t)(v >> (8 * i));
}

static size_t raw_hdr(uint8_t *b, uint32_t op, size_t bytes)
{
    memset(b, 0, bytes);
    put32(b, 0, op | (uint32_t)(bytes / 4) << 8);
    return bytes;
}

static size_t raw_copy(uint8_t *b, uint64_t dst, uint64_t src, uint64_t n, uint32_t flags)
{
    raw_hdr(b, 2, 32);
    put64(b, 4, dst);
    put64(b, 12, src);
    put64(b, 20, n);
    put32(b, 28, flags);
    return 32;
}

static size_t raw_dispatch(uint8_t *b, const gpusim_kernel_desc_t *k, uint32_t reserved)
{
    raw_hdr(b, 3, 72);
    b[4] = (uint8_t)k->pattern;
    b[5] = k->write_pct;
    b[6] = k->hot_set_pct;
    b[7] = k->hot_access_pct;
    put64(b, 8, k->buffer_va);
    put64(b, 16, k->buffer_bytes);
    put64(b, 24, k->touches_per_pass);
    put64(b, 32, k->stride);
    put64(b, 40, k->seed);
    put32(b, 48, k->passes);
    put32(b, 52, k->bytes_per_touch);
    put32(b, 56, k->compute_ns_per_touch);
    put32(b, 60, k->waves);
    put32(b, 64, k->trace_id);
    put32(b, 68, reserved);
    return 72;
}

static size_t raw_fence(uint8_t *b, uint32_t op, uint32_t fence, uint64_t value)
{
    raw_hdr(b, op, 16);
    put32(b, 4, fence);
    put64(b, 8, value);
    return 16;
}

static size_t raw_tlb(uint8_t *b, uint32_t scope, uint64_t va, uint64_t n)
{
    raw_hdr(b, 6, 24);
    put32(b, 4, scope);
    put64(b, 8, va);
    put64(b, 16, n);
    return 24;
}

/* A valid kernel of each pattern. */
static gpusim_kernel_desc_t kernel(gpusim_access_pattern_t pattern)
{
    gpusim_kernel_desc_t k;
    memset(&k, 0, sizeof k);
    k.pattern = pattern;
    k.buffer_va = 0x10000000;
    k.buffer_bytes = 1 << 20;
    k.passes = 3;
    k.touches_per_pass = 256;
    k.bytes_per_touch = 64;
    k.compute_ns_per_touch = 20;
    k.write_pct = 25;
    k.waves = 8;
    if (pattern == GPUSIM_PATTERN_STRIDED || pattern == GPUSIM_PATTERN_STENCIL)
        k.stride = 4096;
    if (pattern == GPUSIM_PATTERN_HOTCOLD) {
        k.hot_set_pct = 10;
        k.hot_access_pct = 90;
    }
    if (pattern == GPUSIM_PATTERN_RANDOM || pattern == GPUSIM_PATTERN_HOTCOLD ||
        pattern == GPUSIM_PATTERN_CHASE)
        k.seed = 0x123456789abcdef0u;
    if (pattern == GPUSIM_PATTERN_TRACE)
        k.trace_id = 17;
    return k;
}

/* ------------------------------------------------------------------------------------------- */
/* Decoding helpers                                                                            */
/* ------------------------------------------------------------------------------------------- */

static void assert_same_packet(const pkt_t *a, const pkt_t *b)
{
    assert_int_equal(a->opcode, b->opcode);
    assert_int_equal(a->bytes, b->bytes);
    switch (a->opcode) {
    case GPUSIM_PKT_COPY:
        assert_true(a->u.copy.dst_va == b->u.copy.dst_va);
        assert_true(a->u.copy.src_va == b->u.copy.src_va);
        assert_true(a->u.copy.bytes == b->u.copy.bytes);
        break;
    case GPUSIM_PKT_DISPATCH: {
        const gpusim_kernel_desc_t *x = &a->u.dispatch, *y = &b->u.dispatch;
        assert_int_equal(x->pattern, y->pattern);
        assert_true(x->buffer_va == y->buffer_va && x->buffer_bytes == y->buffer_bytes);
        assert_true(x->passes == y->passes && x->touches_per_pass == y->touches_per_pass);
        assert_true(x->bytes_per_touch == y->bytes_per_touch);
        assert_true(x->compute_ns_per_touch == y->compute_ns_per_touch);
        assert_true(x->write_pct == y->write_pct && x->hot_set_pct == y->hot_set_pct);
        assert_true(x->hot_access_pct == y->hot_access_pct && x->stride == y->stride);
        assert_true(x->seed == y->seed && x->trace_id == y->trace_id && x->waves == y->waves);
        break;
    }
    case GPUSIM_PKT_FENCE_SIGNAL:
    case GPUSIM_PKT_FENCE_WAIT:
        assert_true(a->u.fence.fence == b->u.fence.fence && a->u.fence.value == b->u.fence.value);
        break;
    case GPUSIM_PKT_TLB_INVALIDATE:
        assert_int_equal(a->u.inval.scope, b->u.inval.scope);
        assert_true(a->u.inval.va == b->u.inval.va && a->u.inval.bytes == b->u.inval.bytes);
        break;
    default:
        break;
    }
}

static void assert_err(const perr_t *e, uint64_t offset, gpusim__gpu_packet_reason reason,
                       const char *field)
{
    if (e->reason != reason)
        fail_msg("reason %s, expected %s", gpusim__gpu_packet_reason_name(e->reason),
                 gpusim__gpu_packet_reason_name(reason));
    assert_true(e->offset == offset);
    assert_non_null(e->field);
    assert_string_equal(e->field, field);
}

/*
 * Puts a valid FENCE_SIGNAL and then `bad` in a ring at BASE; asserts that the first decodes, that
 * the second is refused at BASE + 16 for `reason` and `field` (opcode reported, *out untouched),
 * and that the whole-stream check reports the same.
 */
static void expect_reject(const uint8_t *bad, size_t n, gpusim__gpu_packet_reason reason,
                          const char *field)
{
    tring t;
    uint8_t good[16];
    pkt_t p, before;
    perr_t e;
    tr_init(&t, 1024, BASE);
    tr_push(&t, good, ENC(gpusim_packet_fence_signal(good, sizeof good, 1, 1)));
    tr_push(&t, bad, n);
    ASSERT_OK(gpusim__gpu_packet_decode(t.ring, t.size, BASE, t.wptr, &p, &e));
    assert_int_equal(p.bytes, 16);
    memset(&p, 0x5a, sizeof p);
    before = p;
    ASSERT_ERR(gpusim__gpu_packet_decode(t.ring, t.size, BASE + 16, t.wptr, &p, &e), GPUSIM_EINVAL);
    assert_err(&e, BASE + 16, reason, field);
    assert_int_equal(e.opcode, bad[0]);
    assert_memory_equal(&p, &before, sizeof p);
    memset(&e, 0, sizeof e);
    ASSERT_ERR(gpusim__gpu_packet_validate_stream(t.ring, t.size, BASE, t.wptr, &e), GPUSIM_EINVAL);
    assert_err(&e, BASE + 16, reason, field);
}

/* Decodes a single packet of n bytes written at BASE; asserts it decodes to *want. */
static void expect_decodes(const uint8_t *b, size_t n, const pkt_t *want)
{
    tring t;
    pkt_t p;
    perr_t e;
    tr_init(&t, 1024, BASE);
    tr_push(&t, b, n);
    ASSERT_OK(gpusim__gpu_packet_decode(t.ring, t.size, BASE, t.wptr, &p, &e));
    if (want != NULL)
        assert_same_packet(&p, want);
    ASSERT_ERR(gpusim__gpu_packet_decode(t.ring, t.size, BASE + p.bytes, t.wptr, &p, &e),
               GPUSIM_EAGAIN);
}

/* ------------------------------------------------------------------------------------------- */
/* Wire format and round trips                                                                 */
/* ------------------------------------------------------------------------------------------- */

/* The encoders write exactly the bytes of docs/packets.md, little-endian, on any host. */
static void test_wire_bytes_match_the_documented_tables(void **state)
{
    static const uint8_t copy_bytes[32] = {
        0x02, 0x08, 0x00, 0x00,                         /* header: COPY, 8 dwords */
        0xbc, 0x9a, 0x78, 0x56, 0x34, 0x12, 0x00, 0x00, /* dst_va 0x123456789abc */
        0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* src_va 0x1000 */
        0x01, 0x02, 0x03, 0x04, 0x05, 0x00, 0x00, 0x00, /* bytes 0x0504030201 */
        0x00, 0x00, 0x00, 0x00,                         /* flags */
    };
    static const uint8_t wait_bytes[16] = {
        0x05, 0x04, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12,
        0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
    };
    uint8_t a[128], b[128];
    gpusim_kernel_desc_t k;
    (void)state;
    assert_int_equal(GPUSIM_PKT_HEADER(GPUSIM_PKT_COPY, 8), 0x802u);
    assert_int_equal(GPUSIM_PKT_HEADER(GPUSIM_PKT_DISPATCH, 18), 0x1203u);
    assert_int_equal(ENC(gpusim_packet_copy(a, sizeof a, 0x123456789abc, 0x1000, 0x0504030201)),
                     GPUSIM_PKT_COPY_BYTES);
    assert_memory_equal(a, copy_bytes, sizeof copy_bytes);
    assert_int_equal(ENC(gpusim_packet_fence_wait(a, sizeof a, 0x12345678, 0x1122334455667788)),
                     GPUSIM_PKT_FENCE_BYTES);
    assert_memory_equal(a, wait_bytes, sizeof wait_bytes);

    /* Every other packet against the unchecked encoder written from the tables. */
    assert_int_equal(ENC(gpusim_packet_fence_signal(a, sizeof a, 9, UINT64_MAX)), 16);
    raw_fence(b, GPUSIM_PKT_FENCE_SIGNAL, 9, UINT64_MAX);
    assert_memory_equal(a, b, 16);
    assert_int_equal(ENC(gpusim_packet_tlb_invalidate(a, sizeof a, GPUSIM_TLB_SCOPE_RANGE,
                                                      0xfedcba987000, 0x3000)),
                     GPUSIM_PKT_TLB_INVALIDATE_BYTES);
    raw_tlb(b, GPUSIM_TLB_SCOPE_RANGE, 0xfedcba987000, 0x3000);
    assert_memory_equal(a, b, 24);
    assert_int_equal(ENC(gpusim_packet_tlb_invalidate(a, sizeof a, GPUSIM_TLB_SCOPE_CONTEXT, 0, 0)),
                     24);
    raw_tlb(b, GPUSIM_TLB_SCOPE_CONTEXT, 0, 0);
    assert_memory_equal(a, b, 24);
    for (int pat = GPUSIM_PATTERN_SEQUENTIAL; pat <= GPUSIM_PATTERN_TRACE; pat++) {
        k = kernel((gpusim_access_pattern_t)pat);
        k.compute_ns_per_touch = 0xa1b2c3d4;
        assert_int_equal(ENC(gpusim_packet_dispatch(a, sizeof a, &k)), GPUSIM_PKT_DISPATCH_BYTES);
        raw_dispatch(b, &k, 0);
        assert_memory_equal(a, b, 72);
    }
    memset(b, 0, sizeof b);
    b[0] = 1;
    b[1] = 10;
    assert_int_equal(ENC(gpusim_packet_nop(a, sizeof a, 40)), 40);
    assert_memory_equal(a, b, 40);
}

/* One packet of every type (and every access pattern) decodes to what was encoded, in order. */
static void test_roundtrip_every_type(void **state)
{
    uint8_t buf[GPUSIM_PKT_DISPATCH_BYTES];
    pkt_t want[16], got;
    perr_t e;
    tring t;
    size_t n = 0;
    uint64_t r;
    (void)state;
    memset(want, 0, sizeof want);
    tr_init(&t, 2048, BASE);

    want[n].opcode = GPUSIM_PKT_NOP;
    want[n].bytes = (uint32_t)ENC(gpusim_packet_nop(buf, sizeof buf, 4));
    tr_push(&t, buf, want[n++].bytes);
    want[n].opcode = GPUSIM_PKT_NOP;
    want[n].bytes = (uint32_t)ENC(gpusim_packet_nop(buf, sizeof buf, 64));
    tr_push(&t, buf, want[n++].bytes);
    want[n].opcode = GPUSIM_PKT_COPY;
    want[n].u.copy.dst_va = VA_LIMIT - 0x3000;
    want[n].u.copy.src_va = 0;
    want[n].u.copy.bytes = 0x3000;
    want[n].bytes =
        (uint32_t)ENC(gpusim_packet_copy(buf, sizeof buf, VA_LIMIT - 0x3000, 0, 0x3000));
    tr_push(&t, buf, want[n++].bytes);
    for (int pat = GPUSIM_PATTERN_SEQUENTIAL; pat <= GPUSIM_PATTERN_TRACE; pat++) {
        want[n].opcode = GPUSIM_PKT_DISPATCH;
        want[n].u.dispatch = kernel((gpusim_access_pattern_t)pat);
        want[n].bytes = (uint32_t)ENC(gpusim_packet_dispatch(buf, sizeof buf, &want[n].u.dispatch));
        tr_push(&t, buf, want[n++].bytes);
    }
    want[n].opcode = GPUSIM_PKT_FENCE_SIGNAL;
    want[n].u.fence.fence = 3;
    want[n].u.fence.value = 41;
    want[n].bytes = (uint32_t)ENC(gpusim_packet_fence_signal(buf, sizeof buf, 3, 41));
    tr_push(&t, buf, want[n++].bytes);
    want[n].opcode = GPUSIM_PKT_FENCE_WAIT;
    want[n].u.fence.fence = UINT32_MAX;
    want[n].u.fence.value = UINT64_MAX;
    want[n].bytes =
        (uint32_t)ENC(gpusim_packet_fence_wait(buf, sizeof buf, UINT32_MAX, UINT64_MAX));
    tr_push(&t, buf, want[n++].bytes);
    want[n].opcode = GPUSIM_PKT_TLB_INVALIDATE;
    want[n].u.inval.scope = GPUSIM_TLB_SCOPE_RANGE;
    want[n].u.inval.va = 0x200000;
    want[n].u.inval.bytes = VA_LIMIT - 0x200000;
    want[n].bytes = (uint32_t)ENC(gpusim_packet_tlb_invalidate(
        buf, sizeof buf, GPUSIM_TLB_SCOPE_RANGE, 0x200000, VA_LIMIT - 0x200000));
    tr_push(&t, buf, want[n++].bytes);
    want[n].opcode = GPUSIM_PKT_TLB_INVALIDATE;
    want[n].u.inval.scope = GPUSIM_TLB_SCOPE_CONTEXT;
    want[n].bytes = (uint32_t)ENC(
        gpusim_packet_tlb_invalidate(buf, sizeof buf, GPUSIM_TLB_SCOPE_CONTEXT, 0, 0));
    tr_push(&t, buf, want[n++].bytes);

    r = t.rptr;
    for (size_t i = 0; i < n; i++) {
        ASSERT_OK(gpusim__gpu_packet_decode(t.ring, t.size, r, t.wptr, &got, &e));
        assert_same_packet(&got, &want[i]);
        r += got.bytes;
    }
    assert_true(r == t.wptr);
    memset(&e, 0x77, sizeof e);
    ASSERT_ERR(gpusim__gpu_packet_decode(t.ring, t.size, r, t.wptr, &got, &e), GPUSIM_EAGAIN);
    assert_int_equal(e.offset, 0x7777777777777777u); /* untouched */
    ASSERT_OK(gpusim__gpu_packet_validate_stream(t.ring, t.size, t.rptr, t.wptr, &e));
}

/* A random valid range of at most max_bytes bytes below 2^48. */
static void rand_range(gpusim_rng_t *r, uint64_t max_bytes, uint64_t *va, uint64_t *n)
{
    static const uint64_t scale[] = {4096, 1 << 20, UINT64_C(1) << 40};
    uint64_t most = scale[gpusim_rng_below(r, 3)]; /* not inside GPUSIM_MIN: it evaluates twice */
    *n = 1 + gpusim_rng_below(r, GPUSIM_MIN(max_bytes, most));
    if (gpusim_rng_below(r, 8) == 0)
        *va = VA_LIMIT - *n; /* ends exactly at the top of the VA */
    else
        *va = gpusim_rng_below(r, VA_LIMIT - *n + 1);
}

/* Writes one random valid packet with the public encoders; returns its length. */
static size_t rand_packet(gpusim_rng_t *r, uint8_t *buf, size_t cap)
{
    uint64_t va, n, src, dummy;
    gpusim_kernel_desc_t k;
    switch (gpusim_rng_below(r, 6)) {
    case 0:
        return ENC(gpusim_packet_nop(buf, cap, 4 * (1 + gpusim_rng_below(r, 16))));
    case 1:
        rand_range(r, VA_LIMIT, &va, &n);
        src = gpusim_rng_below(r, VA_LIMIT - n + 1);
        return ENC(gpusim_packet_copy(buf, cap, va, src, n));
    case 2:
        k = kernel((gpusim_access_pattern_t)gpusim_rng_below(r, 7));
        rand_range(r, VA_LIMIT, &k.buffer_va, &k.buffer_bytes);
        k.passes = (uint32_t)(1 + gpusim_rng_below(r, UINT32_MAX));
        k.touches_per_pass = 1 + gpusim_rng_below(r, UINT64_MAX / k.passes);
        k.bytes_per_touch = (uint32_t)(1 + gpusim_rng_below(r, GPUSIM_MIN(4096, k.buffer_bytes)));
        k.compute_ns_per_touch = (uint32_t)gpusim_rng_next(r);
        k.write_pct = (uint8_t)gpusim_rng_below(r, 101);
        k.waves = (uint32_t)(1 + gpusim_rng_below(r, UINT32_MAX));
        if (k.stride != 0)
            k.stride = 1 + gpusim_rng_below(r, k.buffer_bytes);
        if (k.pattern == GPUSIM_PATTERN_HOTCOLD) {
            k.hot_set_pct = (uint8_t)(1 + gpusim_rng_below(r, 100));
            k.hot_access_pct = (uint8_t)gpusim_rng_below(r, 101);
        }
        if (k.seed != 0)
            k.seed = gpusim_rng_next(r);
        if (k.trace_id != 0)
            k.trace_id = (uint32_t)gpusim_rng_next(r);
        return ENC(gpusim_packet_dispatch(buf, cap, &k));
    case 3:
        return ENC(gpusim_packet_fence_signal(buf, cap,
                                              (uint32_t)(1 + gpusim_rng_below(r, UINT32_MAX)),
                                              1 + gpusim_rng_below(r, UINT64_MAX)));
    case 4:
        return ENC(gpusim_packet_fence_wait(buf, cap,
                                            (uint32_t)(1 + gpusim_rng_below(r, UINT32_MAX)),
                                            1 + gpusim_rng_below(r, UINT64_MAX)));
    default:
        if (gpusim_rng_below(r, 4) == 0)
            return ENC(gpusim_packet_tlb_invalidate(buf, cap, GPUSIM_TLB_SCOPE_CONTEXT, 0, 0));
        rand_range(r, VA_LIMIT / PAGE, &dummy, &n);
        va = gpusim_rng_below(r, VA_LIMIT / PAGE - n + 1);
        return ENC(
            gpusim_packet_tlb_invalidate(buf, cap, GPUSIM_TLB_SCOPE_RANGE, va * PAGE, n * PAGE));
    }
}

/* Thousands of random valid packets: encoders accept them; decode and re-encode are identities. */
static void test_roundtrip_random_packets(void **state)
{
    uint8_t buf[GPUSIM_PKT_DISPATCH_BYTES], again[GPUSIM_PKT_DISPATCH_BYTES];
    gpusim_rng_t rng;
    pkt_t p;
    perr_t e;
    tring t;
    (void)state;
    gpusim_rng_seed(&rng, 20240501, gpusim_rng_key("packet.roundtrip"));
    for (int i = 0; i < 4000; i++) {
        size_t n = rand_packet(&rng, buf, sizeof buf);
        /* Start anywhere in a 256-byte ring, so many packets wrap. */
        tr_init(&t, 256, BASE + 4 * gpusim_rng_below(&rng, 64));
        tr_push(&t, buf, n);
        ASSERT_OK(gpusim__gpu_packet_decode(t.ring, t.size, t.rptr, t.wptr, &p, &e));
        assert_int_equal(p.bytes, n);
        assert_int_equal(gpusim__gpu_packet_encode(&p, again, sizeof again), (int)n);
        assert_memory_equal(buf, again, n);
    }
}

/* ------------------------------------------------------------------------------------------- */
/* Encoders                                                                                    */
/* ------------------------------------------------------------------------------------------- */

/* Every encoder refuses NULL buffers and a buffer one byte short, and writes nothing. */
static void test_encoders_refuse_small_buffers(void **state)
{
    uint8_t buf[128], canary[128];
    gpusim_kernel_desc_t k = kernel(GPUSIM_PATTERN_SEQUENTIAL);
    (void)state;
    memset(canary, 0xee, sizeof canary);
    memcpy(buf, canary, sizeof buf);
    for (size_t cap = 0; cap < 72; cap++) {
        if (cap < 32)
            ASSERT_ERR(gpusim_packet_copy(buf, cap, 0, 0x1000, 1), GPUSIM_ENOSPC);
        ASSERT_ERR(gpusim_packet_dispatch(buf, cap, &k), GPUSIM_ENOSPC);
        if (cap < 16) {
            ASSERT_ERR(gpusim_packet_fence_signal(buf, cap, 1, 1), GPUSIM_ENOSPC);
            ASSERT_ERR(gpusim_packet_fence_wait(buf, cap, 1, 1), GPUSIM_ENOSPC);
        }
        if (cap < 24)
            ASSERT_ERR(gpusim_packet_tlb_invalidate(buf, cap, GPUSIM_TLB_SCOPE_CONTEXT, 0, 0),
                       GPUSIM_ENOSPC);
        if (cap < 40)
            ASSERT_ERR(gpusim_packet_nop(buf, cap, 40), GPUSIM_ENOSPC);
    }
    assert_memory_equal(buf, canary, sizeof buf);
    ASSERT_ERR(gpusim_packet_copy(NULL, 64, 0, 0x1000, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_packet_dispatch(NULL, 128, &k), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_packet_dispatch(buf, sizeof buf, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_packet_fence_signal(NULL, 64, 1, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_packet_fence_wait(NULL, 64, 1, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_packet_tlb_invalidate(NULL, 64, GPUSIM_TLB_SCOPE_CONTEXT, 0, 0),
               GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_packet_nop(NULL, 64, 4), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_packet_encode(NULL, buf, sizeof buf), GPUSIM_EINVAL);
    /* A bad argument wins over a small buffer. */
    ASSERT_ERR(gpusim_packet_copy(buf, 4, 0, 0x1000, 0), GPUSIM_EINVAL);
    assert_memory_equal(buf, canary, sizeof buf);
    /* The exact size is enough. */
    assert_int_equal(gpusim_packet_copy(buf, 32, 0, 0x1000, 1), 32);
    assert_memory_equal(buf + 32, canary, sizeof buf - 32);
    assert_int_equal(gpusim_packet_dispatch(buf, 72, &k), 72);
    assert_memory_equal(buf + 72, canary, sizeof buf - 72);
}

/* NOPs: any dword multiple from 4 bytes to 64 KiB; they pad a stream up to the end of the ring. */
static void test_nop_padding(void **state)
{
    static uint8_t big[GPUSIM_PKT_MAX_BYTES + 8];
    uint8_t buf[128];
    pkt_t p;
    perr_t e;
    tring t;
    gpusim_kernel_desc_t k = kernel(GPUSIM_PATTERN_RANDOM);
    (void)state;
    ASSERT_ERR(gpusim_packet_nop(buf, sizeof buf, 0), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_packet_nop(buf, sizeof buf, 2), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_packet_nop(buf, sizeof buf, 6), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_packet_nop(big, sizeof big, GPUSIM_PKT_MAX_BYTES + 4), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_packet_nop(big, sizeof big, SIZE_MAX), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_packet_nop(big, sizeof big, (size_t)UINT32_MAX + 5), GPUSIM_EINVAL);
    assert_int_equal(gpusim_packet_nop(buf, sizeof buf, 4), 4);
    assert_int_equal(gpusim_packet_nop(big, sizeof big, GPUSIM_PKT_MAX_BYTES),
                     (int)GPUSIM_PKT_MAX_BYTES);

    /* The largest NOP decodes, in a ring exactly its size. */
    tr_init(&t, BIG_RING, BASE);
    tr_push(&t, big, GPUSIM_PKT_MAX_BYTES);
    ASSERT_OK(gpusim__gpu_packet_decode(t.ring, t.size, t.rptr, t.wptr, &p, &e));
    assert_int_equal(p.opcode, GPUSIM_PKT_NOP);
    assert_int_equal(p.bytes, GPUSIM_PKT_MAX_BYTES);

    /* Pad from ring position 200 to the end, then a DISPATCH at position 0. */
    tr_init(&t, 256, 3 * 256 + 200);
    tr_push(&t, buf, ENC(gpusim_packet_nop(buf, sizeof buf, 56)));
    assert_int_equal(t.wptr % 256, 0);
    tr_push(&t, buf, ENC(gpusim_packet_dispatch(buf, sizeof buf, &k)));
    ASSERT_OK(gpusim__gpu_packet_decode(t.ring, t.size, t.rptr, t.wptr, &p, &e));
    assert_int_equal(p.opcode, GPUSIM_PKT_NOP);
    assert_int_equal(p.bytes, 56);
    ASSERT_OK(gpusim__gpu_packet_decode(t.ring, t.size, t.rptr + 56, t.wptr, &p, &e));
    assert_int_equal(p.opcode, GPUSIM_PKT_DISPATCH);
    assert_true(p.u.dispatch.seed == k.seed);
    ASSERT_OK(gpusim__gpu_packet_validate_stream(t.ring, t.size, t.rptr, t.wptr, &e));
}

/* ------------------------------------------------------------------------------------------- */
/* Rejections                                                                                  */
/* ------------------------------------------------------------------------------------------- */

/* Bad ring arguments: refused with bad_ring at rptr, naming the argument; *out untouched. */
static void test_reject_bad_ring_arguments(void **state)
{
    static const struct {
        uint32_t size;
        uint64_t rptr, wptr;
        const char *field;
    } cases[] = {
        {0, 0, 16, "size"},
        {128, 0, 16, "size"},
        {255, 0, 16, "size"},
        {384, 0, 16, "size"},
        {32u << 20, 0, 16, "size"},
        {UINT32_C(1) << 31, 0, 16, "size"},
        {UINT32_MAX, 0, 16, "size"},
        {256, 2, 18, "rptr"},
        {256, BASE + 1, BASE + 17, "rptr"},
        {256, 0, 14, "wptr"},
        {256, 64, 60, "wptr"},
        {256, 0, 260, "wptr"},
        {256, UINT64_MAX - 3, 0, "wptr"},
    };
    uint8_t buf[16];
    pkt_t p, before;
    perr_t e;
    tring t;
    (void)state;
    tr_init(&t, 256, 0);
    tr_push(&t, buf, ENC(gpusim_packet_fence_signal(buf, sizeof buf, 1, 1)));
    memset(&p, 0x3c, sizeof p);
    before = p;
    for (size_t i = 0; i < GPUSIM_ARRAY_SIZE(cases); i++) {
        ASSERT_ERR(
            gpusim__gpu_packet_decode(t.ring, cases[i].size, cases[i].rptr, cases[i].wptr, &p, &e),
            GPUSIM_EINVAL);
        assert_err(&e, cases[i].rptr, GPUSIM__PKT_BAD_RING, cases[i].field);
        assert_int_equal(e.opcode, 0);
        memset(&e, 0, sizeof e);
        ASSERT_ERR(gpusim__gpu_packet_validate_stream(t.ring, cases[i].size, cases[i].rptr,
                                                      cases[i].wptr, &e),
                   GPUSIM_EINVAL);
        assert_err(&e, cases[i].rptr, GPUSIM__PKT_BAD_RING, cases[i].field);
        /* err is optional */
        ASSERT_ERR(gpusim__gpu_packet_decode(t.ring, cases[i].size, cases[i].rptr, cases[i].wptr,
                                             &p, NULL),
                   GPUSIM_EINVAL);
    }
    ASSERT_ERR(gpusim__gpu_packet_decode(NULL, 256, 0, 16, &p, &e), GPUSIM_EINVAL);
    assert_err(&e, 0, GPUSIM__PKT_BAD_RING, "ring");
    ASSERT_ERR(gpusim__gpu_packet_decode(t.ring, 256, 0, 16, NULL, &e), GPUSIM_EINVAL);
    assert_err(&e, 0, GPUSIM__PKT_BAD_RING, "out");
    ASSERT_ERR(gpusim__gpu_packet_validate_stream(NULL, 256, 0, 16, &e), GPUSIM_EINVAL);
    assert_err(&e, 0, GPUSIM__PKT_BAD_RING, "ring");
    assert_memory_equal(&p, &before, sizeof p);
    /* Bad arguments are refused even when there is nothing to decode. */
    ASSERT_ERR(gpusim__gpu_packet_decode(t.ring, 100, 0, 0, &p, &e), GPUSIM_EINVAL);
    /* A full ring (wptr - rptr == size) is accepted; only its first packet is read. */
    ASSERT_OK(gpusim__gpu_packet_decode(t.ring, 256, 0, 256, &p, &e));
}

/* Headers: reserved bits, unknown opcodes, lengths that are zero, too large, wrong, or truncated. */
static void test_reject_bad_headers(void **state)
{
    uint8_t b[80];
    (void)state;
    memset(b, 0, sizeof b);
    expect_reject(b, 4, GPUSIM__PKT_UNKNOWN_OPCODE, "opcode"); /* a zero dword */
    for (uint32_t op = 7; op <= 255; op += 124) {
        raw_hdr(b, op, 16);
        expect_reject(b, 16, GPUSIM__PKT_UNKNOWN_OPCODE, "opcode");
    }
    raw_hdr(b, 0, 4);
    expect_reject(b, 4, GPUSIM__PKT_UNKNOWN_OPCODE, "opcode");
    for (int bit = 24; bit < 32; bit++) {
        raw_fence(b, GPUSIM_PKT_FENCE_SIGNAL, 1, 1);
        b[3] = (uint8_t)(1u << (bit - 24));
        expect_reject(b, 16, GPUSIM__PKT_RESERVED, "header");
    }
    /* Reserved bits are checked before the opcode. */
    put32(b, 0, 0xff000000u | 0x409u);
    expect_reject(b, 16, GPUSIM__PKT_RESERVED, "header");

    put32(b, 0, GPUSIM_PKT_NOP);
    expect_reject(b, 4, GPUSIM__PKT_BAD_LENGTH, "length");
    put32(b, 0, GPUSIM_PKT_COPY);
    expect_reject(b, 4, GPUSIM__PKT_BAD_LENGTH, "length");
    put32(b, 0, GPUSIM_PKT_HEADER(GPUSIM_PKT_NOP, GPUSIM_PKT_MAX_DWORDS + 1));
    expect_reject(b, 4, GPUSIM__PKT_OVERSIZED, "length");
    put32(b, 0, GPUSIM_PKT_HEADER(GPUSIM_PKT_DISPATCH, 0xffff));
    expect_reject(b, 4, GPUSIM__PKT_OVERSIZED, "length");

    /* Fixed-length packets one dword short and one dword long. */
    for (uint32_t op = GPUSIM_PKT_COPY; op <= GPUSIM_PKT_TLB_INVALIDATE; op++) {
        static const uint32_t len[] = {0, 0, 32, 72, 16, 16, 24};
        memset(b, 0, sizeof b);
        put32(b, 0, GPUSIM_PKT_HEADER(op, len[op] / 4 - 1));
        expect_reject(b, len[op] - 4, GPUSIM__PKT_BAD_LENGTH, "length");
        put32(b, 0, GPUSIM_PKT_HEADER(op, len[op] / 4 + 1));
        expect_reject(b, len[op] + 4, GPUSIM__PKT_BAD_LENGTH, "length");
    }

    /* A wrong fixed length is reported as such even where the stream also ends too soon. */
    raw_copy(b, 0x1000, 0x2000, 1, 0);
    put32(b, 0, GPUSIM_PKT_HEADER(GPUSIM_PKT_COPY, 9));
    expect_reject(b, 32, GPUSIM__PKT_BAD_LENGTH, "length");

    /* Truncated: the header's length runs past wptr (by one dword, or by most of the packet). */
    raw_copy(b, 0x1000, 0x2000, 1, 0);
    expect_reject(b, 28, GPUSIM__PKT_TRUNCATED, "length");
    expect_reject(b, 4, GPUSIM__PKT_TRUNCATED, "length");
    raw_hdr(b, GPUSIM_PKT_NOP, 64);
    expect_reject(b, 60, GPUSIM__PKT_TRUNCATED, "length");
}

/* Reserved fields: NOP payload (any dword of it), COPY flags, DISPATCH's reserved dword. */
static void test_reject_reserved_fields(void **state)
{
    uint8_t b[80];
    gpusim_kernel_desc_t k = kernel(GPUSIM_PATTERN_SEQUENTIAL);
    (void)state;
    for (size_t off = 4; off < 64; off += 4) {
        raw_hdr(b, GPUSIM_PKT_NOP, 64);
        b[off + 3] = 0x80;
        expect_reject(b, 64, GPUSIM__PKT_RESERVED, "payload");
    }
    raw_copy(b, 0x1000, 0x2000, 1, 0x80000000u);
    expect_reject(b, 32, GPUSIM__PKT_RESERVED, "flags");
    raw_dispatch(b, &k, 1);
    expect_reject(b, 72, GPUSIM__PKT_RESERVED, "reserved");
    /* Reserved fields are checked before the other fields. */
    raw_copy(b, 0x1000, 0x2000, 0, 1);
    expect_reject(b, 32, GPUSIM__PKT_RESERVED, "flags");
}

/* COPY: zero bytes, and ranges that wrap or leave the 48-bit VA; the encoder refuses the same. */
static void test_reject_copy_fields(void **state)
{
    static const struct {
        uint64_t dst, src, n;
        gpusim__gpu_packet_reason reason;
        const char *field;
    } cases[] = {
        {0x1000, 0x2000, 0, GPUSIM__PKT_FIELD_RANGE, "bytes"},
        {UINT64_MAX, 0x2000, 1, GPUSIM__PKT_ADDR_OVERFLOW, "dst_va"},
        {UINT64_MAX - 15, 0x2000, 16, GPUSIM__PKT_ADDR_OVERFLOW, "dst_va"}, /* ends at 2^64 */
        {0x1000, UINT64_MAX - 4095, 0x2000, GPUSIM__PKT_ADDR_OVERFLOW, "src_va"},
        {VA_LIMIT - 1, 0x2000, 2, GPUSIM__PKT_ADDR_BEYOND_VA, "dst_va"},
        {VA_LIMIT, 0x2000, 1, GPUSIM__PKT_ADDR_BEYOND_VA, "dst_va"},
        {0, 0, VA_LIMIT + 1, GPUSIM__PKT_ADDR_BEYOND_VA, "dst_va"},
        {0x1000, VA_LIMIT - 4095, 4096, GPUSIM__PKT_ADDR_BEYOND_VA, "src_va"},
        {UINT64_MAX, UINT64_MAX, 1, GPUSIM__PKT_ADDR_OVERFLOW, "dst_va"}, /* dst first */
    };
    uint8_t b[32], out[32];
    pkt_t want;
    (void)state;
    for (size_t i = 0; i < GPUSIM_ARRAY_SIZE(cases); i++) {
        raw_copy(b, cases[i].dst, cases[i].src, cases[i].n, 0);
        expect_reject(b, 32, cases[i].reason, cases[i].field);
        ASSERT_ERR(gpusim_packet_copy(out, sizeof out, cases[i].dst, cases[i].src, cases[i].n),
                   GPUSIM_EINVAL);
    }
    /* The edges that are valid: the whole VA, and ranges ending exactly at 2^48. */
    memset(&want, 0, sizeof want);
    want.opcode = GPUSIM_PKT_COPY;
    want.bytes = 32;
    want.u.copy.dst_va = 0;
    want.u.copy.src_va = 0;
    want.u.copy.bytes = VA_LIMIT;
    ENC(gpusim_packet_copy(b, sizeof b, 0, 0, VA_LIMIT));
    expect_decodes(b, 32, &want);
    want.u.copy.dst_va = VA_LIMIT - 1;
    want.u.copy.src_va = VA_LIMIT - 1;
    want.u.copy.bytes = 1;
    ENC(gpusim_packet_copy(b, sizeof b, VA_LIMIT - 1, VA_LIMIT - 1, 1));
    expect_decodes(b, 32, &want);
}

/* Case i of the DISPATCH rules: a kernel breaking one rule, and what the decoder must say. */
static bool dispatch_case(int i, gpusim_kernel_desc_t *k, gpusim__gpu_packet_reason *reason,
                          const char **field)
{
    const gpusim__gpu_packet_reason RANGE = GPUSIM__PKT_FIELD_RANGE;
    const gpusim__gpu_packet_reason UNUSED = GPUSIM__PKT_UNUSED_FIELD;
    gpusim_access_pattern_t pat[] = {
        GPUSIM_PATTERN_SEQUENTIAL, GPUSIM_PATTERN_SEQUENTIAL, GPUSIM_PATTERN_HOTCOLD,
        GPUSIM_PATTERN_HOTCOLD,    GPUSIM_PATTERN_SEQUENTIAL, GPUSIM_PATTERN_HOTCOLD,
        GPUSIM_PATTERN_RANDOM,     GPUSIM_PATTERN_STRIDED,    GPUSIM_PATTERN_CHASE,
        GPUSIM_PATTERN_TRACE,      GPUSIM_PATTERN_STENCIL,    GPUSIM_PATTERN_SEQUENTIAL,
        GPUSIM_PATTERN_STRIDED,    GPUSIM_PATTERN_STENCIL,    GPUSIM_PATTERN_CHASE,
        GPUSIM_PATTERN_SEQUENTIAL, GPUSIM_PATTERN_STRIDED,    GPUSIM_PATTERN_TRACE,
        GPUSIM_PATTERN_RANDOM,     GPUSIM_PATTERN_HOTCOLD,    GPUSIM_PATTERN_CHASE,
        GPUSIM_PATTERN_SEQUENTIAL, GPUSIM_PATTERN_SEQUENTIAL, GPUSIM_PATTERN_TRACE,
        GPUSIM_PATTERN_HOTCOLD,    GPUSIM_PATTERN_STRIDED,
    };
    if (i >= (int)GPUSIM_ARRAY_SIZE(pat))
        return false;
    *k = kernel(pat[i]);
    *reason = RANGE;
    switch (i) {
    case 0:
        k->pattern = (gpusim_access_pattern_t)7;
        *field = "pattern";
        break;
    case 1:
        k->write_pct = 101;
        *field = "write_pct";
        break;
    case 2:
        k->hot_set_pct = 0;
        *field = "hot_set_pct";
        break;
    case 3:
        k->hot_set_pct = 101;
        *field = "hot_set_pct";
        break;
    case 4:
        k->hot_set_pct = 5;
        *reason = UNUSED;
        *field = "hot_set_pct";
        break;
    case 5:
        k->hot_access_pct = 101;
        *field = "hot_access_pct";
        break;
    case 6:
        k->hot_access_pct = 1;
        *reason = UNUSED;
        *field = "hot_access_pct";
        break;
    case 7:
        k->buffer_bytes = 0;
        *field = "buffer_bytes";
        break;
    case 8:
        k->buffer_va = UINT64_MAX - 4095;
        k->buffer_bytes = 4096;
        *reason = GPUSIM__PKT_ADDR_OVERFLOW;
        *field = "buffer_va";
        break;
    case 9:
        k->buffer_va = VA_LIMIT - 4096;
        k->buffer_bytes = 4097;
        *reason = GPUSIM__PKT_ADDR_BEYOND_VA;
        *field = "buffer_va";
        break;
    case 10:
        k->buffer_va = VA_LIMIT;
        *reason = GPUSIM__PKT_ADDR_BEYOND_VA;
        *field = "buffer_va";
        break;
    case 11:
        k->touches_per_pass = 0;
        *field = "touches_per_pass";
        break;
    case 12:
        k->stride = 0;
        *field = "stride";
        break;
    case 13:
        k->stride = k->buffer_bytes + 1;
        *field = "stride";
        break;
    case 14:
        k->stride = 1;
        *reason = UNUSED;
        *field = "stride";
        break;
    case 15:
        k->seed = 1;
        *reason = UNUSED;
        *field = "seed";
        break;
    case 16:
        k->seed = UINT64_MAX;
        *reason = UNUSED;
        *field = "seed";
        break;
    case 17:
        k->seed = 1;
        *reason = UNUSED;
        *field = "seed";
        break;
    case 18:
        k->passes = 0;
        *field = "passes";
        break;
    case 19:
        k->passes = 3;
        k->touches_per_pass = UINT64_MAX / 3 + 1;
        *field = "touches_per_pass";
        break;
    case 20:
        k->bytes_per_touch = 0;
        *field = "bytes_per_touch";
        break;
    case 21:
        k->bytes_per_touch = 4097;
        *field = "bytes_per_touch";
        break;
    case 22:
        k->buffer_bytes = 64;
        k->bytes_per_touch = 128;
        *field = "bytes_per_touch";
        break;
    case 23:
        k->waves = 0;
        *field = "waves";
        break;
    case 24:
        k->trace_id = 1;
        *reason = UNUSED;
        *field = "trace_id";
        break;
    default:
        k->trace_id = UINT32_MAX;
        *reason = UNUSED;
        *field = "trace_id";
        break;
    }
    return true;
}

/* DISPATCH: every field rule, unused fields of every pattern; the encoder refuses the same. */
static void test_reject_dispatch_fields(void **state)
{
    uint8_t b[72], out[72];
    gpusim_kernel_desc_t k;
    gpusim__gpu_packet_reason reason;
    const char *field;
    pkt_t want;
    int i;
    (void)state;
    for (i = 0; dispatch_case(i, &k, &reason, &field); i++) {
        raw_dispatch(b, &k, 0);
        expect_reject(b, 72, reason, field);
        ASSERT_ERR(gpusim_packet_dispatch(out, sizeof out, &k), GPUSIM_EINVAL);
    }
    assert_int_equal(i, 26);
    /* The edges that are valid. */
    memset(&want, 0, sizeof want);
    want.opcode = GPUSIM_PKT_DISPATCH;
    want.bytes = 72;
    k = kernel(GPUSIM_PATTERN_HOTCOLD);
    k.write_pct = 100;
    k.hot_set_pct = 100;
    k.hot_access_pct = 0;
    k.buffer_va = VA_LIMIT - 4096;
    k.buffer_bytes = 4096;
    k.bytes_per_touch = 4096;
    k.passes = 3;
    k.touches_per_pass = UINT64_MAX / 3; /* 3 x that fits exactly */
    k.compute_ns_per_touch = UINT32_MAX;
    k.seed = 0;
    want.u.dispatch = k;
    ENC(gpusim_packet_dispatch(b, sizeof b, &k));
    expect_decodes(b, 72, &want);
    k = kernel(GPUSIM_PATTERN_STENCIL);
    k.stride = k.buffer_bytes;
    k.bytes_per_touch = 1;
    k.hot_access_pct = 0;
    want.u.dispatch = k;
    ENC(gpusim_packet_dispatch(b, sizeof b, &k));
    expect_decodes(b, 72, &want);
    k = kernel(GPUSIM_PATTERN_TRACE);
    k.trace_id = 0;
    k.waves = UINT32_MAX;
    k.passes = UINT32_MAX;
    k.touches_per_pass = 1;
    want.u.dispatch = k;
    ENC(gpusim_packet_dispatch(b, sizeof b, &k));
    expect_decodes(b, 72, &want);
}

/* FENCE_SIGNAL and FENCE_WAIT: handle and value must be non-zero. */
static void test_reject_fence_fields(void **state)
{
    uint8_t b[16];
    (void)state;
    for (uint32_t op = GPUSIM_PKT_FENCE_SIGNAL; op <= GPUSIM_PKT_FENCE_WAIT; op++) {
        int (*enc)(void *, size_t, uint32_t, uint64_t) =
            op == GPUSIM_PKT_FENCE_SIGNAL ? gpusim_packet_fence_signal : gpusim_packet_fence_wait;
        raw_fence(b, op, 0, 5);
        expect_reject(b, 16, GPUSIM__PKT_FIELD_RANGE, "fence");
        raw_fence(b, op, 5, 0);
        expect_reject(b, 16, GPUSIM__PKT_FIELD_RANGE, "value");
        raw_fence(b, op, 0, 0);
        expect_reject(b, 16, GPUSIM__PKT_FIELD_RANGE, "fence");
        ASSERT_ERR(enc(b, sizeof b, 0, 5), GPUSIM_EINVAL);
        ASSERT_ERR(enc(b, sizeof b, 5, 0), GPUSIM_EINVAL);
        assert_int_equal(enc(b, sizeof b, 1, 1), 16);
        expect_decodes(b, 16, NULL);
    }
}

/* TLB_INVALIDATE: scope, alignment, empty and out-of-VA ranges, non-zero CONTEXT fields. */
static void test_reject_tlb_invalidate_fields(void **state)
{
    static const struct {
        uint32_t scope;
        uint64_t va, n;
        gpusim__gpu_packet_reason reason;
        const char *field;
    } cases[] = {
        {2, 0, 0, GPUSIM__PKT_FIELD_RANGE, "scope"},
        {UINT32_MAX, 0x1000, 0x1000, GPUSIM__PKT_FIELD_RANGE, "scope"},
        {0, 0x1001, 0x1000, GPUSIM__PKT_MISALIGNED, "va"},
        {0, 0x1800, 0, GPUSIM__PKT_MISALIGNED, "va"}, /* alignment first */
        {0, 0x1000, 0, GPUSIM__PKT_FIELD_RANGE, "bytes"},
        {0, 0x1000, 0x800, GPUSIM__PKT_MISALIGNED, "bytes"},
        {0, 0x1000, 0x1001, GPUSIM__PKT_MISALIGNED, "bytes"},
        {0, VA_LIMIT - 0x1000, 0x2000, GPUSIM__PKT_ADDR_BEYOND_VA, "va"},
        {0, VA_LIMIT, 0x1000, GPUSIM__PKT_ADDR_BEYOND_VA, "va"},
        {0, UINT64_MAX - 0xfff, 0x1000, GPUSIM__PKT_ADDR_OVERFLOW, "va"},
        {0, 0x1000, UINT64_MAX - 0xfff, GPUSIM__PKT_ADDR_OVERFLOW, "va"},
        {1, 0x1000, 0, GPUSIM__PKT_UNUSED_FIELD, "va"},
        {1, 0, 0x1000, GPUSIM__PKT_UNUSED_FIELD, "bytes"},
    };
    uint8_t b[24], out[24];
    pkt_t want;
    (void)state;
    for (size_t i = 0; i < GPUSIM_ARRAY_SIZE(cases); i++) {
        raw_tlb(b, cases[i].scope, cases[i].va, cases[i].n);
        expect_reject(b, 24, cases[i].reason, cases[i].field);
        ASSERT_ERR(gpusim_packet_tlb_invalidate(out, sizeof out, (gpusim_tlb_scope_t)cases[i].scope,
                                                cases[i].va, cases[i].n),
                   GPUSIM_EINVAL);
    }
    memset(&want, 0, sizeof want);
    want.opcode = GPUSIM_PKT_TLB_INVALIDATE;
    want.bytes = 24;
    want.u.inval.scope = GPUSIM_TLB_SCOPE_RANGE;
    want.u.inval.va = 0;
    want.u.inval.bytes = VA_LIMIT;
    ENC(gpusim_packet_tlb_invalidate(b, sizeof b, GPUSIM_TLB_SCOPE_RANGE, 0, VA_LIMIT));
    expect_decodes(b, 24, &want);
    want.u.inval.va = VA_LIMIT - PAGE;
    want.u.inval.bytes = PAGE;
    ENC(gpusim_packet_tlb_invalidate(b, sizeof b, GPUSIM_TLB_SCOPE_RANGE, VA_LIMIT - PAGE, PAGE));
    expect_decodes(b, 24, &want);
}

/* ------------------------------------------------------------------------------------------- */
/* Streams                                                                                     */
/* ------------------------------------------------------------------------------------------- */

/*
 * A COPY and a DISPATCH decode correctly starting at every dword of a 256-byte ring, so across
 * every split at the ring end (64-bit fields included); the bytes after the ring (0xff) never
 * leak into a field. Cut short by wptr across the end, the same packets are truncated.
 */
static void test_wrap_around_the_ring_end(void **state)
{
    uint8_t cb[32], db[72];
    gpusim_kernel_desc_t k = kernel(GPUSIM_PATTERN_HOTCOLD);
    pkt_t want_c, want_d, p;
    perr_t e;
    tring t;
    (void)state;
    k.buffer_va = 0x0000123456789000;
    k.seed = 0x8877665544332211;
    memset(&want_c, 0, sizeof want_c);
    want_c.opcode = GPUSIM_PKT_COPY;
    want_c.bytes = 32;
    want_c.u.copy.dst_va = 0x0000112233445560;
    want_c.u.copy.src_va = 0x00000102030405a0;
    want_c.u.copy.bytes = 0x0000876543210fed;
    ENC(gpusim_packet_copy(cb, sizeof cb, want_c.u.copy.dst_va, want_c.u.copy.src_va,
                           want_c.u.copy.bytes));
    memset(&want_d, 0, sizeof want_d);
    want_d.opcode = GPUSIM_PKT_DISPATCH;
    want_d.bytes = 72;
    want_d.u.dispatch = k;
    ENC(gpusim_packet_dispatch(db, sizeof db, &k));
    for (uint64_t pos = 0; pos < 256; pos += 4) {
        uint64_t start = (UINT64_C(1) << 40) * 3 + 256 * 11 + pos;
        tr_init(&t, 256, start);
        tr_push(&t, cb, sizeof cb);
        tr_push(&t, db, sizeof db);
        ASSERT_OK(gpusim__gpu_packet_decode(t.ring, t.size, start, t.wptr, &p, &e));
        assert_same_packet(&p, &want_c);
        ASSERT_OK(gpusim__gpu_packet_decode(t.ring, t.size, start + 32, t.wptr, &p, &e));
        assert_same_packet(&p, &want_d);
        ASSERT_OK(gpusim__gpu_packet_validate_stream(t.ring, t.size, start, t.wptr, &e));
        /* The same bytes, with wptr one dword short of the DISPATCH's end. */
        ASSERT_ERR(gpusim__gpu_packet_validate_stream(t.ring, t.size, start, t.wptr - 4, &e),
                   GPUSIM_EINVAL);
        assert_err(&e, start + 32, GPUSIM__PKT_TRUNCATED, "length");
    }
    /* A COPY whose u64 byte count straddles the end: positions 252-255 and 0-3. */
    tr_init(&t, 256, 5 * 256 + 232);
    tr_push(&t, cb, sizeof cb);
    assert_int_equal(g_ring[252], 0xed);
    assert_int_equal(g_ring[0], 0x65); /* byte 4 of 0x0000876543210fed */
    ASSERT_OK(gpusim__gpu_packet_decode(t.ring, t.size, t.rptr, t.wptr, &p, &e));
    assert_same_packet(&p, &want_c);
    ASSERT_ERR(gpusim__gpu_packet_decode(t.ring, t.size, t.rptr, t.wptr - 8, &p, &e),
               GPUSIM_EINVAL);
    assert_err(&e, t.rptr, GPUSIM__PKT_TRUNCATED, "length");
}

/* A stream runs up to its first bad packet: packets before it decode, the report names it. */
static void test_stream_reports_first_bad_packet(void **state)
{
    uint8_t b[80];
    gpusim_kernel_desc_t k = kernel(GPUSIM_PATTERN_CHASE);
    pkt_t p;
    perr_t e, e2;
    tring t;
    uint64_t r, bad;
    int good = 0;
    (void)state;
    tr_init(&t, 512, BASE);
    tr_push(&t, b, ENC(gpusim_packet_copy(b, sizeof b, 0x1000, 0x2000, 0x1000)));
    tr_push(&t, b, ENC(gpusim_packet_dispatch(b, sizeof b, &k)));
    tr_push(&t, b, ENC(gpusim_packet_nop(b, sizeof b, 12)));
    bad = t.wptr;
    tr_push(&t, b, raw_fence(b, GPUSIM_PKT_FENCE_WAIT, 0, 1)); /* first error */
    tr_push(&t, b, raw_hdr(b, 9, 4));                          /* second error */
    tr_push(&t, b, ENC(gpusim_packet_fence_signal(b, sizeof b, 1, 1)));
    ASSERT_ERR(gpusim__gpu_packet_validate_stream(t.ring, t.size, t.rptr, t.wptr, &e),
               GPUSIM_EINVAL);
    assert_err(&e, bad, GPUSIM__PKT_FIELD_RANGE, "fence");
    assert_int_equal(e.opcode, GPUSIM_PKT_FENCE_WAIT);
    /* Packet-by-packet decoding runs the same three packets and stops at the same place. */
    for (r = t.rptr; gpusim__gpu_packet_decode(t.ring, t.size, r, t.wptr, &p, &e2) == 0;
         r += p.bytes)
        good++;
    assert_int_equal(good, 3);
    assert_true(r == bad && e2.offset == e.offset && e2.reason == e.reason);
    /* Past the bad packet (a queue never goes there), the next error is the unknown opcode. */
    ASSERT_ERR(gpusim__gpu_packet_validate_stream(t.ring, t.size, bad + 16, t.wptr, &e),
               GPUSIM_EINVAL);
    assert_err(&e, bad + 16, GPUSIM__PKT_UNKNOWN_OPCODE, "opcode");
    /* Up to the bad packet, the stream is valid; an empty stream is too, and leaves err alone. */
    ASSERT_OK(gpusim__gpu_packet_validate_stream(t.ring, t.size, t.rptr, bad, NULL));
    memset(&e, 0x11, sizeof e);
    e2 = e;
    ASSERT_OK(gpusim__gpu_packet_validate_stream(t.ring, t.size, bad, bad, &e));
    ASSERT_ERR(gpusim__gpu_packet_decode(t.ring, t.size, bad, bad, &p, &e), GPUSIM_EAGAIN);
    assert_memory_equal(&e, &e2, sizeof e);
}

/* Every reason has a distinct message and a lower-case name; out-of-range values are safe. */
static void test_reason_strings(void **state)
{
    (void)state;
    for (int i = 0; i < GPUSIM__PKT_REASON_COUNT; i++) {
        const char *m = gpusim__gpu_packet_reason_str((gpusim__gpu_packet_reason)i);
        const char *n = gpusim__gpu_packet_reason_name((gpusim__gpu_packet_reason)i);
        assert_true(m != NULL && m[0] != '\0' && n != NULL && n[0] != '\0');
        for (const char *c = n; *c; c++)
            assert_true((*c >= 'a' && *c <= 'z') || *c == '_');
        for (int j = 0; j < i; j++) {
            assert_string_not_equal(m, gpusim__gpu_packet_reason_str((gpusim__gpu_packet_reason)j));
            assert_string_not_equal(n,
                                    gpusim__gpu_packet_reason_name((gpusim__gpu_packet_reason)j));
        }
    }
    assert_string_equal(gpusim__gpu_packet_reason_name(GPUSIM__PKT_ADDR_BEYOND_VA),
                        "addr_beyond_va");
    assert_string_equal(gpusim__gpu_packet_reason_str(GPUSIM__PKT_REASON_COUNT), "unknown reason");
    assert_string_equal(gpusim__gpu_packet_reason_name((gpusim__gpu_packet_reason)-1), "unknown");
}

/* ------------------------------------------------------------------------------------------- */
/* Fuzz inputs: the corpus and the seeded loop                                                 */
/* ------------------------------------------------------------------------------------------- */

#define FUZZ_PREFIX 20u

/*
 * Builds the ring a fuzz input describes (docs/packets.md, "Fuzzing") in g_ring, as the fuzz entry
 * point does, and returns its first error (reason NONE when valid) through validate_stream.
 */
static int fuzz_input_outcome(const uint8_t *in, size_t n, perr_t *e)
{
    uint8_t pre[FUZZ_PREFIX] = {0};
    uint32_t size;
    uint64_t rptr = 0, wptr = 0;
    memcpy(pre, in, GPUSIM_MIN(n, (size_t)FUZZ_PREFIX));
    size =
        (uint32_t)pre[0] | (uint32_t)pre[1] << 8 | (uint32_t)pre[2] << 16 | (uint32_t)pre[3] << 24;
    for (int i = 7; i >= 0; i--) {
        rptr = rptr << 8 | pre[4 + i];
        wptr = wptr << 8 | pre[12 + i];
    }
    memset(g_ring, 0, sizeof g_ring);
    if (size <= BIG_RING && size != 0 && (size & (size - 1)) == 0)
        for (size_t i = FUZZ_PREFIX; i < n && i - FUZZ_PREFIX < size; i++)
            g_ring[(rptr + (i - FUZZ_PREFIX)) & (size - 1)] = in[i];
    /* A size past BIG_RING is valid or not; either way this buffer is too small to be read. */
    assert_true(size <= BIG_RING || size > GPUSIM_PKT_RING_MAX || (size & (size - 1)) != 0);
    memset(e, 0, sizeof *e);
    return gpusim__gpu_packet_validate_stream(g_ring, size, rptr, wptr, e);
}

/* Parses a corpus file: hex bytes, '#' comments, one "# expect:" line. Returns the byte count. */
static size_t parse_hex_file(const char *path, uint8_t *out, size_t cap, char *expect, size_t elen)
{
    FILE *f = fopen(path, "r");
    char line[512];
    size_t n = 0;
    expect[0] = '\0';
    if (f == NULL)
        fail_msg("cannot open %s", path);
    while (fgets(line, sizeof line, f) != NULL) {
        char *hash = strchr(line, '#');
        if (hash != NULL) {
            if (strncmp(hash, "# expect: ", 10) == 0) {
                snprintf(expect, elen, "%s", hash + 10);
                expect[strcspn(expect, "\r\n")] = '\0';
            }
            *hash = '\0';
        }
        for (char *c = line; *c != '\0';) {
            unsigned v;
            if (*c == ' ' || *c == '\t' || *c == '\n' || *c == '\r') {
                c++;
                continue;
            }
            if (sscanf(c, "%2x", &v) != 1 || n >= cap)
                fail_msg("%s: bad hex near '%s'", path, c);
            out[n++] = (uint8_t)v;
            c += 2;
        }
    }
    fclose(f);
    if (expect[0] == '\0')
        fail_msg("%s: no '# expect:' line", path);
    return n;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The .hex files of tests/data/packets, in name order: each file's expected outcome (a valid stream of N
 * packets, or the first error's reason, field and offset) holds, and the fuzz entry point's
 * invariants hold on it.
 */
static void test_corpus(void **state)
{
    static uint8_t in[4096];
    char *names[256], expect[128], path[1024], want_reason[64], want_field[64];
    unsigned long long want_off;
    size_t count = 0, nvalid = 0;
    DIR *d = opendir(GPUSIM_PACKET_CORPUS_DIR);
    struct dirent *de;
    (void)state;
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len > 4 && strcmp(de->d_name + len - 4, ".hex") == 0 && count < 256) {
            names[count] = malloc(len + 1);
            assert_non_null(names[count]);
            memcpy(names[count++], de->d_name, len + 1);
        }
    }
    closedir(d);
    qsort(names, count, sizeof names[0], cmp_names);
    assert_true(count >= 40);
    for (size_t i = 0; i < count; i++) {
        perr_t e;
        int rc, frc, npk;
        size_t n;
        snprintf(path, sizeof path, "%s/%s", GPUSIM_PACKET_CORPUS_DIR, names[i]);
        n = parse_hex_file(path, in, sizeof in, expect, sizeof expect);
        frc = gpusim__gpu_packet_fuzz_one(in, n);
        rc = fuzz_input_outcome(in, n, &e);
        if (sscanf(expect, "ok %d", &npk) == 1) {
            if (rc != 0 || frc != npk)
                fail_msg("%s: expected %d packets, got %d (%s at 0x%llx)", names[i], npk, frc,
                         gpusim__gpu_packet_reason_name(e.reason), (unsigned long long)e.offset);
            nvalid++;
        } else {
            assert_int_equal(sscanf(expect, "%63s %63s %llx", want_reason, want_field, &want_off),
                             3);
            if (rc != GPUSIM_EINVAL || frc != GPUSIM_EINVAL ||
                strcmp(gpusim__gpu_packet_reason_name(e.reason), want_reason) != 0 ||
                strcmp(e.field, want_field) != 0 || e.offset != want_off)
                fail_msg("%s: expected %s %s 0x%llx, got %s %s 0x%llx", names[i], want_reason,
                         want_field, want_off, gpusim__gpu_packet_reason_name(e.reason),
                         e.field ? e.field : "-", (unsigned long long)e.offset);
        }
        free(names[i]);
    }
    assert_true(nvalid >= 10 && count - nvalid >= 25);
}

/* Writes a fuzz input: the prefix, then `n` ring bytes. Returns its length. */
static size_t fuzz_input(uint8_t *in, uint32_t size, uint64_t rptr, uint64_t wptr,
                         const uint8_t *ring_bytes, size_t n)
{
    put32(in, 0, size);
    put64(in, 4, rptr);
    put64(in, 12, wptr);
    memcpy(in + FUZZ_PREFIX, ring_bytes, n);
    return FUZZ_PREFIX + n;
}

/* A random valid stream mutated 1-4 times (bits, bytes, dwords, pointers, size). */
static size_t mutated_input(gpusim_rng_t *r, uint8_t *in)
{
    static const uint32_t interesting[] = {0,           1,           0x80,   0xff,
                                           0x100,       0x4000,      0xffff, 0x1000000,
                                           0x80000000u, 0xffffffffu, 0x804,  0x1203};
    uint8_t data[4096];
    uint32_t size = 256u << gpusim_rng_below(r, 5);
    uint64_t rptr = 4 * gpusim_rng_below(r, UINT64_C(1) << 40), wptr;
    size_t n = 0;
    while (n + GPUSIM_PKT_DISPATCH_BYTES <= size && gpusim_rng_below(r, 8) != 0)
        n += rand_packet(r, data + n, sizeof data - n);
    wptr = rptr + n;
    for (int m = (int)(1 + gpusim_rng_below(r, 4)); m > 0; m--) {
        size_t at = n ? gpusim_rng_below(r, n) : 0;
        switch (gpusim_rng_below(r, 10)) {
        case 0:
        case 1:
        case 2:
            if (n)
                data[at] ^= (uint8_t)(1u << gpusim_rng_below(r, 8));
            break;
        case 3:
        case 4:
            if (n)
                data[at] = (uint8_t)gpusim_rng_next(r);
            break;
        case 5:
        case 6:
            if (n >= 4)
                put32(data, at & ~(size_t)3,
                      interesting[gpusim_rng_below(r, GPUSIM_ARRAY_SIZE(interesting))]);
            break;
        case 7:
            wptr += 4 * (gpusim_rng_below(r, 9)) - 16;
            break;
        case 8:
            rptr += gpusim_rng_below(r, 2) ? 4 : 2;
            break;
        default:
            size = gpusim_rng_below(r, 2) ? size / 2 : size + 4 * (uint32_t)gpusim_rng_below(r, 2);
            break;
        }
    }
    return fuzz_input(in, size, rptr, wptr, data, n);
}

/*
 * The fuzz entry point on 3000 seeded inputs -- random bytes, random prefixes, mutated valid
 * streams -- never aborts, agrees with validate_stream, and sees both valid streams and every
 * rejection reason. Also: NULL and empty inputs, and allocation failures.
 */
static void test_fuzz_entry_point(void **state)
{
    static uint8_t in[4096 + FUZZ_PREFIX];
    unsigned seen[GPUSIM__PKT_REASON_COUNT] = {0};
    unsigned valid = 0, distinct = 0;
    gpusim_rng_t rng;
    (void)state;
    gpusim_rng_seed(&rng, 7, gpusim_rng_key("packet.fuzz"));
    for (int i = 0; i < 3000; i++) {
        size_t n;
        perr_t e;
        int rc, frc;
        if (i % 3 == 2) {
            n = gpusim_rng_below(&rng, 600);
            for (size_t j = 0; j < n; j++)
                in[j] = (uint8_t)gpusim_rng_next(&rng);
            if (n >= FUZZ_PREFIX && gpusim_rng_below(&rng, 2)) { /* a plausible ring */
                uint64_t rp = 4 * gpusim_rng_below(&rng, 1000);
                put32(in, 0, 256u << gpusim_rng_below(&rng, 3));
                put64(in, 4, rp);
                put64(in, 12, rp + 4 * gpusim_rng_below(&rng, 1 + (n - FUZZ_PREFIX) / 4));
            }
        } else {
            n = mutated_input(&rng, in);
        }
        frc = gpusim__gpu_packet_fuzz_one(in, n);
        rc = fuzz_input_outcome(in, n, &e);
        assert_int_equal(rc == 0, frc >= 0);
        if (frc >= 0)
            valid++;
        else
            assert_int_equal(frc, GPUSIM_EINVAL);
        seen[e.reason]++;
    }
    for (int r = 1; r < GPUSIM__PKT_REASON_COUNT; r++)
        distinct += seen[r] != 0;
    assert_true(valid >= 300 && valid <= 2700);
    assert_int_equal(distinct, GPUSIM__PKT_REASON_COUNT - 1); /* every reason, seen */

    assert_int_equal(gpusim__gpu_packet_fuzz_one(NULL, 0), GPUSIM_EINVAL); /* size 0: bad ring */
    assert_int_equal(gpusim__gpu_packet_fuzz_one(NULL, 5), GPUSIM_EINVAL);
    {
        uint8_t b[16];
        size_t n = fuzz_input(in, 256, 0, 16, b, ENC(gpusim_packet_fence_wait(b, sizeof b, 1, 1)));
        for (long nth = 1; nth <= 3; nth++) {
            gpusim__alloc_fail_nth(nth);
            assert_int_equal(gpusim__gpu_packet_fuzz_one(in, n), GPUSIM_ENOMEM);
        }
        gpusim__alloc_fail_nth(0);
        assert_int_equal(gpusim__gpu_packet_fuzz_one(in, n), 1);
    }
    ASSERT_NO_LEAK();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_wire_bytes_match_the_documented_tables),
        GPUSIM_TEST(test_roundtrip_every_type),
        GPUSIM_TEST(test_roundtrip_random_packets),
        GPUSIM_TEST(test_encoders_refuse_small_buffers),
        GPUSIM_TEST(test_nop_padding),
        GPUSIM_TEST(test_reject_bad_ring_arguments),
        GPUSIM_TEST(test_reject_bad_headers),
        GPUSIM_TEST(test_reject_reserved_fields),
        GPUSIM_TEST(test_reject_copy_fields),
        GPUSIM_TEST(test_reject_dispatch_fields),
        GPUSIM_TEST(test_reject_fence_fields),
        GPUSIM_TEST(test_reject_tlb_invalidate_fields),
        GPUSIM_TEST(test_wrap_around_the_ring_end),
        GPUSIM_TEST(test_stream_reports_first_bad_packet),
        GPUSIM_TEST(test_reason_strings),
        GPUSIM_TEST(test_corpus),
        GPUSIM_TEST(test_fuzz_entry_point),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
