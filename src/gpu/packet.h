/*
 * gpu/packet.h -- the validating decoder of command-queue packets. Internal.
 *
 * The wire format is public (include/gpusim/packet.h, docs/packets.md); this is the device's side:
 * reading packets out of a queue's ring and refusing anything malformed.
 *
 * A queue is a ring of `size` bytes (a power of two, GPUSIM_PKT_RING_MIN .. GPUSIM_PKT_RING_MAX)
 * with two monotonically increasing 64-bit byte counters, rptr <= wptr, both multiples of 4, with
 * wptr - rptr <= size; counter c is at ring position c & (size - 1). Packets may wrap around the
 * end of the ring. At doorbell time [rptr, wptr) must hold whole packets: a packet whose header
 * says it runs past wptr is truncated, an error, not "wait for more".
 *
 * Invariants of the decoder, whatever the bytes and arguments:
 *   - it reads only ring[0 .. size) and only after the ring arguments have been validated, and
 *     only the dwords of [rptr, wptr); it never writes the ring and never allocates;
 *   - a successful decode describes a packet of 4 .. min(wptr - rptr, GPUSIM_PKT_MAX_BYTES) bytes,
 *     a multiple of 4, whose fields the public encoders accept and re-encode to the same bytes;
 *   - a failed decode leaves *out untouched and fills *err with the counter of the bad packet's
 *     header (rptr itself for bad ring arguments), a reason and, where one is to blame, the name
 *     of the field; the checks run in a fixed order (docs/packets.md), so the report is a function
 *     of the bytes alone.
 * Addresses are only checked as numbers (no wrap, below 2^48, aligned where required): they are
 * virtual addresses of the queue's own context, translated through its own page table when the
 * packet runs, so a packet cannot name another context's memory.
 */
#ifndef GPUSIM_GPU_PACKET_H
#define GPUSIM_GPU_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "gpusim.h"

/* Byte offsets of the fields of each packet (the tables of docs/packets.md). */
#define GPUSIM__PKT_OFF_HEADER           0u
#define GPUSIM__PKT_OFF_COPY_DST         4u
#define GPUSIM__PKT_OFF_COPY_SRC         12u
#define GPUSIM__PKT_OFF_COPY_BYTES       20u
#define GPUSIM__PKT_OFF_COPY_FLAGS       28u
#define GPUSIM__PKT_OFF_DISP_CONTROL     4u /* pattern, write_pct, hot_set_pct, hot_access_pct */
#define GPUSIM__PKT_OFF_DISP_BUFFER_VA   8u
#define GPUSIM__PKT_OFF_DISP_BUFFER_SIZE 16u
#define GPUSIM__PKT_OFF_DISP_TOUCHES     24u
#define GPUSIM__PKT_OFF_DISP_STRIDE      32u
#define GPUSIM__PKT_OFF_DISP_SEED        40u
#define GPUSIM__PKT_OFF_DISP_PASSES      48u
#define GPUSIM__PKT_OFF_DISP_BPT         52u /* bytes per touch */
#define GPUSIM__PKT_OFF_DISP_COMPUTE_NS  56u
#define GPUSIM__PKT_OFF_DISP_WAVES       60u
#define GPUSIM__PKT_OFF_DISP_TRACE_ID    64u
#define GPUSIM__PKT_OFF_DISP_RESERVED    68u
#define GPUSIM__PKT_OFF_FENCE_HANDLE     4u
#define GPUSIM__PKT_OFF_FENCE_VALUE      8u
#define GPUSIM__PKT_OFF_INVAL_SCOPE      4u
#define GPUSIM__PKT_OFF_INVAL_VA         8u
#define GPUSIM__PKT_OFF_INVAL_BYTES      16u

/*
 * Why a packet (or the ring) was refused: XX(NAME, name, "message"). The message is what a queue
 * in error reports; the lower-case name is what the test corpus writes.
 */
#define GPUSIM__GPU_PKT_REASON_MAP(XX)                                                             \
    XX(NONE, none, "no error")                                                                     \
    XX(BAD_RING, bad_ring, "bad ring arguments (size, pointers or buffer)")                        \
    XX(RESERVED, reserved, "reserved bits or fields are not zero")                                 \
    XX(UNKNOWN_OPCODE, unknown_opcode, "unknown opcode")                                           \
    XX(BAD_LENGTH, bad_length, "length is wrong for the opcode")                                   \
    XX(OVERSIZED, oversized, "length exceeds the largest packet")                                  \
    XX(TRUNCATED, truncated, "packet runs past the write pointer")                                 \
    XX(FIELD_RANGE, field_range, "field out of range")                                             \
    XX(UNUSED_FIELD, unused_field, "field not used by this variant is not zero")                   \
    XX(ADDR_OVERFLOW, addr_overflow, "address range wraps around")                                 \
    XX(ADDR_BEYOND_VA, addr_beyond_va, "address range leaves the 48-bit GPU VA")                   \
    XX(MISALIGNED, misaligned, "address or size not page-aligned")

typedef enum gpusim__gpu_packet_reason {
#define GPUSIM__PKT_REASON_ENUM(name, lower, msg) GPUSIM__PKT_##name,
    GPUSIM__GPU_PKT_REASON_MAP(GPUSIM__PKT_REASON_ENUM)
#undef GPUSIM__PKT_REASON_ENUM
        GPUSIM__PKT_REASON_COUNT
} gpusim__gpu_packet_reason;

/* Where and why decoding stopped. */
typedef struct gpusim__gpu_packet_error {
    uint64_t offset;                  /* Counter of the bad packet's header (rptr if bad ring). */
    gpusim__gpu_packet_reason reason; /* Why; GPUSIM__PKT_NONE when there was no error. */
    uint32_t opcode;                  /* The header's opcode field; 0 if no header was read. */
    const char *field;                /* Static name of the field or argument to blame, or NULL. */
} gpusim__gpu_packet_error;

/* A decoded packet: what the command processor executes. Reserved fields are not kept (zero). */
typedef struct gpusim__gpu_packet {
    uint32_t opcode; /* A gpusim_pkt_opcode_t. */
    uint32_t bytes;  /* Total length in bytes, header included; the ring advances by this. */
    union {
        struct {
            uint64_t dst_va;           /* Destination start. */
            uint64_t src_va;           /* Source start. */
            uint64_t bytes;            /* Bytes to copy, > 0. */
        } copy;                        /* GPUSIM_PKT_COPY */
        gpusim_kernel_desc_t dispatch; /* GPUSIM_PKT_DISPATCH */
        struct {
            uint32_t fence; /* Fence handle, non-zero. */
            uint64_t value; /* Value to signal or wait for, non-zero. */
        } fence;            /* GPUSIM_PKT_FENCE_SIGNAL, GPUSIM_PKT_FENCE_WAIT */
        struct {
            gpusim_tlb_scope_t scope; /* RANGE or CONTEXT. */
            uint64_t va;              /* RANGE: page-aligned start; CONTEXT: 0. */
            uint64_t bytes;           /* RANGE: page-aligned length > 0; CONTEXT: 0. */
        } inval;                      /* GPUSIM_PKT_TLB_INVALIDATE */
    } u;
} gpusim__gpu_packet;

/*
 * Decodes the packet at counter rptr of the ring [ring, ring + size) whose stream ends at wptr.
 * Returns 0 and fills *out; GPUSIM_EAGAIN when rptr == wptr (nothing to do; *err untouched); or
 * GPUSIM_EINVAL with *err filled (err may be NULL), for bad ring arguments (NULL ring or out, a
 * size that is not a power of two in range, unaligned counters, wptr < rptr, wptr - rptr > size)
 * or a malformed packet. On error *out is untouched.
 */
int gpusim__gpu_packet_decode(const uint8_t *ring, uint32_t size, uint64_t rptr, uint64_t wptr,
                              gpusim__gpu_packet *out, gpusim__gpu_packet_error *err);

/*
 * Decodes every packet of [rptr, wptr), as a queue does at doorbell time to find where its stream
 * goes bad. Returns 0 (the whole stream is valid; also when it is empty) or GPUSIM_EINVAL with
 * *err (may be NULL) describing the first bad packet: the packets before err->offset are valid and
 * run, the queue stops in error at err->offset.
 */
int gpusim__gpu_packet_validate_stream(const uint8_t *ring, uint32_t size, uint64_t rptr,
                                       uint64_t wptr, gpusim__gpu_packet_error *err);

/*
 * The rules a decoded packet obeys beyond its wire form (the decoder's field checks, shared with
 * the encoders so that they cannot disagree). p->bytes must be right for p->opcode. Returns 0, or
 * GPUSIM_EINVAL with *reason and *field set.
 */
int gpusim__gpu_packet_validate(const gpusim__gpu_packet *p, gpusim__gpu_packet_reason *reason,
                                const char **field);

/*
 * Encodes *p at buf (cap bytes), reserved fields zero. Returns p->bytes, GPUSIM_EINVAL (NULL,
 * or gpusim__gpu_packet_validate refuses p) or GPUSIM_ENOSPC; on error nothing is written.
 */
int gpusim__gpu_packet_encode(const gpusim__gpu_packet *p, void *buf, size_t cap);

/* The static message of a reason; "unknown reason" for a value out of range. Never NULL. */
const char *gpusim__gpu_packet_reason_str(gpusim__gpu_packet_reason reason);

/* The reason's name in lower case ("unknown_opcode"); "unknown" out of range. Never NULL. */
const char *gpusim__gpu_packet_reason_name(gpusim__gpu_packet_reason reason);

/*
 * Fuzzer entry point (docs/packets.md, "Fuzzing"): builds a ring from arbitrary bytes -- a 20-byte
 * prefix gives size (u32), rptr and wptr (u64), any values; the rest fills the ring from rptr's
 * position -- decodes the whole stream and aborts if a decoder invariant fails: every decode
 * advances by 4 .. remaining bytes, re-encodes through the public encoders to identical bytes and
 * agrees with gpusim__gpu_packet_validate_stream; a failure names the packet it stopped at and
 * leaves *out untouched; bad ring arguments are refused without reading. Returns the number of
 * packets when the whole stream is valid, GPUSIM_EINVAL when it (or its ring) is not, or
 * GPUSIM_ENOMEM.
 */
int gpusim__gpu_packet_fuzz_one(const uint8_t *data, size_t size);

#endif /* GPUSIM_GPU_PACKET_H */
