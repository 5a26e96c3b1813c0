/*
 * gpusim/error.h -- error codes. Part of <gpusim.h>.
 *
 * Every failing gpusim function returns one of these negative codes. They come from one table,
 * GPUSIM_ERRNO_MAP, which also generates gpusim_strerror() and gpusim_err_name(), so a code cannot
 * exist without its name and message.
 *
 * Two ranges:
 *   - codes that mean what a POSIX errno means carry the negated Linux errno value
 *     (GPUSIM_EINVAL is -22 on every platform, so results and logs compare across machines);
 *   - simulator-specific codes sit from -3000 down and never collide with an errno.
 */
#ifndef GPUSIM_ERROR_H
#define GPUSIM_ERROR_H

#ifndef GPUSIM_H_INSIDE
#error "include <gpusim.h>, not its parts"
#endif

GPUSIM_BEGIN_DECLS

/**
 * The error table: XX(NAME, value, message). NAME becomes GPUSIM_<NAME>. It is the union of
 * the two ranges below.
 *
 * Codes with a protocol meaning:
 *   EINPROGRESS    the operation has begun and completes later in virtual time; the callback or
 *                  waiter the caller supplied tells it when (an invalidation waiting on a fence);
 *   EDEADLK        the call would wait for something that cannot finish until the caller returns
 *                  (removing a notifier subscription from inside a notifier callback).
 *
 * Simulator-specific codes:
 *   EGPUFAULT      a GPU page fault could not be resolved (no valid host page, or the fault buffer
 *                  was in non-replayable mode);
 *   ECTXKILLED     the GPU context the call refers to has been killed after a fatal fault or a
 *                  malformed command stream; it accepts no more work;
 *   EFENCETIMEDOUT a wait on a fence exceeded its virtual-time limit;
 *   EWOULDBLOCK    a notifier callback would have to wait but the invalidation is not blockable
 *                  (the OOM reaper's case). Distinct from GPUSIM_EAGAIN, which means "try again";
 *   ERETRY         the translations an operation read changed underneath it (an invalidation
 *                  collided, as hmm_range_fault's -EBUSY); restart from the sequence read.
 */
#define GPUSIM_ERRNO_MAP(XX)                                                                       \
    GPUSIM_ERRNO_MAP_POSIX(XX)                                                                     \
    GPUSIM_ERRNO_MAP_SIM(XX)

/** The errno range of the table: the value is the negated Linux errno. */
#define GPUSIM_ERRNO_MAP_POSIX(XX)                                                                 \
    XX(EPERM, -1, "operation not permitted")                                                       \
    XX(ENOENT, -2, "no such entry")                                                                \
    XX(ESRCH, -3, "no such process (it exited or was killed)")                                     \
    XX(EAGAIN, -11, "resource temporarily unavailable, try again")                                 \
    XX(ENOMEM, -12, "out of memory")                                                               \
    XX(EFAULT, -14, "bad address")                                                                 \
    XX(EBUSY, -16, "resource busy")                                                                \
    XX(EEXIST, -17, "already exists")                                                              \
    XX(EINVAL, -22, "invalid argument")                                                            \
    XX(ENOSPC, -28, "no space left")                                                               \
    XX(ERANGE, -34, "value out of range")                                                          \
    XX(EDEADLK, -35, "operation would deadlock")                                                   \
    XX(ENOSYS, -38, "function not implemented")                                                    \
    XX(EOVERFLOW, -75, "value too large for its type")                                             \
    XX(ENOTSUP, -95, "operation not supported")                                                    \
    XX(ETIMEDOUT, -110, "timed out")                                                               \
    XX(EINPROGRESS, -115, "operation in progress, completion follows")                             \
    XX(ECANCELED, -125, "operation canceled")

/** The simulator range of the table, from -3000 down. */
#define GPUSIM_ERRNO_MAP_SIM(XX)                                                                   \
    XX(EGPUFAULT, -3000, "unresolvable GPU page fault")                                            \
    XX(ECTXKILLED, -3001, "GPU context has been killed")                                           \
    XX(EFENCETIMEDOUT, -3002, "fence wait timed out")                                              \
    XX(EWOULDBLOCK, -3003, "would block in a non-blockable context")                               \
    XX(ERETRY, -3004, "translations changed during the operation, retry")                          \
    XX(ECORRUPT, -3005, "an internal invariant does not hold")

/** The error codes. 0 means success and is not in the enum. */
typedef enum gpusim_errno_e {
#define GPUSIM__ERRNO_ENUM(name, value, msg) GPUSIM_##name = (value),
    GPUSIM_ERRNO_MAP(GPUSIM__ERRNO_ENUM)
#undef GPUSIM__ERRNO_ENUM
} gpusim_errno_t;

/**
 * Returns a human-readable, lower-case message for an error code: "success" for 0, "unknown
 * error" for a value not in the table. Never NULL; the string is static.
 */
GPUSIM_EXTERN const char *gpusim_strerror(int err);

/**
 * Returns the symbolic name of an error code without the GPUSIM_ prefix ("EINVAL"): "OK" for 0,
 * "UNKNOWN" for a value not in the table. Never NULL; the string is static.
 */
GPUSIM_EXTERN const char *gpusim_err_name(int err);

GPUSIM_END_DECLS

#endif /* GPUSIM_ERROR_H */
