/*
 * gpu/vram.h -- a GPU's device memory as 4 KiB frames. Internal.
 *
 * VRAM is a number of frames (the configured size / 4 KiB), each either free or used. Page-table
 * pages are allocated here (gpu/pt.c), so the page tables count against device memory as they do
 * on a real GPU; migrated data will be allocated here too. Frames are numbered from 0; a frame
 * number times 4 KiB is the frame's device physical address.
 *
 * Metadata is two bitmaps, not per-frame structures: one bit per frame (1 = used) and one bit per
 * 64-frame word of that bitmap (1 = the word is full). An 80 GiB VRAM (20 M frames) costs 2.5 MiB
 * plus 40 KiB. Allocation is lowest-address first, so it is deterministic; a hint remembers the
 * lowest summary word that may have a free frame, which makes single-frame allocation O(1)
 * amortised.
 *
 * Invariants (gpusim__gpu_vram_check): `used` equals the number of used frames; the bits past the
 * last frame are set (never allocatable) and not counted; a summary bit is set exactly when its
 * word is all ones; no summary word below `hint` has a clear bit.
 */
#ifndef GPUSIM_GPU_VRAM_H
#define GPUSIM_GPU_VRAM_H

#include <stdbool.h>
#include <stdint.h>

#include "gpusim.h"
#include "core/stats.h"
#include "core/world.h"

#define GPUSIM__GPU_FRAME_SHIFT 12
#define GPUSIM__GPU_FRAME_SIZE  (UINT64_C(1) << GPUSIM__GPU_FRAME_SHIFT)

typedef struct gpusim__gpu_vram {
    gpusim__owned owned;     /* On the world's list: freed with the world if not before. */
    gpusim_world_t *world;   /* Allocation context. */
    uint64_t nframes;        /* Frames of device memory. */
    uint64_t used;           /* Frames allocated. */
    uint64_t *bits;          /* One bit per frame, 1 = used; padding bits past nframes are 1. */
    uint64_t *full;          /* One bit per word of `bits`, 1 = that word is all ones. */
    size_t nwords;           /* Words of `bits`. */
    size_t nfull;            /* Words of `full`. */
    size_t hint;             /* No word of `full` below this index has a clear bit. */
    size_t top;              /* Words at and above this one (but the last) were never written. */
    gpusim_stat_t *st_used;  /* <prefix>.vram.used_bytes (gauge, peak) */
    gpusim_stat_t *st_total; /* <prefix>.vram.total_bytes (gauge) */
} gpusim__gpu_vram;

/*
 * Creates a VRAM of `bytes` (a non-zero multiple of 4 KiB) in world w, registering its statistics
 * under "<prefix>.vram." (prefix "gpu" gives gpu.vram.used_bytes; a device passes "gpu.<n>").
 * Returns 0, GPUSIM_EINVAL or GPUSIM_ENOMEM (nothing allocated but statistics, which belong to
 * the world).
 */
int gpusim__gpu_vram_new(gpusim_world_t *w, uint64_t bytes, const char *prefix,
                         gpusim__gpu_vram **out);

/* Frees the VRAM (its frames need not be free: their owners must be gone). NULL is ignored. */
void gpusim__gpu_vram_free(gpusim__gpu_vram *v);

/* Allocates the lowest free frame into *frame. Returns 0 or GPUSIM_ENOMEM (VRAM full). */
int gpusim__gpu_vram_frame_alloc(gpusim__gpu_vram *v, uint64_t *frame);

/*
 * Allocates n contiguous frames whose first frame is a multiple of `align` (a power of two), the
 * lowest such run. Returns 0, GPUSIM_EINVAL (n == 0, bad align) or GPUSIM_ENOMEM (no such run).
 */
int gpusim__gpu_vram_frame_alloc_contig(gpusim__gpu_vram *v, uint64_t n, uint64_t align,
                                        uint64_t *first);

/*
 * Frees frames [first, first + n). Returns 0, or GPUSIM_EINVAL (changing nothing) when n is 0 or
 * any frame is out of range or not allocated.
 */
int gpusim__gpu_vram_frame_free(gpusim__gpu_vram *v, uint64_t first, uint64_t n);

/* Whether `frame` is allocated (false when out of range). */
bool gpusim__gpu_vram_frame_used(const gpusim__gpu_vram *v, uint64_t frame);

static inline uint64_t gpusim__gpu_vram_used(const gpusim__gpu_vram *v)
{
    return v->used;
}

static inline uint64_t gpusim__gpu_vram_free_frames(const gpusim__gpu_vram *v)
{
    return v->nframes - v->used;
}

/* Verifies the invariants above (walks the whole bitmap). */
bool gpusim__gpu_vram_check(const gpusim__gpu_vram *v);

#endif /* GPUSIM_GPU_VRAM_H */
