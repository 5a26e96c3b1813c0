/*
 * gpusim/packet.h -- the command-queue packet format and its encoders. Part of <gpusim.h>.
 *
 * A GPU user queue is a ring buffer of packets that the host writes and the device's command
 * processor reads; submitting work means writing packets at the queue's write pointer and ringing
 * its doorbell. docs/packets.md documents every byte of the format; this header gives its
 * constants and one encoder per packet type, so that harnesses and scenarios can write packets
 * without knowing the bytes.
 *
 * The wire format, in short: a packet is a whole number of 4-byte dwords, little-endian whatever
 * the host. Its first dword is a header holding the opcode (bits 0-7), the packet's total length
 * in dwords, header included (bits 8-23), and reserved bits 24-31 that must be zero. NOP has any
 * length from 1 dword to GPUSIM_PKT_MAX_DWORDS (padding); every other packet has one fixed length.
 * Every reserved field, and every field a packet's variant does not use, must be zero.
 *
 * The device validates every packet it reads: a packet the decoder refuses stops its queue in an
 * error state that records the packet's offset and the reason. The encoders apply exactly the
 * decoder's rules, so an encoder never produces a packet the decoder refuses: an argument the
 * decoder would reject makes the encoder fail with GPUSIM_EINVAL instead.
 *
 * Every encoder writes one packet at the start of buf (cap bytes available) and returns the number
 * of bytes written (> 0), or a negative error: GPUSIM_EINVAL (NULL buf, an argument the decoder
 * would reject) or GPUSIM_ENOSPC (cap smaller than the packet), in that order of precedence. On
 * error nothing is written. Encoders touch only buf; they need no world and never allocate.
 */
#ifndef GPUSIM_PACKET_H
#define GPUSIM_PACKET_H

#ifndef GPUSIM_H_INSIDE
#error "include <gpusim.h>, not its parts"
#endif

GPUSIM_BEGIN_DECLS

/** Bytes per dword, the unit of packet lengths and of ring pointers' alignment. */
#define GPUSIM_PKT_DWORD 4u

/** Header: the opcode is bits 0-7. */
#define GPUSIM_PKT_HDR_OPCODE_SHIFT 0
/** Header: mask of the opcode after shifting. */
#define GPUSIM_PKT_HDR_OPCODE_MASK  0xffu
/** Header: the packet's length in dwords, header included, is bits 8-23. */
#define GPUSIM_PKT_HDR_LEN_SHIFT    8
/** Header: mask of the length after shifting. */
#define GPUSIM_PKT_HDR_LEN_MASK     0xffffu
/** Header: bits 24-31 are reserved and must be zero. */
#define GPUSIM_PKT_HDR_RESERVED     0xff000000u

/** Builds a header dword from an opcode and a length in dwords (both must fit their fields). */
#define GPUSIM_PKT_HEADER(opcode, dwords)                                                          \
    ((((uint32_t)(opcode)&GPUSIM_PKT_HDR_OPCODE_MASK) << GPUSIM_PKT_HDR_OPCODE_SHIFT) |            \
     (((uint32_t)(dwords)&GPUSIM_PKT_HDR_LEN_MASK) << GPUSIM_PKT_HDR_LEN_SHIFT))

/**
 * The longest packet, in dwords (64 KiB): what the 14-bit count of an AMD PM4 type-3 header allows
 * for a packet's body. The length field can say more; the decoder refuses that as oversized. Only
 * a NOP can be this long.
 */
#define GPUSIM_PKT_MAX_DWORDS 16384u
/** The longest packet in bytes. */
#define GPUSIM_PKT_MAX_BYTES  (GPUSIM_PKT_MAX_DWORDS * GPUSIM_PKT_DWORD)

/** Opcodes (header bits 0-7). 0 is not an opcode, so a zero-filled ring never decodes. */
typedef enum gpusim_pkt_opcode_e {
    GPUSIM_PKT_NOP = 1,           /**< Padding; 1 .. GPUSIM_PKT_MAX_DWORDS dwords of zeros. */
    GPUSIM_PKT_COPY = 2,          /**< DMA copy between two ranges of the queue's GPU VA. */
    GPUSIM_PKT_DISPATCH = 3,      /**< Run a kernel on the compute engine. */
    GPUSIM_PKT_FENCE_SIGNAL = 4,  /**< Signal a timeline fence with a value. */
    GPUSIM_PKT_FENCE_WAIT = 5,    /**< Wait until a timeline fence reaches a value. */
    GPUSIM_PKT_TLB_INVALIDATE = 6 /**< Invalidate the queue's context's TLB entries. */
} gpusim_pkt_opcode_t;

/** Length in bytes of a COPY packet. */
#define GPUSIM_PKT_COPY_BYTES           32u
/** Length in bytes of a DISPATCH packet. */
#define GPUSIM_PKT_DISPATCH_BYTES       72u
/** Length in bytes of a FENCE_SIGNAL or FENCE_WAIT packet. */
#define GPUSIM_PKT_FENCE_BYTES          16u
/** Length in bytes of a TLB_INVALIDATE packet. */
#define GPUSIM_PKT_TLB_INVALIDATE_BYTES 24u

/** Bits of the GPU virtual address: every range a packet names lies below 2^48. */
#define GPUSIM_PKT_VA_BITS   48
/** One past the highest GPU virtual address a packet may name. */
#define GPUSIM_PKT_VA_LIMIT  (UINT64_C(1) << GPUSIM_PKT_VA_BITS)
/** The GPU page size: TLB_INVALIDATE ranges are aligned to it. */
#define GPUSIM_PKT_PAGE_SIZE 4096u

/** Smallest queue ring, in bytes (rings are powers of two). */
#define GPUSIM_PKT_RING_MIN            256u
/** Largest queue ring, in bytes (16 MiB). */
#define GPUSIM_PKT_RING_MAX            (16u * 1024u * 1024u)
/** Largest bytes_per_touch of a kernel: one page. */
#define GPUSIM_PKT_MAX_BYTES_PER_TOUCH 4096u

/** A kernel's access pattern over its buffer (DISPATCH). */
typedef enum gpusim_access_pattern_e {
    GPUSIM_PATTERN_SEQUENTIAL = 0, /**< Consecutive touches from the start of the buffer. */
    GPUSIM_PATTERN_STRIDED = 1,    /**< Touches `stride` bytes apart, wrapping in the buffer. */
    GPUSIM_PATTERN_RANDOM = 2,     /**< Uniformly random touches, from `seed`. */
    GPUSIM_PATTERN_HOTCOLD = 3,    /**< hot_access_pct of touches go to hot_set_pct of it. */
    GPUSIM_PATTERN_STENCIL = 4,    /**< Each touch with its neighbours one `stride` (row) away. */
    GPUSIM_PATTERN_CHASE = 5,      /**< A pointer chase: a random permutation from `seed`. */
    GPUSIM_PATTERN_TRACE = 6       /**< Replay of the host-registered address trace `trace_id`. */
} gpusim_access_pattern_t;

/**
 * A kernel descriptor: what a DISPATCH packet carries. Zero every field the pattern does not use
 * (memset or a designated initialiser): the decoder refuses non-zero unused fields.
 */
typedef struct gpusim_kernel_desc_s {
    gpusim_access_pattern_t pattern; /**< The access pattern. */
    uint64_t buffer_va;              /**< Start of the buffer in the queue's GPU VA. */
    uint64_t buffer_bytes;           /**< Buffer size, > 0; the buffer lies below 2^48. */
    uint32_t passes;                 /**< Passes over the pattern, >= 1. */
    uint64_t touches_per_pass;       /**< Touches per pass, >= 1; passes x touches fits 64 bits. */
    uint32_t bytes_per_touch;        /**< 1 .. GPUSIM_PKT_MAX_BYTES_PER_TOUCH, <= buffer_bytes. */
    uint32_t compute_ns_per_touch;   /**< Compute time per touch, in virtual ns (any value). */
    uint8_t write_pct;               /**< Percentage of touches that write, 0 .. 100. */
    uint8_t hot_set_pct;             /**< HOTCOLD: hot part of the buffer, 1 .. 100; else 0. */
    uint8_t hot_access_pct;          /**< HOTCOLD: touches that go to it, 0 .. 100; else 0. */
    uint64_t stride;                 /**< STRIDED, STENCIL: 1 .. buffer_bytes; else 0. */
    uint64_t seed;                   /**< RANDOM, HOTCOLD, CHASE: any value; else 0. */
    uint32_t trace_id;               /**< TRACE: any value (checked when run); else 0. */
    uint32_t waves;                  /**< Waves the touches are spread over, >= 1. */
} gpusim_kernel_desc_t;

/** What a TLB_INVALIDATE packet invalidates. */
typedef enum gpusim_tlb_scope_e {
    GPUSIM_TLB_SCOPE_RANGE = 0,  /**< Entries overlapping [va, va + bytes): both page-aligned. */
    GPUSIM_TLB_SCOPE_CONTEXT = 1 /**< Every entry of the queue's context; va = bytes = 0. */
} gpusim_tlb_scope_t;

/**
 * Writes a NOP of `bytes` bytes: a multiple of 4 from 4 to GPUSIM_PKT_MAX_BYTES (one packet; pad
 * longer stretches with several). Returns bytes, GPUSIM_EINVAL or GPUSIM_ENOSPC.
 */
GPUSIM_EXTERN int gpusim_packet_nop(void *buf, size_t cap, size_t bytes);

/**
 * Writes a COPY of `bytes` (> 0) bytes from [src_va, src_va + bytes) to [dst_va, dst_va + bytes);
 * neither range may wrap or reach past 2^48. Returns GPUSIM_PKT_COPY_BYTES, GPUSIM_EINVAL or
 * GPUSIM_ENOSPC.
 */
GPUSIM_EXTERN int gpusim_packet_copy(void *buf, size_t cap, uint64_t dst_va, uint64_t src_va,
                                     uint64_t bytes);

/**
 * Writes a DISPATCH of the kernel *k (see gpusim_kernel_desc_t for each field's rule). Returns
 * GPUSIM_PKT_DISPATCH_BYTES, GPUSIM_EINVAL (also for NULL k) or GPUSIM_ENOSPC.
 */
GPUSIM_EXTERN int gpusim_packet_dispatch(void *buf, size_t cap, const gpusim_kernel_desc_t *k);

/**
 * Writes a FENCE_SIGNAL: when the queue reaches it, fence `fence` (a handle, non-zero) takes the
 * value `value` (non-zero). Returns GPUSIM_PKT_FENCE_BYTES, GPUSIM_EINVAL or GPUSIM_ENOSPC.
 */
GPUSIM_EXTERN int gpusim_packet_fence_signal(void *buf, size_t cap, uint32_t fence, uint64_t value);

/**
 * Writes a FENCE_WAIT: the queue stalls until fence `fence` (non-zero) reaches `value`
 * (non-zero). Returns GPUSIM_PKT_FENCE_BYTES, GPUSIM_EINVAL or GPUSIM_ENOSPC.
 */
GPUSIM_EXTERN int gpusim_packet_fence_wait(void *buf, size_t cap, uint32_t fence, uint64_t value);

/**
 * Writes a TLB_INVALIDATE of `scope`: RANGE needs va and bytes page-aligned, bytes > 0 and the
 * range below 2^48; CONTEXT needs va = bytes = 0. Returns GPUSIM_PKT_TLB_INVALIDATE_BYTES,
 * GPUSIM_EINVAL or GPUSIM_ENOSPC.
 */
GPUSIM_EXTERN int gpusim_packet_tlb_invalidate(void *buf, size_t cap, gpusim_tlb_scope_t scope,
                                               uint64_t va, uint64_t bytes);

GPUSIM_END_DECLS

#endif /* GPUSIM_PACKET_H */
