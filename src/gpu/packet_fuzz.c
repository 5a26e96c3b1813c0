/*
 * gpu/packet_fuzz.c -- the decoder's fuzzer entry point (gpu/packet.h, docs/packets.md).
 *
 * gpusim__gpu_packet_fuzz_one() turns any byte string into a ring and a pair of pointers, decodes
 * the whole stream, and aborts (with a line on stderr) when a decoder invariant fails, so that a
 * coverage-guided fuzzer (libFuzzer, AFL) or the unit test's seeded loop sees a crash. The input:
 *
 *   bytes 0-3     ring size, u32 little-endian: any value (an invalid one must be refused)
 *   bytes 4-11    rptr, u64 LE: any value
 *   bytes 12-19   wptr, u64 LE: any value
 *   bytes 20-     ring contents, written from rptr's position on, wrapping, at most `size`
 *                 bytes; the rest of the ring is zero
 * A shorter input reads as if padded with zeros. The ring is allocated at exactly `size` bytes
 * when the size is valid and at one byte otherwise, so under AddressSanitizer any read outside the
 * ring, or any read at all when the arguments are bad, is reported where it happens.
 *
 * Memory comes from a private arena of the allocator facade, created and destroyed per call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "gpu/packet.h"

#define FUZZ_PREFIX 20u

/* Aborts with the failed invariant: the fuzzer's crash signal. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fuzz_die(#cond, __LINE__);                                                             \
    } while (0)

static void fuzz_die(const char *what, int line)
{
    fprintf(stderr, "gpusim packet fuzz: invariant failed at packet_fuzz.c:%d: %s\n", line, what);
    abort();
}

/* Little-endian field of the prefix; bytes past the end of the input read as zero. */
static uint64_t fuzz_le(const uint8_t *data, size_t size, size_t off, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        if (off + i < size)
            v |= (uint64_t)data[off + i] << (8 * i);
    return v;
}

static bool fuzz_ring_valid(uint32_t size, uint64_t rptr, uint64_t wptr)
{
    return size >= GPUSIM_PKT_RING_MIN && size <= GPUSIM_PKT_RING_MAX && (size & (size - 1)) == 0 &&
           rptr % 4 == 0 && wptr % 4 == 0 && rptr <= wptr && wptr - rptr <= size;
}

/* Re-encodes p through the public encoder of its opcode. */
static int fuzz_encode(const gpusim__gpu_packet *p, uint8_t *buf, size_t cap)
{
    switch (p->opcode) {
    case GPUSIM_PKT_NOP:
        return gpusim_packet_nop(buf, cap, p->bytes);
    case GPUSIM_PKT_COPY:
        return gpusim_packet_copy(buf, cap, p->u.copy.dst_va, p->u.copy.src_va, p->u.copy.bytes);
    case GPUSIM_PKT_DISPATCH:
        return gpusim_packet_dispatch(buf, cap, &p->u.dispatch);
    case GPUSIM_PKT_FENCE_SIGNAL:
        return gpusim_packet_fence_signal(buf, cap, p->u.fence.fence, p->u.fence.value);
    case GPUSIM_PKT_FENCE_WAIT:
        return gpusim_packet_fence_wait(buf, cap, p->u.fence.fence, p->u.fence.value);
    case GPUSIM_PKT_TLB_INVALIDATE:
        return gpusim_packet_tlb_invalidate(buf, cap, p->u.inval.scope, p->u.inval.va,
                                            p->u.inval.bytes);
    default:
        return GPUSIM_EINVAL;
    }
}

/* Checks one successful decode of the packet at counter r: its length, and the round trip. */
static void fuzz_check_packet(const uint8_t *ring, uint32_t size, uint64_t r, uint64_t wptr,
                              const gpusim__gpu_packet *p, uint8_t *scratch)
{
    FUZZ_CHECK(p->bytes >= GPUSIM_PKT_DWORD && p->bytes % GPUSIM_PKT_DWORD == 0);
    FUZZ_CHECK(p->bytes <= wptr - r && p->bytes <= GPUSIM_PKT_MAX_BYTES);
    FUZZ_CHECK(gpusim__gpu_packet_validate(p, NULL, NULL) == 0);
    FUZZ_CHECK(fuzz_encode(p, scratch, GPUSIM_PKT_MAX_BYTES) == (int)p->bytes);
    for (uint32_t i = 0; i < p->bytes; i++)
        FUZZ_CHECK(scratch[i] == ring[(r + i) & (size - 1)]);
}

/* Decodes [rptr, wptr) packet by packet, checking each; returns the count or GPUSIM_EINVAL. */
static int fuzz_walk(const uint8_t *ring, uint32_t size, uint64_t rptr, uint64_t wptr,
                     uint8_t *scratch, gpusim__gpu_packet_error *first)
{
    gpusim__gpu_packet p, before;
    gpusim__gpu_packet_error e;
    uint64_t r = rptr;
    int count = 0;
    for (;;) {
        int rc;
        memset(&p, 0xa5, sizeof p);
        before = p;
        rc = gpusim__gpu_packet_decode(ring, size, r, wptr, &p, &e);
        if (rc == GPUSIM_EAGAIN) {
            FUZZ_CHECK(r == wptr);
            return count;
        }
        FUZZ_CHECK(r != wptr);
        if (rc != 0) {
            FUZZ_CHECK(rc == GPUSIM_EINVAL);
            FUZZ_CHECK(memcmp(&p, &before, sizeof p) == 0); /* *out untouched */
            FUZZ_CHECK(e.offset == r);
            FUZZ_CHECK(e.reason > GPUSIM__PKT_BAD_RING && e.reason < GPUSIM__PKT_REASON_COUNT);
            *first = e;
            return GPUSIM_EINVAL;
        }
        fuzz_check_packet(ring, size, r, wptr, &p, scratch);
        r += p.bytes;
        count++;
    }
}

int gpusim__gpu_packet_fuzz_one(const uint8_t *data, size_t size)
{
    gpusim__arena arena;
    gpusim__gpu_packet out;
    gpusim__gpu_packet_error e, s;
    uint32_t rsize;
    uint64_t rptr, wptr;
    bool valid;
    size_t ring_bytes;
    uint8_t *ring, *scratch;
    int rc, src;

    if (data == NULL && size != 0)
        return GPUSIM_EINVAL;
    rsize = (uint32_t)fuzz_le(data, size, 0, 4);
    rptr = fuzz_le(data, size, 4, 8);
    wptr = fuzz_le(data, size, 12, 8);
    valid = fuzz_ring_valid(rsize, rptr, wptr);
    ring_bytes = valid ? rsize : 1;
    if (gpusim__arena_init(&arena) != 0)
        return GPUSIM_ENOMEM;
    ring = gpusim__arena_zalloc(&arena, ring_bytes);
    scratch = gpusim__arena_alloc(&arena, GPUSIM_PKT_MAX_BYTES);
    if (ring == NULL || scratch == NULL) {
        gpusim__arena_free(&arena, ring, ring_bytes);
        gpusim__arena_free(&arena, scratch, GPUSIM_PKT_MAX_BYTES);
        gpusim__arena_destroy(&arena);
        return GPUSIM_ENOMEM;
    }
    if (!valid) {
        /* Must be refused before any read: the 1-byte ring would show one under ASan. */
        rc = gpusim__gpu_packet_decode(ring, rsize, rptr, wptr, &out, &e);
        FUZZ_CHECK(rc == GPUSIM_EINVAL && e.reason == GPUSIM__PKT_BAD_RING && e.offset == rptr);
        FUZZ_CHECK(e.field != NULL);
        src = gpusim__gpu_packet_validate_stream(ring, rsize, rptr, wptr, &s);
        FUZZ_CHECK(src == GPUSIM_EINVAL && s.reason == GPUSIM__PKT_BAD_RING && s.offset == rptr);
    } else {
        for (size_t i = FUZZ_PREFIX; i < size && i - FUZZ_PREFIX < rsize; i++)
            ring[(rptr + (i - FUZZ_PREFIX)) & (rsize - 1)] = data[i];
        rc = fuzz_walk(ring, rsize, rptr, wptr, scratch, &e);
        /* The whole-stream helper must agree with packet-by-packet decoding. */
        memset(&s, 0, sizeof s);
        src = gpusim__gpu_packet_validate_stream(ring, rsize, rptr, wptr, &s);
        FUZZ_CHECK(rc >= 0 ? src == 0 : src == GPUSIM_EINVAL);
        if (rc < 0) {
            FUZZ_CHECK(s.offset == e.offset && s.reason == e.reason && s.opcode == e.opcode);
            FUZZ_CHECK(s.field != NULL && e.field != NULL && strcmp(s.field, e.field) == 0);
            FUZZ_CHECK(gpusim__gpu_packet_reason_str(e.reason) != NULL);
        }
    }
    gpusim__arena_free(&arena, ring, ring_bytes);
    gpusim__arena_free(&arena, scratch, GPUSIM_PKT_MAX_BYTES);
    gpusim__arena_destroy(&arena);
    return rc;
}
