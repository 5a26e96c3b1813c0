/*
 * gpu/packet_encode.c -- the public packet encoders (gpusim/packet.h).
 *
 * Every encoder fills a decoded-packet struct and hands it to gpusim__gpu_packet_encode(), which
 * runs the decoder's own field checks (gpusim__gpu_packet_validate) before writing a byte. Reserved
 * fields are written as zero and the header's length is the packet's, so what an encoder writes
 * passes the decoder's wire checks too: an encoder cannot produce a packet the decoder refuses.
 * Bytes are written one at a time with shifts, so the wire is little-endian on any host and the
 * buffer needs no alignment.
 */
#include <string.h>

#include "gpu/packet.h"

static void wr32(uint8_t *b, uint32_t off, uint32_t v)
{
    b[off] = (uint8_t)v;
    b[off + 1] = (uint8_t)(v >> 8);
    b[off + 2] = (uint8_t)(v >> 16);
    b[off + 3] = (uint8_t)(v >> 24);
}

static void wr64(uint8_t *b, uint32_t off, uint64_t v)
{
    wr32(b, off, (uint32_t)v);
    wr32(b, off + 4, (uint32_t)(v >> 32));
}

static void enc_dispatch(uint8_t *b, const gpusim_kernel_desc_t *k)
{
    wr32(b, GPUSIM__PKT_OFF_DISP_CONTROL,
         (uint32_t)k->pattern | (uint32_t)k->write_pct << 8 | (uint32_t)k->hot_set_pct << 16 |
             (uint32_t)k->hot_access_pct << 24);
    wr64(b, GPUSIM__PKT_OFF_DISP_BUFFER_VA, k->buffer_va);
    wr64(b, GPUSIM__PKT_OFF_DISP_BUFFER_SIZE, k->buffer_bytes);
    wr64(b, GPUSIM__PKT_OFF_DISP_TOUCHES, k->touches_per_pass);
    wr64(b, GPUSIM__PKT_OFF_DISP_STRIDE, k->stride);
    wr64(b, GPUSIM__PKT_OFF_DISP_SEED, k->seed);
    wr32(b, GPUSIM__PKT_OFF_DISP_PASSES, k->passes);
    wr32(b, GPUSIM__PKT_OFF_DISP_BPT, k->bytes_per_touch);
    wr32(b, GPUSIM__PKT_OFF_DISP_COMPUTE_NS, k->compute_ns_per_touch);
    wr32(b, GPUSIM__PKT_OFF_DISP_WAVES, k->waves);
    wr32(b, GPUSIM__PKT_OFF_DISP_TRACE_ID, k->trace_id);
}

int gpusim__gpu_packet_encode(const gpusim__gpu_packet *p, void *buf, size_t cap)
{
    uint8_t *b = buf;
    if (p == NULL || buf == NULL || gpusim__gpu_packet_validate(p, NULL, NULL) != 0)
        return GPUSIM_EINVAL;
    if (cap < p->bytes)
        return GPUSIM_ENOSPC;
    memset(b, 0, p->bytes); /* reserved fields and NOP payload */
    wr32(b, GPUSIM__PKT_OFF_HEADER, GPUSIM_PKT_HEADER(p->opcode, p->bytes / GPUSIM_PKT_DWORD));
    switch (p->opcode) {
    case GPUSIM_PKT_COPY:
        wr64(b, GPUSIM__PKT_OFF_COPY_DST, p->u.copy.dst_va);
        wr64(b, GPUSIM__PKT_OFF_COPY_SRC, p->u.copy.src_va);
        wr64(b, GPUSIM__PKT_OFF_COPY_BYTES, p->u.copy.bytes);
        break;
    case GPUSIM_PKT_DISPATCH:
        enc_dispatch(b, &p->u.dispatch);
        break;
    case GPUSIM_PKT_FENCE_SIGNAL:
    case GPUSIM_PKT_FENCE_WAIT:
        wr32(b, GPUSIM__PKT_OFF_FENCE_HANDLE, p->u.fence.fence);
        wr64(b, GPUSIM__PKT_OFF_FENCE_VALUE, p->u.fence.value);
        break;
    case GPUSIM_PKT_TLB_INVALIDATE:
        wr32(b, GPUSIM__PKT_OFF_INVAL_SCOPE, (uint32_t)p->u.inval.scope);
        wr64(b, GPUSIM__PKT_OFF_INVAL_VA, p->u.inval.va);
        wr64(b, GPUSIM__PKT_OFF_INVAL_BYTES, p->u.inval.bytes);
        break;
    default: /* NOP: header and zeros */
        break;
    }
    return (int)p->bytes;
}

/* A packet of `opcode` and `bytes`, every field zero. */
static gpusim__gpu_packet enc_packet(uint32_t opcode, uint32_t bytes)
{
    gpusim__gpu_packet p;
    memset(&p, 0, sizeof p);
    p.opcode = opcode;
    p.bytes = bytes;
    return p;
}

int gpusim_packet_nop(void *buf, size_t cap, size_t bytes)
{
    gpusim__gpu_packet p;
    if (bytes > GPUSIM_PKT_MAX_BYTES) /* before the narrowing below */
        return GPUSIM_EINVAL;
    p = enc_packet(GPUSIM_PKT_NOP, (uint32_t)bytes);
    return gpusim__gpu_packet_encode(&p, buf, cap);
}

int gpusim_packet_copy(void *buf, size_t cap, uint64_t dst_va, uint64_t src_va, uint64_t bytes)
{
    gpusim__gpu_packet p = enc_packet(GPUSIM_PKT_COPY, GPUSIM_PKT_COPY_BYTES);
    p.u.copy.dst_va = dst_va;
    p.u.copy.src_va = src_va;
    p.u.copy.bytes = bytes;
    return gpusim__gpu_packet_encode(&p, buf, cap);
}

int gpusim_packet_dispatch(void *buf, size_t cap, const gpusim_kernel_desc_t *k)
{
    gpusim__gpu_packet p = enc_packet(GPUSIM_PKT_DISPATCH, GPUSIM_PKT_DISPATCH_BYTES);
    if (k == NULL)
        return GPUSIM_EINVAL;
    p.u.dispatch = *k;
    return gpusim__gpu_packet_encode(&p, buf, cap);
}

static int enc_fence(uint32_t opcode, void *buf, size_t cap, uint32_t fence, uint64_t value)
{
    gpusim__gpu_packet p = enc_packet(opcode, GPUSIM_PKT_FENCE_BYTES);
    p.u.fence.fence = fence;
    p.u.fence.value = value;
    return gpusim__gpu_packet_encode(&p, buf, cap);
}

int gpusim_packet_fence_signal(void *buf, size_t cap, uint32_t fence, uint64_t value)
{
    return enc_fence(GPUSIM_PKT_FENCE_SIGNAL, buf, cap, fence, value);
}

int gpusim_packet_fence_wait(void *buf, size_t cap, uint32_t fence, uint64_t value)
{
    return enc_fence(GPUSIM_PKT_FENCE_WAIT, buf, cap, fence, value);
}

int gpusim_packet_tlb_invalidate(void *buf, size_t cap, gpusim_tlb_scope_t scope, uint64_t va,
                                 uint64_t bytes)
{
    gpusim__gpu_packet p = enc_packet(GPUSIM_PKT_TLB_INVALIDATE, GPUSIM_PKT_TLB_INVALIDATE_BYTES);
    p.u.inval.scope = scope;
    p.u.inval.va = va;
    p.u.inval.bytes = bytes;
    return gpusim__gpu_packet_encode(&p, buf, cap);
}
