/*
 * gpu/device.h -- the device object behind gpusim_gpu_t and its VM contexts. Internal.
 *
 * A device owns its VRAM, its TLBs and its contexts; the world owns the device (the parts are
 * taken off the world's list when created, so that the device alone frees them, in its order).
 * Contexts are kept in a list in creation order and carry an id that is never reused on the
 * device, so that a TLB entry can never be mistaken for a later context's.
 *
 * The fault buffer, command processor and engines attach here as they are built (issue 5).
 */
#ifndef GPUSIM_GPU_DEVICE_H
#define GPUSIM_GPU_DEVICE_H

#include "gpusim.h"
#include "core/world.h"
#include "gpu/params.h"
#include "gpu/pt.h"
#include "gpu/tlb.h"
#include "gpu/vram.h"

#define GPUSIM__GPU_NAME_MAX 31

struct gpusim_gpu_ctx_s {
    gpusim_gpu_t *gpu;      /* The device. */
    gpusim__gpu_pt *pt;     /* The context's page table (owned). */
    void *data;             /* The caller's. */
    gpusim_gpu_ctx_t *prev; /* Neighbours in the device's list, oldest first. */
    gpusim_gpu_ctx_t *next;
};

struct gpusim_gpu_s {
    gpusim__owned owned;                   /* On the world's list. */
    gpusim_world_t *world;                 /* Allocation context and clock. */
    char name[GPUSIM__GPU_NAME_MAX + 1];   /* [a-z0-9_] */
    char prefix[GPUSIM__GPU_NAME_MAX + 8]; /* "gpu.<name>": statistics prefix */
    uint64_t p[GPUSIM__GPU_P_COUNT];       /* Cost parameters. */
    unsigned engines;                      /* L1 TLBs. */
    gpusim__gpu_vram *vram;                /* Device memory (owned). */
    gpusim__gpu_tlb *tlb;                  /* L1s, L2, page-walk cache (owned). */
    gpusim_gpu_ctx_t *ctx_head;            /* Contexts, oldest first. */
    gpusim_gpu_ctx_t *ctx_tail;
    uint32_t next_ctx_id; /* Id of the next context (never reused). */
};

#endif /* GPUSIM_GPU_DEVICE_H */
