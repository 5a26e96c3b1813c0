/*
 * gpusim/version.h -- library version. Part of <gpusim.h>; do not include directly.
 *
 * CMakeLists.txt reads the three numbers below, so this file is the only place the version lives.
 */
#ifndef GPUSIM_VERSION_H
#define GPUSIM_VERSION_H

#ifndef GPUSIM_H_INSIDE
#error "include <gpusim.h>, not its parts"
#endif

/** Major version: incremented on incompatible API or ABI changes. */
#define GPUSIM_VERSION_MAJOR 0
/** Minor version: incremented when functionality is added compatibly. */
#define GPUSIM_VERSION_MINOR 1
/** Patch version: incremented for compatible fixes. */
#define GPUSIM_VERSION_PATCH 0

/** The version as one comparable number: 0xMMmmpp. */
#define GPUSIM_VERSION_HEX                                                                         \
    ((GPUSIM_VERSION_MAJOR << 16) | (GPUSIM_VERSION_MINOR << 8) | GPUSIM_VERSION_PATCH)

#endif /* GPUSIM_VERSION_H */
