/*
 * gpusim/units.h -- parsing and printing sizes, durations and rates. Part of <gpusim.h>.
 *
 * Scenario files and the CLI write quantities with units; these functions are the only place that
 * interprets them, so every input accepts the same spellings and rejects junk with the same
 * messages. Numbers are decimal with an optional fraction ("1.5ms"); no sign, no exponent. Unit
 * prefixes are case-insensitive ("4kiB" = "4KiB") and units may be separated from the number by
 * spaces. Results are exact integers: a value that is not a whole number of the base unit ("0.3B")
 * is an error, never rounded.
 *
 *   sizes (bytes)      B; KiB MiB GiB TiB PiB EiB = 2^10 .. 2^60; K M G T P E = the same binary
 *                      multiples (memory sizes, as fio and the kernel write them);
 *                      KB MB GB TB PB EB = 10^3 .. 10^18. A bare number is bytes.
 *   durations (ns)     ns; us (also µs); ms; s; min; h; d. A unit is required except for "0".
 *   rates (bytes/s)    a size unit followed by "/s" ("55GB/s", "12GiB/s", "100MB/s"); > 0.
 *
 * Everything is in bytes, never bits. The byte suffix must be an upper-case B wherever it appears
 * ("GB", "KiB", "B"): a lower-case b ("Gb/s", "8b") conventionally means bits and is rejected
 * rather than silently read as bytes, which would be off by a factor of eight.
 *
 * Every parser takes an optional message buffer: on error it receives one line naming the input and
 * what is wrong, e.g.  invalid size '12XB': unknown unit 'XB'.
 */
#ifndef GPUSIM_UNITS_H
#define GPUSIM_UNITS_H

#ifndef GPUSIM_H_INSIDE
#error "include <gpusim.h>, not its parts"
#endif

GPUSIM_BEGIN_DECLS

/** A buffer of this many bytes always holds a formatted quantity. */
#define GPUSIM_UNITS_BUFSZ 32

/**
 * Parses a size into bytes. Returns 0, GPUSIM_EINVAL (NULL text or bytes, malformed, unknown unit,
 * not a whole number of bytes) or GPUSIM_ERANGE (does not fit in 64 bits). On error *bytes is unchanged and, if `msg`
 * is not NULL, a NUL-terminated explanation of at most msglen - 1 bytes is written there.
 */
GPUSIM_EXTERN int gpusim_size_parse(const char *text, uint64_t *bytes, char *msg, size_t msglen);

/** Parses a duration into nanoseconds. Errors as gpusim_size_parse(). */
GPUSIM_EXTERN int gpusim_duration_parse(const char *text, gpusim_time_t *ns, char *msg,
                                        size_t msglen);

/** Parses a rate into bytes per second. Errors as gpusim_size_parse(); zero is GPUSIM_EINVAL. */
GPUSIM_EXTERN int gpusim_rate_parse(const char *text, uint64_t *bytes_per_s, char *msg,
                                    size_t msglen);

/**
 * Formats a size for display, in the largest binary unit it reaches (up to PiB), with at most three
 * decimals rounded half up and trailing zeros dropped: 4096 -> "4KiB", 1536 -> "1.5KiB",
 * 1000 -> "1000B". When the value is exactly representable that way the text parses back to it;
 * otherwise it is rounded (1025 -> "1.001KiB"), so machine-readable output should print integers.
 * Returns 0, GPUSIM_EINVAL (NULL buf) or GPUSIM_ENOSPC (buffer too small, buflen 0 included; the
 * output is truncated but NUL-terminated when buflen > 0, and nothing is written when it is 0).
 */
GPUSIM_EXTERN int gpusim_size_format(uint64_t bytes, char *buf, size_t buflen);

/** Formats a duration the same way with ns, us, ms, s, min or h: 1500000 -> "1.5ms". */
GPUSIM_EXTERN int gpusim_duration_format(gpusim_time_t ns, char *buf, size_t buflen);

/** Formats a rate the same way with decimal units B/s .. PB/s: 55000000000 -> "55GB/s". */
GPUSIM_EXTERN int gpusim_rate_format(uint64_t bytes_per_s, char *buf, size_t buflen);

GPUSIM_END_DECLS

#endif /* GPUSIM_UNITS_H */
