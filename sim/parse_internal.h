/*
 * sim/parse_internal.h -- what the pieces of the scenario parser share (sim/parse*.c only).
 *
 * The parser is split in five: parse.c drives inih and tracks sections and lines; parse_check.c
 * checks each section when it ends, then resolves names to indices and fills defaults;
 * parse_keys.c holds one key table per section; parse_values.c the value syntaxes; parse_apply.c
 * applies --preset and --set through the same key setters. A key table says, for each
 * fixed key, how its value is parsed, where it is stored and which variants of the section it
 * applies to, so that every key of the format is described in one place (and docs/scenarios.md
 * follows the tables). Keys that name other sections (references) are stored as text in a
 * "pending" record and resolved once the whole file is read, so sections may come in any order.
 *
 * Setters never see a file name or line: they return 0, GPUSIM_ENOENT (no such key) or another
 * negative error with a message, and the caller adds "FILE:LINE: " or "--set NAME=VALUE: ".
 */
#ifndef GPUSIM_SIM_PARSE_INTERNAL_H
#define GPUSIM_SIM_PARSE_INTERNAL_H

#include "sim.h"

#include <stdio.h>

/* How a fixed key's value is read. */
typedef enum sim__vkind {
    SIM__V_SIZE,     /* gpusim_size_parse, bytes */
    SIM__V_DURATION, /* gpusim_duration_parse, ns */
    SIM__V_RATE,     /* gpusim_rate_parse, bytes/s; "0" also accepted (none) */
    SIM__V_COUNT,    /* a plain decimal integer */
    SIM__V_BOOL,     /* true/false, on/off, yes/no, 1/0 */
    SIM__V_PERCENT,  /* a whole number followed by '%' */
    SIM__V_ENUM,     /* one of names[]; stored as values[i] (or i when values is NULL) */
    SIM__V_CUSTOM    /* set() does everything */
} sim__vkind;

/* A custom setter: obj is the section's struct, aux its pending record (may be NULL). */
typedef int (*sim__set_fn)(void *obj, void *aux, const char *value, char *msg, size_t msglen);

typedef struct sim__key {
    const char *name;
    sim__vkind kind;
    size_t offset;  /* of the field in the section's struct */
    unsigned width; /* of the field: 1, 4 or 8 bytes (bool: sizeof(bool)) */
    uint64_t min, max;
    const char *const *names; /* ENUM: NULL-terminated */
    const unsigned *values;   /* ENUM: stored values, parallel to names (NULL: the index) */
    unsigned mask;            /* variants of the section it applies to (0: all) */
    sim__set_fn set;          /* CUSTOM */
} sim__key;

/* Most fixed keys in one table (key lines are kept per section in an array of this size). */
#define SIM__KEYS_MAX 32

/* Section kinds. */
typedef enum sim__sect_kind {
    SIM__S_SCENARIO,
    SIM__S_HOST,
    SIM__S_GPU,
    SIM__S_PROCESS,
    SIM__S_BUFFER,
    SIM__S_JOB,
    SIM__S_ACTIVITY,
    SIM__S_EXPECT,
    SIM__S_COUNT
} sim__sect_kind;

/* A name written in the file, to be resolved later, and the line that wrote it. */
typedef struct sim__ref {
    char name[SIM_NAME_MAX];
    unsigned line;
} sim__ref;

/* What a [buffer], [job] or [activity] names, and what needs the whole file to compute. */
typedef struct sim__buffer_pending {
    sim__ref process;
} sim__buffer_pending;

typedef struct sim__job_pending {
    sim__ref gpu;
    sim__ref buffers[GPUSIM_JOB_MAX_BUFFERS];
    unsigned nbuffers;
    gpusim_time_t length; /* `length =`, 0 when not given */
} sim__job_pending;

typedef struct sim__activity_pending {
    sim__ref buffer, process;
} sim__activity_pending;

/* Job key masks: one bit per kernel pattern, and one for copies. */
#define SIM__JOB_COPY (1u << 8)

/* The key table of a section kind (NULL for [expect], which has the one key `check`). */
const sim__key *sim__keys(sim__sect_kind kind, size_t *n);
/* A plain decimal integer: digits only, no sign, no unit. 0, or an error with msg. */
int sim__parse_count(const char *v, uint64_t *out, char *msg, size_t msglen);
/* Index of `name` in a table, or -1. */
int sim__key_find(const sim__key *keys, size_t n, const char *name);
/* Parses `value` for key k and stores it in obj. Returns 0 or GPUSIM_EINVAL/ERANGE with msg. */
int sim__key_set(const sim__key *k, void *obj, void *aux, const char *value, char *msg,
                 size_t msglen);

/* Setters of the open-ended sections, shared with sim_scenario_apply(): a fixed key, else a
 * cost (or driver) parameter by name, which is then marked explicit (parse_preset.c). `force`
 * lets a parameter's value lie outside its plausible range. GPUSIM_ENOENT when `key` is
 * neither. `index` (may be NULL) receives the table index of a fixed key, -1 for a parameter. */
int sim__host_set(sim_scenario *s, const char *key, const char *value, bool force, int *index,
                  char *msg, size_t msglen);
int sim__gpu_set(sim_gpu_desc *g, const char *key, const char *value, bool force, int *index,
                 char *msg, size_t msglen);
/* The canonical name of a host key (swap_latency is swap_in_4k), for duplicate detection. */
const char *sim__host_canonical(const char *key);

/* Checks the host's structure (the rules of gpusim_host_new()); `which` receives the [host] key
 * at fault ("ram", "swap", "movable"). Returns 0 or GPUSIM_EINVAL with msg. */
int sim__host_check(const gpusim_host_config_t *h, const char **which, char *msg, size_t msglen);

/* Name rules: scenario names [a-z0-9-], section names [a-z0-9_-], device and process names
 * [a-z0-9_] (the library's rule for names it stores), all 1..31 characters. */
bool sim__name_ok(const char *s, const char *extra);

/* Presets (parse_preset.c). sim__preset_spec parses "NAME" or "NAME+NAME" (at most one preset
 * of each kind) and writes the names of the kinds it names into gpu / host, leaving the other;
 * GPUSIM_EINVAL with msg (listing the known presets) otherwise. sim__mark_explicit marks
 * parameter `name` of `layer` in mask. sim__presets_apply writes the scenario's presets into
 * every parameter not marked explicit and sets s->preset to "GPU+HOST". */
int sim__preset_spec(const char *spec, char gpu[SIM_NAME_MAX], char host[SIM_NAME_MAX], char *msg,
                     size_t msglen);
void sim__mark_explicit(gpusim_layer_t layer, const char *name, bool *mask);
/* Names each kind's default preset in s (a new scenario's presets). */
void sim__default_presets(sim_scenario *s);
void sim__presets_apply(sim_scenario *s);

/* ---- the parser's state (parse.c, parse_check.c) ------------------------------------------ */

#define MAX_SECTIONS                                                                               \
    (3 + SIM_MAX_GPUS + SIM_MAX_PROCESSES + SIM_MAX_BUFFERS + SIM_MAX_JOBS + SIM_MAX_ACTIVITIES)
_Static_assert(SIM_MAX_GPUS <= 64 && SIM_MAX_PROCESSES <= 64 && SIM_MAX_BUFFERS <= 64 &&
                   SIM_MAX_JOBS <= 64 && SIM_MAX_ACTIVITIES <= 64,
               "sim__pctx.by_index holds 64 of each kind");
#define MAX_DYN_KEYS 160 /* parameters set by name in one section (more than the tables hold) */

typedef struct sim__sect {
    sim__sect_kind kind;
    unsigned index;             /* into the scenario's array of that kind (0 for single sections) */
    unsigned line;              /* of the header */
    unsigned kl[SIM__KEYS_MAX]; /* line of each fixed key given, by table index; 0: not given */
} sim__sect;

typedef struct sim__pctx {
    const char *fname;
    sim_scenario *s;
    /* input: a FILE (getline into buf) or text */
    FILE *f;
    const char *text;
    char *buf;
    size_t bufcap;
    unsigned lineno;
    /* the first error */
    int rc;
    char *err;
    size_t errlen;
    /* sections */
    sim__sect sects[MAX_SECTIONS];
    unsigned nsects;
    sim__sect *cur;
    int single[SIM__S_COUNT];        /* sects index of [scenario], [host], [expect]; -1 */
    int by_index[SIM__S_COUNT][64];  /* sects index of (kind, i) */
    char dyn[MAX_DYN_KEYS][48];      /* parameter keys seen in the current section */
    unsigned dyn_line[MAX_DYN_KEYS]; /* ... and their lines */
    unsigned ndyn;
    sim__buffer_pending bufp[SIM_MAX_BUFFERS];
    sim__job_pending jobp[SIM_MAX_JOBS];
    sim__activity_pending actp[SIM_MAX_ACTIVITIES];
} sim__pctx;

/* The section kinds' names as the file writes them. */
extern const char *const sim__sect_names[SIM__S_COUNT];

/* Records the first error, "FILE:LINE: message", and returns c->rc (later errors are dropped). */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int sim__fail(sim__pctx *c, unsigned line, const char *fmt, ...);
/* The section of item `index` of `kind`. */
sim__sect *sim__sect_of(sim__pctx *c, sim__sect_kind kind, unsigned index);
/* The line of fixed key `name` in section sc, or 0 when it was not given. */
unsigned sim__key_line(const sim__sect *sc, const char *name);
/* The count of items of a named kind in s, or NULL for [scenario], [host], [expect]. */
unsigned *sim__kind_count(sim_scenario *s, sim__sect_kind kind);
const char *sim__item_name(sim_scenario *s, sim__sect_kind kind, unsigned i);
/* A device or process with its defaults. */
void sim__gpu_init(sim_gpu_desc *g, const char *name, unsigned line);
void sim__process_init(sim_process_desc *p, const char *name, unsigned line);
/* The checks when the current section ends, and at the end of the file (parse_check.c). */
void sim__close_section(sim__pctx *c);
void sim__finish(sim__pctx *c);

#endif /* GPUSIM_SIM_PARSE_INTERNAL_H */
