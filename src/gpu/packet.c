/*
 * gpu/packet.c -- the validating packet decoder (gpu/packet.h; the format is docs/packets.md).
 *
 * Every byte of the ring is read through rd32(), which masks the position with size - 1 and reads
 * one aligned dword; since sizes are powers of two of at least 256 and counters multiples of 4, a
 * dword never straddles the end of the ring, and a 64-bit field that does is read as two dwords,
 * each wrapped on its own. rd32() is only called once the ring arguments have been validated and
 * only for dwords below wptr (the header's length is checked against wptr before the payload is
 * read), which is what makes "never reads outside the ring" hold for any input.
 *
 * Checks run in a fixed order, so the reason reported for a packet with several faults is a
 * function of its bytes alone: the ring arguments; then the header (reserved bits, opcode, zero
 * length, oversized, wrong fixed length, truncated at wptr); then the packet's reserved fields;
 * then its fields in the order gpusim__gpu_packet_validate() takes them.
 */
#include <string.h>

#include "core/compiler.h"
#include "gpu/packet.h"
#include "gpu/pt.h"

/* The public format names the GPU's VA and page size; they must be the page table's. */
_Static_assert(GPUSIM_PKT_VA_BITS == GPUSIM__GPU_VA_BITS, "packet VA is the page table's VA");
_Static_assert(GPUSIM_PKT_VA_LIMIT == GPUSIM__GPU_VA_LIMIT, "packet VA is the page table's VA");
_Static_assert(GPUSIM_PKT_PAGE_SIZE == GPUSIM__GPU_PAGE_SIZE, "TLB ranges are in GPU pages");
_Static_assert(GPUSIM_PKT_MAX_DWORDS <= GPUSIM_PKT_HDR_LEN_MASK, "the length field holds it");
_Static_assert(GPUSIM_PKT_RING_MIN % GPUSIM_PKT_DWORD == 0, "dwords never straddle the ring end");

static const char *const pkt_reason_msg[] = {
#define PKT_REASON_MSG(name, lower, msg) msg,
    GPUSIM__GPU_PKT_REASON_MAP(PKT_REASON_MSG)
#undef PKT_REASON_MSG
};

static const char *const pkt_reason_name[] = {
#define PKT_REASON_NAME(name, lower, msg) #lower,
    GPUSIM__GPU_PKT_REASON_MAP(PKT_REASON_NAME)
#undef PKT_REASON_NAME
};

const char *gpusim__gpu_packet_reason_str(gpusim__gpu_packet_reason reason)
{
    if ((unsigned)reason >= GPUSIM__PKT_REASON_COUNT)
        return "unknown reason";
    return pkt_reason_msg[reason];
}

const char *gpusim__gpu_packet_reason_name(gpusim__gpu_packet_reason reason)
{
    if ((unsigned)reason >= GPUSIM__PKT_REASON_COUNT)
        return "unknown";
    return pkt_reason_name[reason];
}

/* The length of a fixed-length opcode in bytes, 0 for NOP (variable), -1 for no such opcode. */
static int pkt_fixed_bytes(uint32_t opcode)
{
    switch (opcode) {
    case GPUSIM_PKT_NOP:
        return 0;
    case GPUSIM_PKT_COPY:
        return GPUSIM_PKT_COPY_BYTES;
    case GPUSIM_PKT_DISPATCH:
        return GPUSIM_PKT_DISPATCH_BYTES;
    case GPUSIM_PKT_FENCE_SIGNAL:
    case GPUSIM_PKT_FENCE_WAIT:
        return GPUSIM_PKT_FENCE_BYTES;
    case GPUSIM_PKT_TLB_INVALIDATE:
        return GPUSIM_PKT_TLB_INVALIDATE_BYTES;
    default:
        return -1;
    }
}

/* Records a refusal: sets *reason and *field and returns GPUSIM_EINVAL. */
static int pkt_refuse(gpusim__gpu_packet_reason *reason, const char **field,
                      gpusim__gpu_packet_reason why, const char *name)
{
    *reason = why;
    *field = name;
    return GPUSIM_EINVAL;
}

/* [va, va + n), n > 0: must not wrap (an end of exactly 2^64 wraps to 0) nor pass 2^48. */
static int pkt_range(uint64_t va, uint64_t n, const char *name, gpusim__gpu_packet_reason *reason,
                     const char **field)
{
    uint64_t end = va + n; /* unsigned: wraps without UB, and wrapping is what we test for */
    if (end < va)
        return pkt_refuse(reason, field, GPUSIM__PKT_ADDR_OVERFLOW, name);
    if (end > GPUSIM_PKT_VA_LIMIT)
        return pkt_refuse(reason, field, GPUSIM__PKT_ADDR_BEYOND_VA, name);
    return 0;
}

static bool pkt_uses_stride(gpusim_access_pattern_t p)
{
    return p == GPUSIM_PATTERN_STRIDED || p == GPUSIM_PATTERN_STENCIL;
}

static bool pkt_uses_seed(gpusim_access_pattern_t p)
{
    return p == GPUSIM_PATTERN_RANDOM || p == GPUSIM_PATTERN_HOTCOLD || p == GPUSIM_PATTERN_CHASE;
}

/* The DISPATCH rules, in the documented order; r and f receive the refusal. */
static int pkt_validate_dispatch(const gpusim_kernel_desc_t *k, gpusim__gpu_packet_reason *r,
                                 const char **f)
{
    bool hotcold = k->pattern == GPUSIM_PATTERN_HOTCOLD;
    int rc;
    if ((unsigned)k->pattern > (unsigned)GPUSIM_PATTERN_TRACE)
        return pkt_refuse(r, f, GPUSIM__PKT_FIELD_RANGE, "pattern");
    if (k->write_pct > 100)
        return pkt_refuse(r, f, GPUSIM__PKT_FIELD_RANGE, "write_pct");
    if (hotcold && (k->hot_set_pct < 1 || k->hot_set_pct > 100))
        return pkt_refuse(r, f, GPUSIM__PKT_FIELD_RANGE, "hot_set_pct");
    if (!hotcold && k->hot_set_pct != 0)
        return pkt_refuse(r, f, GPUSIM__PKT_UNUSED_FIELD, "hot_set_pct");
    if (hotcold && k->hot_access_pct > 100)
        return pkt_refuse(r, f, GPUSIM__PKT_FIELD_RANGE, "hot_access_pct");
    if (!hotcold && k->hot_access_pct != 0)
        return pkt_refuse(r, f, GPUSIM__PKT_UNUSED_FIELD, "hot_access_pct");
    if (k->buffer_bytes == 0)
        return pkt_refuse(r, f, GPUSIM__PKT_FIELD_RANGE, "buffer_bytes");
    rc = pkt_range(k->buffer_va, k->buffer_bytes, "buffer_va", r, f);
    if (rc != 0)
        return rc;
    if (k->touches_per_pass == 0)
        return pkt_refuse(r, f, GPUSIM__PKT_FIELD_RANGE, "touches_per_pass");
    if (pkt_uses_stride(k->pattern) && (k->stride == 0 || k->stride > k->buffer_bytes))
        return pkt_refuse(r, f, GPUSIM__PKT_FIELD_RANGE, "stride");
    if (!pkt_uses_stride(k->pattern) && k->stride != 0)
        return pkt_refuse(r, f, GPUSIM__PKT_UNUSED_FIELD, "stride");
    if (!pkt_uses_seed(k->pattern) && k->seed != 0)
        return pkt_refuse(r, f, GPUSIM__PKT_UNUSED_FIELD, "seed");
    if (k->passes == 0)
        return pkt_refuse(r, f, GPUSIM__PKT_FIELD_RANGE, "passes");
    /* The engine counts touches in 64 bits: the kernel's total must fit. */
    if (k->touches_per_pass > UINT64_MAX / k->passes)
        return pkt_refuse(r, f, GPUSIM__PKT_FIELD_RANGE, "touches_per_pass");
    if (k->bytes_per_touch == 0 || k->bytes_per_touch > GPUSIM_PKT_MAX_BYTES_PER_TOUCH ||
        k->bytes_per_touch > k->buffer_bytes)
        return pkt_refuse(r, f, GPUSIM__PKT_FIELD_RANGE, "bytes_per_touch");
    if (k->waves == 0)
        return pkt_refuse(r, f, GPUSIM__PKT_FIELD_RANGE, "waves");
    if (k->pattern != GPUSIM_PATTERN_TRACE && k->trace_id != 0)
        return pkt_refuse(r, f, GPUSIM__PKT_UNUSED_FIELD, "trace_id");
    return 0;
}

static int pkt_validate_inval(const gpusim__gpu_packet *p, gpusim__gpu_packet_reason *reason,
                              const char **field)
{
    uint64_t va = p->u.inval.va, n = p->u.inval.bytes;
    switch (p->u.inval.scope) {
    case GPUSIM_TLB_SCOPE_RANGE:
        if (va % GPUSIM_PKT_PAGE_SIZE != 0)
            return pkt_refuse(reason, field, GPUSIM__PKT_MISALIGNED, "va");
        if (n == 0)
            return pkt_refuse(reason, field, GPUSIM__PKT_FIELD_RANGE, "bytes");
        if (n % GPUSIM_PKT_PAGE_SIZE != 0)
            return pkt_refuse(reason, field, GPUSIM__PKT_MISALIGNED, "bytes");
        return pkt_range(va, n, "va", reason, field);
    case GPUSIM_TLB_SCOPE_CONTEXT:
        if (va != 0)
            return pkt_refuse(reason, field, GPUSIM__PKT_UNUSED_FIELD, "va");
        if (n != 0)
            return pkt_refuse(reason, field, GPUSIM__PKT_UNUSED_FIELD, "bytes");
        return 0;
    default:
        return pkt_refuse(reason, field, GPUSIM__PKT_FIELD_RANGE, "scope");
    }
}

int gpusim__gpu_packet_validate(const gpusim__gpu_packet *p, gpusim__gpu_packet_reason *reason,
                                const char **field)
{
    gpusim__gpu_packet_reason r_dummy;
    const char *f_dummy;
    int fixed;
    if (reason == NULL)
        reason = &r_dummy;
    if (field == NULL)
        field = &f_dummy;
    *reason = GPUSIM__PKT_NONE;
    *field = NULL;
    if (p == NULL)
        return pkt_refuse(reason, field, GPUSIM__PKT_FIELD_RANGE, "packet");
    fixed = pkt_fixed_bytes(p->opcode);
    if (fixed < 0)
        return pkt_refuse(reason, field, GPUSIM__PKT_UNKNOWN_OPCODE, "opcode");
    if (p->bytes == 0 || p->bytes % GPUSIM_PKT_DWORD != 0)
        return pkt_refuse(reason, field, GPUSIM__PKT_BAD_LENGTH, "length");
    if (p->bytes > GPUSIM_PKT_MAX_BYTES)
        return pkt_refuse(reason, field, GPUSIM__PKT_OVERSIZED, "length");
    if (fixed > 0 && p->bytes != (uint32_t)fixed)
        return pkt_refuse(reason, field, GPUSIM__PKT_BAD_LENGTH, "length");
    switch (p->opcode) {
    case GPUSIM_PKT_COPY:
        if (p->u.copy.bytes == 0)
            return pkt_refuse(reason, field, GPUSIM__PKT_FIELD_RANGE, "bytes");
        if (pkt_range(p->u.copy.dst_va, p->u.copy.bytes, "dst_va", reason, field) != 0)
            return GPUSIM_EINVAL;
        return pkt_range(p->u.copy.src_va, p->u.copy.bytes, "src_va", reason, field);
    case GPUSIM_PKT_DISPATCH:
        return pkt_validate_dispatch(&p->u.dispatch, reason, field);
    case GPUSIM_PKT_FENCE_SIGNAL:
    case GPUSIM_PKT_FENCE_WAIT:
        if (p->u.fence.fence == 0)
            return pkt_refuse(reason, field, GPUSIM__PKT_FIELD_RANGE, "fence");
        if (p->u.fence.value == 0)
            return pkt_refuse(reason, field, GPUSIM__PKT_FIELD_RANGE, "value");
        return 0;
    case GPUSIM_PKT_TLB_INVALIDATE:
        return pkt_validate_inval(p, reason, field);
    default: /* NOP: its length was all there was to check */
        return 0;
    }
}

/* ------------------------------------------------------------------------------------------- */
/* Reading the ring                                                                            */
/* ------------------------------------------------------------------------------------------- */

/* A packet being read: the ring, its mask and the counter of the packet's header. */
typedef struct pkt_reader {
    const uint8_t *ring; /* Validated ring. */
    uint32_t mask;       /* size - 1. */
    uint64_t base;       /* Counter of the header; base + off < wptr for every read. */
} pkt_reader;

/* The little-endian dword at byte `off` of the packet (off a multiple of 4). */
static uint32_t rd32(const pkt_reader *r, uint32_t off)
{
    uint32_t pos = (uint32_t)((r->base + off) & r->mask);
    const uint8_t *b = r->ring + pos;
    GPUSIM_ASSERT(pos % GPUSIM_PKT_DWORD == 0 && pos + 3 <= r->mask);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* The little-endian u64 at byte `off`, as two dwords: it may straddle the end of the ring. */
static uint64_t rd64(const pkt_reader *r, uint32_t off)
{
    return (uint64_t)rd32(r, off) | (uint64_t)rd32(r, off + 4) << 32;
}

/* Validates the ring arguments; returns the name of the first bad one, or NULL. */
static const char *pkt_ring_bad(const uint8_t *ring, uint32_t size, uint64_t rptr, uint64_t wptr)
{
    if (ring == NULL)
        return "ring";
    if (size < GPUSIM_PKT_RING_MIN || size > GPUSIM_PKT_RING_MAX || (size & (size - 1)) != 0)
        return "size";
    if (rptr % GPUSIM_PKT_DWORD != 0)
        return "rptr";
    if (wptr % GPUSIM_PKT_DWORD != 0 || wptr < rptr || wptr - rptr > size)
        return "wptr";
    return NULL;
}

/* Fills the packet's fields from the ring; checks the reserved fields the struct does not keep. */
static int pkt_read_fields(const pkt_reader *r, gpusim__gpu_packet *p,
                           gpusim__gpu_packet_reason *reason, const char **field)
{
    gpusim_kernel_desc_t *k = &p->u.dispatch;
    uint32_t v;
    switch (p->opcode) {
    case GPUSIM_PKT_NOP:
        for (uint32_t off = GPUSIM_PKT_DWORD; off < p->bytes; off += GPUSIM_PKT_DWORD)
            if (rd32(r, off) != 0)
                return pkt_refuse(reason, field, GPUSIM__PKT_RESERVED, "payload");
        return 0;
    case GPUSIM_PKT_COPY:
        if (rd32(r, GPUSIM__PKT_OFF_COPY_FLAGS) != 0)
            return pkt_refuse(reason, field, GPUSIM__PKT_RESERVED, "flags");
        p->u.copy.dst_va = rd64(r, GPUSIM__PKT_OFF_COPY_DST);
        p->u.copy.src_va = rd64(r, GPUSIM__PKT_OFF_COPY_SRC);
        p->u.copy.bytes = rd64(r, GPUSIM__PKT_OFF_COPY_BYTES);
        return 0;
    case GPUSIM_PKT_DISPATCH:
        if (rd32(r, GPUSIM__PKT_OFF_DISP_RESERVED) != 0)
            return pkt_refuse(reason, field, GPUSIM__PKT_RESERVED, "reserved");
        v = rd32(r, GPUSIM__PKT_OFF_DISP_CONTROL);
        /* Range-checked before it becomes an enum: an enum must only hold its values. */
        if ((v & 0xffu) > (uint32_t)GPUSIM_PATTERN_TRACE)
            return pkt_refuse(reason, field, GPUSIM__PKT_FIELD_RANGE, "pattern");
        k->pattern = (gpusim_access_pattern_t)(v & 0xffu);
        k->write_pct = (uint8_t)(v >> 8);
        k->hot_set_pct = (uint8_t)(v >> 16);
        k->hot_access_pct = (uint8_t)(v >> 24);
        k->buffer_va = rd64(r, GPUSIM__PKT_OFF_DISP_BUFFER_VA);
        k->buffer_bytes = rd64(r, GPUSIM__PKT_OFF_DISP_BUFFER_SIZE);
        k->touches_per_pass = rd64(r, GPUSIM__PKT_OFF_DISP_TOUCHES);
        k->stride = rd64(r, GPUSIM__PKT_OFF_DISP_STRIDE);
        k->seed = rd64(r, GPUSIM__PKT_OFF_DISP_SEED);
        k->passes = rd32(r, GPUSIM__PKT_OFF_DISP_PASSES);
        k->bytes_per_touch = rd32(r, GPUSIM__PKT_OFF_DISP_BPT);
        k->compute_ns_per_touch = rd32(r, GPUSIM__PKT_OFF_DISP_COMPUTE_NS);
        k->waves = rd32(r, GPUSIM__PKT_OFF_DISP_WAVES);
        k->trace_id = rd32(r, GPUSIM__PKT_OFF_DISP_TRACE_ID);
        return 0;
    case GPUSIM_PKT_FENCE_SIGNAL:
    case GPUSIM_PKT_FENCE_WAIT:
        p->u.fence.fence = rd32(r, GPUSIM__PKT_OFF_FENCE_HANDLE);
        p->u.fence.value = rd64(r, GPUSIM__PKT_OFF_FENCE_VALUE);
        return 0;
    default: /* GPUSIM_PKT_TLB_INVALIDATE: the only opcode left after the header checks */
        v = rd32(r, GPUSIM__PKT_OFF_INVAL_SCOPE);
        if (v > (uint32_t)GPUSIM_TLB_SCOPE_CONTEXT)
            return pkt_refuse(reason, field, GPUSIM__PKT_FIELD_RANGE, "scope");
        p->u.inval.scope = (gpusim_tlb_scope_t)v;
        p->u.inval.va = rd64(r, GPUSIM__PKT_OFF_INVAL_VA);
        p->u.inval.bytes = rd64(r, GPUSIM__PKT_OFF_INVAL_BYTES);
        return 0;
    }
}

/* Copies the error out (err may be NULL) and returns GPUSIM_EINVAL. */
static int pkt_fail(gpusim__gpu_packet_error *err, uint64_t offset, uint32_t opcode,
                    gpusim__gpu_packet_reason reason, const char *field)
{
    if (err != NULL) {
        err->offset = offset;
        err->reason = reason;
        err->opcode = opcode;
        err->field = field;
    }
    return GPUSIM_EINVAL;
}

int gpusim__gpu_packet_decode(const uint8_t *ring, uint32_t size, uint64_t rptr, uint64_t wptr,
                              gpusim__gpu_packet *out, gpusim__gpu_packet_error *err)
{
    gpusim__gpu_packet p;
    gpusim__gpu_packet_reason reason = GPUSIM__PKT_NONE;
    const char *field = out == NULL ? "out" : pkt_ring_bad(ring, size, rptr, wptr);
    pkt_reader r = {ring, size - 1, rptr};
    uint32_t hdr, op, dwords;
    int fixed;
    if (field != NULL)
        return pkt_fail(err, rptr, 0, GPUSIM__PKT_BAD_RING, field);
    if (rptr == wptr)
        return GPUSIM_EAGAIN;
    hdr = rd32(&r, GPUSIM__PKT_OFF_HEADER);
    op = (hdr >> GPUSIM_PKT_HDR_OPCODE_SHIFT) & GPUSIM_PKT_HDR_OPCODE_MASK;
    dwords = (hdr >> GPUSIM_PKT_HDR_LEN_SHIFT) & GPUSIM_PKT_HDR_LEN_MASK;
    fixed = pkt_fixed_bytes(op);
    if ((hdr & GPUSIM_PKT_HDR_RESERVED) != 0)
        return pkt_fail(err, rptr, op, GPUSIM__PKT_RESERVED, "header");
    if (fixed < 0)
        return pkt_fail(err, rptr, op, GPUSIM__PKT_UNKNOWN_OPCODE, "opcode");
    if (dwords == 0)
        return pkt_fail(err, rptr, op, GPUSIM__PKT_BAD_LENGTH, "length");
    if (dwords > GPUSIM_PKT_MAX_DWORDS)
        return pkt_fail(err, rptr, op, GPUSIM__PKT_OVERSIZED, "length");
    if (fixed > 0 && dwords * GPUSIM_PKT_DWORD != (uint32_t)fixed)
        return pkt_fail(err, rptr, op, GPUSIM__PKT_BAD_LENGTH, "length");
    /* Whole packets only: nothing past wptr is read, and a short stream is an error. */
    if ((uint64_t)dwords * GPUSIM_PKT_DWORD > wptr - rptr)
        return pkt_fail(err, rptr, op, GPUSIM__PKT_TRUNCATED, "length");

    memset(&p, 0, sizeof p);
    p.opcode = op;
    p.bytes = dwords * GPUSIM_PKT_DWORD;
    if (pkt_read_fields(&r, &p, &reason, &field) != 0 ||
        gpusim__gpu_packet_validate(&p, &reason, &field) != 0)
        return pkt_fail(err, rptr, op, reason, field);
    *out = p;
    return 0;
}

int gpusim__gpu_packet_validate_stream(const uint8_t *ring, uint32_t size, uint64_t rptr,
                                       uint64_t wptr, gpusim__gpu_packet_error *err)
{
    gpusim__gpu_packet p;
    uint64_t r = rptr;
    for (;;) {
        int rc = gpusim__gpu_packet_decode(ring, size, r, wptr, &p, err);
        if (rc == GPUSIM_EAGAIN)
            return 0;
        if (rc != 0)
            return rc;
        /* A decoded packet has 4 .. wptr - r bytes, so the loop ends within size / 4 steps. */
        r += p.bytes;
    }
}
