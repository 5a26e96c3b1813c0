/*
 * gpu/engine.h -- the contract between the command processor (queues) and the engines that run
 * its work (compute: DISPATCH; DMA: COPY). Internal.
 *
 * The command processor turns a DISPATCH or COPY packet into a job and submits it to the device's
 * compute or DMA engine; the engine runs it in virtual time -- its accesses go through the TLBs
 * and may fault (gpu/fault.c), stalling until a replay -- and calls job->done exactly once, from an
 * event, with status 0 (finished), GPUSIM_ECTXKILLED (its context was killed: the job stops) or
 * GPUSIM_ENOMEM (a wave could not be launched). gpusim__gpu_engine_cancel drops a job without
 * calling done. A job is caller-owned (embedded in the queue's state) and must stay valid until
 * done runs or cancel returns.
 *
 * Submission validates the job (a kernel whose pattern the engine cannot run, a trace id that is
 * not registered, a range outside the VA): GPUSIM_EINVAL with a reason, and nothing runs. Engines
 * run jobs in submission order per engine, several at once on the compute engine (its units are
 * shared among running kernels' waves).
 */
#ifndef GPUSIM_GPU_ENGINE_H
#define GPUSIM_GPU_ENGINE_H

#include "gpusim.h"

/* Job kinds. */
enum { GPUSIM__GPU_JOB_DISPATCH = 1, GPUSIM__GPU_JOB_COPY = 2 };

typedef struct gpusim__gpu_job gpusim__gpu_job;

/*
 * A preemption request (engine-private): one per context (preempt_ctx) and one per job
 * (preempt_job). While `active`, the units it covers -- the context's waves and copies, or the
 * job's -- are held at their next preemption point. `unstopped` counts the units that were running
 * when it was made and have not reached one yet; `stopped` runs from `ev` when it reaches 0 (at
 * once, through the event, when it starts at 0), and its event-queue slot is reserved when the
 * preemption is requested, so that reporting cannot fail.
 */
typedef struct gpusim__gpu_preempt {
    bool active;                 /* Requested and not resumed: its units may not run. */
    uint64_t unstopped;          /* Its units still to reach a preemption point. */
    void (*stopped)(void *data); /* Reported when unstopped reaches 0; NULL once delivered. */
    void *data;                  /* stopped's argument. */
    gpusim_event_t ev;           /* Delivers `stopped` (a reservation until scheduled). */
} gpusim__gpu_preempt;

/* Runs once when the job ends: status 0, GPUSIM_ECTXKILLED or GPUSIM_ENOMEM. */
typedef void (*gpusim__gpu_job_done)(gpusim__gpu_job *job, int status);

struct gpusim__gpu_job {
    gpusim_gpu_ctx_t *ctx;       /* The context whose VA the job uses. */
    int kind;                    /* GPUSIM__GPU_JOB_* */
    gpusim_kernel_desc_t kernel; /* DISPATCH: as decoded from the packet. */
    uint64_t dst, src, bytes;    /* COPY: as decoded from the packet. */
    gpusim__gpu_job_done done;   /* Called once, from an event. */
    void *data;                  /* The submitter's. */
    /* Engine-private below: set by submit. */
    gpusim__gpu_job *next_; /* In the engine's list of jobs. */
    gpusim__gpu_job *prev_;
    void *run_;                   /* The engine's running state. */
    gpusim_time_t started_;       /* When the engine started it. */
    gpusim__gpu_preempt preempt_; /* preempt_job's request. */
};

/*
 * Submits a job to the context's device: DISPATCH to the compute engine, COPY to the DMA engine.
 * Returns 0 (done will run), GPUSIM_EINVAL (a bad job: msg says why; nothing runs),
 * GPUSIM_ECTXKILLED (the context is dead) or GPUSIM_ENOMEM.
 */
int gpusim__gpu_engine_submit(gpusim__gpu_job *job, char *msg, size_t msglen);

/* Stops a submitted job that has not ended: done is not called. Returns 0 or GPUSIM_ENOENT. */
int gpusim__gpu_engine_cancel(gpusim__gpu_job *job);

/*
 * Preemption support for the command processor. preempt_ctx makes every job of ctx stop at its
 * next preemption point (the end of the slice or chunk in progress; an access stalled on a fault
 * is a preemption point), keeping its progress and giving its compute unit or the DMA engine back;
 * `stopped(data)` (may be NULL) runs from an event when all have stopped (through an event at once
 * if none runs). A preempted job does not end: resume_ctx lets the context's jobs continue from
 * where they stopped. The save and restore costs (preempt_save, queue_resume) are the command
 * processor's to charge. Returns 0, GPUSIM_EINVAL, GPUSIM_EBUSY (a preemption of ctx is already in
 * place) or GPUSIM_ENOMEM.
 *
 * preempt_job / resume_job do the same for one submitted job (its waves, or its copy). Returns 0,
 * GPUSIM_EINVAL, GPUSIM_ENOENT (not submitted, or ended and its done delivered), GPUSIM_EBUSY (the
 * job is preempted already) or GPUSIM_ENOMEM. A job whose last unit ends while it is preempted
 * (its slice was its last) ends normally; its stopped report then comes before its done.
 *
 * Both at once: a unit is held while its context OR its job is preempted, and resumes only when
 * neither is. A unit still running counts toward every request waiting for it, and each request
 * reports when its own last unit has stopped; a unit already stopped (held by the other request,
 * or stalled on a fault) counts toward none, so the second request may report at once. Resuming
 * one request drops its report if not yet delivered (stopped never runs) and leaves the other in
 * place. Cancelling a job drops its request with it; freeing a context drops the context's.
 */
int gpusim__gpu_engine_preempt_ctx(gpusim_gpu_ctx_t *ctx, void (*stopped)(void *data), void *data);
void gpusim__gpu_engine_resume_ctx(gpusim_gpu_ctx_t *ctx);
int gpusim__gpu_engine_preempt_job(gpusim__gpu_job *job, void (*stopped)(void *data), void *data);
void gpusim__gpu_engine_resume_job(gpusim__gpu_job *job);

/*
 * Something that may change a wave's pass time happened on the device (a page-table change, a TLB
 * invalidation, a fault, a replay, a kill): steady-state detection starts again and waves being
 * fast-forwarded stop at their real position. Called by device.c and fault.c.
 */
void gpusim__gpu_engines_disturb(gpusim_gpu_t *g);

/*
 * The same for a change a driver may repeat identically at every submission (a map, unmap,
 * protect or TLB invalidation by device.c), `what` a hash of the operation and its arguments:
 * besides disturbing, it is recorded for the cross-kernel fast-forward (gpu/engine_memo.c), where
 * any other disturbance makes the next kernel simulated.
 */
void gpusim__gpu_engines_change(gpusim_gpu_t *g, uint64_t what);

/* Compute units not running a wave (all of them when the engine is idle). */
uint64_t gpusim__gpu_engine_free_units(const gpusim_gpu_t *g);

/* Engine invariants: units running waves + free units = compute_units; the DMA engine is busy
 * exactly when a copy holds it; every unit belongs to a live job; every preemption request's
 * `unstopped` is the number of units waiting for it, and a running unit that is held waits for one.
 * 0, or GPUSIM_ECORRUPT with msg. */
int gpusim__gpu_engines_check(const gpusim_gpu_t *g, char *msg, size_t msglen);

#endif /* GPUSIM_GPU_ENGINE_H */
