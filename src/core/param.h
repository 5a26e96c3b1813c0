/*
 * core/param.h -- named, sourced model parameters (the cost model's building block). Internal.
 *
 * Every cost and tunable the simulator charges is a field of a parameter table declared by its
 * layer with an X-macro of this shape:
 *
 *   XX(field, UNIT, default, min, max, tag, "source")
 *
 * where UNIT is one of gpusim__param_unit without its prefix (NS, BYTES, RATE, COUNT, PERCENT,
 * BOOL), min..max is the plausible range a value set by name must fall in (unless forced), tag is
 * the confidence tag of ../shared/reference/cost-model.md §0 ("R" read in the primary text, "R2"
 * in a secondary source, "C" a code constant, "D" derived, "W" low-authority web text, "U" an
 * estimate, "S" a simulator setting that is not a cost) and source says where the default comes
 * from. The layer expands the same table into its values array indices (an enum), its descriptors
 * and its documentation, so there is exactly one place where a default is written.
 *
 * Values are uint64_t in the unit's base: ns, bytes, bytes/s, a count, a percentage, 0/1.
 */
#ifndef GPUSIM_CORE_PARAM_H
#define GPUSIM_CORE_PARAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpusim.h"

typedef enum gpusim__param_unit {
    GPUSIM__PARAM_NS,      /* a duration, parsed with gpusim_duration_parse ("2.3us") */
    GPUSIM__PARAM_BYTES,   /* a size, parsed with gpusim_size_parse ("2MiB") */
    GPUSIM__PARAM_RATE,    /* bytes per second, parsed with gpusim_rate_parse ("55GB/s") */
    GPUSIM__PARAM_COUNT,   /* a plain decimal integer */
    GPUSIM__PARAM_PERCENT, /* a plain decimal integer, optionally followed by '%' */
    GPUSIM__PARAM_BOOL     /* 0/1, true/false, on/off, yes/no */
} gpusim__param_unit;

typedef struct gpusim__param_desc {
    const char *name;        /* The field name, [a-z0-9_]. */
    gpusim__param_unit unit; /* How values are written and read. */
    uint64_t def;            /* Default. */
    uint64_t min;            /* Plausible range, inclusive. */
    uint64_t max;
    const char *tag;    /* Confidence tag (see above). */
    const char *source; /* Where the default comes from. */
} gpusim__param_desc;

/* Expands one row of a layer's table into a descriptor. */
#define GPUSIM__PARAM_DESC(field, UNIT, def, min, max, tag, source)                                \
    {#field, GPUSIM__PARAM_##UNIT, (def), (min), (max), tag, source},

/* Writes every default of a table into values[0..n). */
void gpusim__param_defaults(const gpusim__param_desc *d, size_t n, uint64_t *values);

/* Returns the index of `name` in the table, or -1. */
long gpusim__param_find(const gpusim__param_desc *d, size_t n, const char *name);

/*
 * Parses `text` as a value of parameter d (with its unit) into *out. Returns 0, GPUSIM_EINVAL
 * (malformed, or a unit of the wrong kind) or GPUSIM_ERANGE (outside [min, max] and not `force`).
 * A message for the user is written to msg (may be NULL).
 */
int gpusim__param_parse(const gpusim__param_desc *d, const char *text, bool force, uint64_t *out,
                        char *msg, size_t msglen);

/* Formats a value with its unit ("2.3us", "55GB/s", "51%"). Returns as snprintf. */
int gpusim__param_format(const gpusim__param_desc *d, uint64_t value, char *buf, size_t buflen);

/*
 * The by-name interface every layer's configuration offers (gpusim_host_config_set and friends),
 * over a table d[0..n) and a values array: set parses `value` into values[i] (GPUSIM_EINVAL for a
 * NULL argument, GPUSIM_ENOENT "no <layer> parameter named ..." for an unknown name, the parse
 * errors of gpusim__param_parse; msg always gets a message or an empty string); get reads it; info
 * describes row i (GPUSIM_ENOENT past the end).
 */
int gpusim__param_set(const gpusim__param_desc *d, size_t n, uint64_t *values, const char *layer,
                      const char *name, const char *value, bool force, char *msg, size_t msglen);
int gpusim__param_get(const gpusim__param_desc *d, size_t n, const uint64_t *values,
                      const char *name, uint64_t *value);
int gpusim__param_info(const gpusim__param_desc *d, size_t n, size_t i, gpusim_param_info_t *out);

#endif /* GPUSIM_CORE_PARAM_H */
