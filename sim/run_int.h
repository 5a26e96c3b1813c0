/*
 * run_int.h -- the runner's state, shared by run.c (setup, jobs, the loop, the record) and
 * run_activity.c (the host activities).
 *
 * A run owns one world. Everything asynchronous it starts (host operations, driver registrations,
 * job submissions) reports through a callback whose data is the run or one of its job or activity
 * slots, all inside `sim_run_state`, which lives on the heap for the run's whole life and is freed
 * only after the world (so no callback can outlive its data).
 */
#ifndef GPUSIM_SIM_RUN_INT_H
#define GPUSIM_SIM_RUN_INT_H

#include "sim.h"

/* Where buffers are mapped: one region per process, each buffer 2 MiB aligned (so THP can back
 * it) with a 2 MiB guard gap. Pressure processes map at SIM_HOG_BASE, mremap moves ranges to
 * SIM_AWAY_BASE + activity x SIM_AWAY_STRIDE and back; the filler of a fragmented buffer lives
 * at SIM_FILLER_BASE while the buffer is populated. */
#define SIM_BUFFER_BASE (UINT64_C(1) << 36) /* 64 GiB */
#define SIM_HOG_BASE    (UINT64_C(1) << 40)
#define SIM_AWAY_BASE   (UINT64_C(1) << 44)
#define SIM_AWAY_STRIDE (UINT64_C(1) << 38)
#define SIM_FILLER_BASE (UINT64_C(1) << 45)
#define SIM_HUGE        (UINT64_C(2) << 20)

typedef struct sim_run_state sim_run_state;

/* One [job] section being played: its submissions and their ends. */
typedef struct sim_job_state {
    sim_run_state *run;
    unsigned index;
    gpusim_event_t ev;  /* the next timed submission */
    uint64_t submitted; /* submissions accepted */
    uint64_t ended;     /* of which ended (either way) */
    bool stopped;       /* no more submissions: the context or process is gone */
} sim_job_state;

/* One [activity] section being played: occurrence after occurrence, each a chain of steps. */
typedef struct sim_activity_state {
    sim_run_state *run;
    unsigned index;
    gpusim_event_t ev;       /* next occurrence, or the end of a hold */
    uint64_t done;           /* occurrences finished */
    unsigned step;           /* position in the current occurrence's chain; 0 = idle */
    unsigned waiting;        /* host operations of this step still to call back */
    gpusim_time_t began;     /* when the current occurrence began (for its trace span) */
    gpusim_process_t *other; /* the fork child or the pressure process of this occurrence */
    uint64_t chunk;          /* PRESSURE at a rate: bytes written so far */
} sim_activity_state;

/* A registration in flight: its callback names the buffer and the device when it fails. */
typedef struct sim_reg_op {
    sim_run_state *run;
    unsigned gpu, buffer;
} sim_reg_op;

struct sim_run_state {
    const sim_scenario *s;
    gpusim_policy_t policy;
    sim_trace *trace;
    gpusim_world_t *w;
    gpusim_host_t *h;
    gpusim_gpu_t *gpus[SIM_MAX_GPUS];
    gpusim_process_t *procs[SIM_MAX_PROCESSES];
    uint64_t buf_va[SIM_MAX_BUFFERS];
    gpusim_driver_t *drv[SIM_MAX_GPUS][SIM_MAX_PROCESSES];
    gpusim_buffer_t *reg[SIM_MAX_GPUS][SIM_MAX_BUFFERS];
    sim_reg_op regop[SIM_MAX_GPUS][SIM_MAX_BUFFERS];
    sim_job_state jobs[SIM_MAX_JOBS];
    sim_activity_state acts[SIM_MAX_ACTIVITIES];
    gpusim_event_t deadline; /* at s->duration: the run ends there at the latest */
    gpusim_time_t acts_t0;   /* when play began: activities' times count from here */
    unsigned pending;        /* set-up operations still to call back */
    int setup_status;        /* first failure among them */
    bool finished;           /* every job and finite activity is done */
    gpusim_time_t end;       /* when the run ended */
    int status;              /* the run failed (a scenario error): error says why */
    char error[SIM_TEXT_MAX];
};

/* Records the run's first failure (printf-style) and stops the world. */
void sim__run_fail(sim_run_state *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ends the run when every job and every finite activity is done. */
void sim__run_check_finished(sim_run_state *r);

/* Activities (run_activity.c): schedules every activity's first occurrence. */
void sim__activities_start(sim_run_state *r, gpusim_time_t t0);
/* True when every activity with a finite count has finished. */
bool sim__activities_done(const sim_run_state *r);

#endif /* GPUSIM_SIM_RUN_INT_H */
