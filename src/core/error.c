/*
 * core/error.c -- gpusim_strerror() and gpusim_err_name(), generated from GPUSIM_ERRNO_MAP.
 *
 * The errno-range codes are fixed Linux values in the public header so that they are the same on
 * every platform; on Linux we check at compile time that they really are -errno.
 */
#include <errno.h>

#include "gpusim.h"

#ifdef __linux__
#define CHECK_ERRNO(name, value, msg)                                                              \
    _Static_assert((value) == -(name), "GPUSIM_" #name " != -" #name);
GPUSIM_ERRNO_MAP_POSIX(CHECK_ERRNO)
#undef CHECK_ERRNO
#endif

const char *gpusim_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define GPUSIM__STRERROR(name, value, msg)                                                         \
    case (value):                                                                                  \
        return msg;
        GPUSIM_ERRNO_MAP(GPUSIM__STRERROR)
#undef GPUSIM__STRERROR
    default:
        return "unknown error";
    }
}

const char *gpusim_err_name(int err)
{
    switch (err) {
    case 0:
        return "OK";
#define GPUSIM__ERR_NAME(name, value, msg)                                                         \
    case (value):                                                                                  \
        return #name;
        GPUSIM_ERRNO_MAP(GPUSIM__ERR_NAME)
#undef GPUSIM__ERR_NAME
    default:
        return "UNKNOWN";
    }
}
