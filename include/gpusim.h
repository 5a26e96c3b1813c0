/*
 * gpusim.h -- the public API of libgpusim. Include this header and nothing else.
 *
 * gpusim emulates a GPU (page tables, TLBs, command processor, DMA) that mirrors a simulated
 * process address space through a software MMU-notifier shim, so that the strategies a driver can
 * use to keep the GPU's view of user memory valid can be compared on identical work. Everything
 * runs in one deterministic discrete-event simulation per world, in virtual nanoseconds.
 *
 * The API is split into parts under gpusim/ for readability; they are not meant to be included on
 * their own. Conventions that hold for every part:
 *
 *   - Names: functions gpusim_<object>_<verb>(), types gpusim_<name>_t, macros and enum values
 *     GPUSIM_*. Internal symbols (gpusim__*) are hidden and never part of the API.
 *   - Errors: functions that can fail return 0 (or a non-negative count where documented) on
 *     success and a negative GPUSIM_E* code on failure; gpusim_strerror() describes a code. Nothing
 *     uses errno. A failing call leaves its object as it was before the call, except for
 *     diagnostic counters that record the failure itself (such as alloc.failures).
 *   - Ownership: long-lived objects are opaque, created with gpusim_<object>_new() and released
 *     with gpusim_<object>_free(). Hot-path requests (events, RNG streams) are caller-allocated
 *     structs whose private fields the caller must not touch; the caller owns their memory.
 *   - Threads: a world and everything in it belongs to one thread at a time. Different worlds may
 *     run concurrently on different threads; they share nothing.
 *   - Bad input: every function validates its arguments before it changes anything. NULL where
 *     the header does not allow it, zero sizes, misaligned or out-of-range values, ids that were
 *     never created or have been freed (fence handles, frame numbers), and objects in a retired
 *     state (a killed context, an exited process, a buffer being unregistered) get the error code
 *     the function's comment names, and the call changes nothing. A function that cannot return
 *     an error (a getter) returns a neutral value for a NULL object -- 0, NULL, false, "?" or
 *     GPUSIM_TIME_MAX, as its comment says -- and a void function given NULL does nothing.
 *     Asynchronous calls accept a NULL callback (nobody is told of the end).
 *   - Freed pointers: passing a pointer to an object after it was freed (gpusim_world_free(),
 *     gpusim_gpu_ctx_free(), a removed subscription, an unregistered buffer once its callback ran)
 *     is undefined behaviour, as in libuv: gpusim cannot tell freed memory from live memory.
 *     Handles that are numbers (fence handles, trace ids) are safe to use after they are freed:
 *     they are never reused and give GPUSIM_ENOENT. docs/reliability.md §3 lists what is tested.
 */
#ifndef GPUSIM_H
#define GPUSIM_H

#define GPUSIM_H_INSIDE 1

#include "gpusim/version.h"
#include "gpusim/common.h"
#include "gpusim/error.h"
#include "gpusim/rng.h"
#include "gpusim/world.h"
#include "gpusim/completion.h"
#include "gpusim/stats.h"
#include "gpusim/units.h"
#include "gpusim/notifier.h"
#include "gpusim/host.h"
#include "gpusim/gpu.h"
#include "gpusim/packet.h"
#include "gpusim/mirror.h"
#include "gpusim/preset.h"
#include "gpusim/trace.h"

#undef GPUSIM_H_INSIDE

#endif /* GPUSIM_H */
