/*
 * core/hist.h -- log-linear histograms with bounded relative error. Internal.
 *
 * Buckets (SUB_BITS = k = 7, so 2^k = 128 buckets per chunk):
 *
 *   chunk 0            values 0 .. 2^k - 1, one bucket per value (exact)
 *   chunk c >= 1       the octave [2^(c+k-1), 2^(c+k)), split into 2^k buckets of width 2^(c-1)
 *
 * so values below 2^(k+1) = 256 are exact, and every bucket's width is at most 2^-k of its lower
 * bound. A quantile is reported as the midpoint of its bucket (clamped to [min, max]), which is
 * within 2^-(k+1) = GPUSIM_HIST_REL_ERROR of the exact value. 58 chunks cover all of uint64_t.
 * Chunks (1 KiB) are allocated on first use: a latency histogram spanning 1 us .. 10 ms touches
 * about 14 of them.
 *
 * Invariants: count >= bucketed; bucketed == sum of all bucket counts; min <= max when count > 0.
 */
#ifndef GPUSIM_CORE_HIST_H
#define GPUSIM_CORE_HIST_H

#include <stdbool.h>
#include <stdint.h>

#include "core/alloc.h"

#define GPUSIM__HIST_SUB_BITS 7
#define GPUSIM__HIST_SUB      (1u << GPUSIM__HIST_SUB_BITS)
#define GPUSIM__HIST_CHUNKS   (64 - GPUSIM__HIST_SUB_BITS + 1)

typedef struct gpusim__hist {
    uint64_t count; /* Samples recorded. */
    uint64_t
        bucketed; /* Samples that found a bucket (== count unless a chunk allocation failed). */
    uint64_t sum; /* Sum of samples, saturating. */
    uint64_t min; /* Smallest sample; UINT64_MAX when empty. */
    uint64_t max; /* Largest sample; 0 when empty. */
    uint64_t *chunks[GPUSIM__HIST_CHUNKS]; /* Bucket counts, GPUSIM__HIST_SUB per chunk, or NULL. */
} gpusim__hist;

void gpusim__hist_init(gpusim__hist *h);

/* Frees the chunks. */
void gpusim__hist_destroy(gpusim__hist *h, gpusim__arena *a);

/* Records a sample. Returns 0, or GPUSIM_ENOMEM if its chunk could not be allocated. */
int gpusim__hist_record(gpusim__hist *h, gpusim__arena *a, uint64_t v);

/*
 * Computes nq quantiles in one pass. qs[] must be ascending and in [0, 1]; out[i] receives the
 * nearest-rank quantile qs[i] (0 for an empty histogram; q = 0 and q = 1 give min and max exactly).
 */
void gpusim__hist_quantiles(const gpusim__hist *h, const double *qs, uint64_t *out, int nq);

/* The 1-based nearest rank of quantile q among n samples: ceil(q * n) clamped to [1, n]. */
uint64_t gpusim__hist_rank(double q, uint64_t n);

/* Verifies the invariants above. */
bool gpusim__hist_check(const gpusim__hist *h);

#endif /* GPUSIM_CORE_HIST_H */
