/*
 * result_json.c -- result records to and from JSON (the schema of docs/results.md).
 *
 * A file is {"gpusim_version": "X.Y.Z", "results": [record, ...]}. A record's keys come in a
 * fixed order: index, combinations, scenario, policy, seed, preset, status, error (only when
 * status != 0), then the numeric fields of sim_result_fields() nested along their dotted paths
 * ("gpu.stall_ns" becomes "gpu": {"stall_ns": ...}), then expectations [{text, met}].
 *
 * Invariants: the writer and the reader both walk the one field table, so a field added to the
 * table is written and required back without touching this file; jansson keeps insertion order,
 * so the same records always give the same bytes (what makes sharded and unsharded runs
 * comparable). JSON integers are signed 64-bit in jansson: a value above INT64_MAX (none is
 * expected: that is 292 years in ns) is written as a real and read back from one, approximately
 * (a double holds 53 bits); everything below is exact.
 */
#include "sim.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing -------------------------------------------------------------------------------- */

static json_t *json_u64(uint64_t v)
{
    return v <= (uint64_t)INT64_MAX ? json_integer((json_int_t)v) : json_real((double)v);
}

/* Sets obj[key] = value, taking the reference; false (and value released) on ENOMEM. */
static bool put(json_t *obj, const char *key, json_t *value)
{
    return value && json_object_set_new(obj, key, value) == 0;
}

/* The object at the dotted prefix of `path` below `rec`, created on the way; *leaf receives the
 * last component. The prefixes are short ("notifier.blocked_by.kswapd"). */
static json_t *parent_of(json_t *rec, const char *path, const char **leaf)
{
    json_t *obj = rec;
    const char *p = path, *dot;
    while ((dot = strchr(p, '.')) != NULL) {
        char key[64];
        size_t len = (size_t)(dot - p);
        if (len >= sizeof key)
            return NULL;
        memcpy(key, p, len);
        key[len] = '\0';
        json_t *next = json_object_get(obj, key);
        if (!next) {
            next = json_object();
            if (!put(obj, key, next))
                return NULL;
        }
        obj = next;
        p = dot + 1;
    }
    *leaf = p;
    return obj;
}

static json_t *record_to_json(const sim_result *r)
{
    json_t *rec = json_object();
    if (!rec)
        return NULL;
    bool ok = put(rec, "index", json_u64(r->index)) &&
              put(rec, "combinations", json_u64(r->combinations)) &&
              put(rec, "scenario", json_string(r->scenario)) &&
              put(rec, "policy", json_string(r->policy)) && put(rec, "seed", json_u64(r->seed)) &&
              put(rec, "preset", json_string(r->preset)) &&
              put(rec, "status", json_integer(r->status));
    if (ok && r->status != 0)
        ok = put(rec, "error", json_string(r->error));
    size_t nf;
    const sim_field *f = sim_result_fields(&nf);
    for (size_t i = 0; ok && i < nf; i++) {
        const char *leaf;
        json_t *parent = parent_of(rec, f[i].path, &leaf);
        uint64_t v;
        memcpy(&v, (const char *)r + f[i].offset, sizeof v);
        ok = parent && put(parent, leaf, json_u64(v));
    }
    json_t *exps = json_array();
    ok = ok && put(rec, "expectations", exps);
    for (unsigned i = 0; ok && i < r->nexpectations && i < SIM_MAX_EXPECT; i++) {
        const sim_outcome *o = &r->expectations[i];
        json_t *e = json_object();
        ok = e && json_array_append_new(exps, e) == 0 && put(e, "text", json_string(o->text)) &&
             put(e, "met", o->met < 0 ? json_null() : json_boolean(o->met));
    }
    if (!ok) {
        json_decref(rec);
        return NULL;
    }
    return rec;
}

int sim_results_write_json(FILE *f, const sim_result *recs, size_t n)
{
    json_t *root = json_object(), *arr = json_array();
    if (!root || !arr ||
        json_object_set_new(root, "gpusim_version", json_string(gpusim_version_string())) != 0 ||
        json_object_set(root, "results", arr) != 0) {
        json_decref(root);
        json_decref(arr);
        return GPUSIM_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *rec = record_to_json(&recs[i]);
        if (!rec || json_array_append_new(arr, rec) != 0) {
            json_decref(root);
            json_decref(arr);
            return GPUSIM_ENOMEM;
        }
    }
    json_decref(arr);
    /* JSON_PRESERVE_ORDER is jansson's default since 2.8; said anyway, the order is the point. */
    int rc = json_dumpf(root, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (rc != 0 || fputc('\n', f) == EOF || fflush(f) != 0 || ferror(f))
        return GPUSIM_ENOSPC;
    return 0;
}

/* ---- reading -------------------------------------------------------------------------------- */

typedef struct reader {
    const char *path;
    char *err;
    size_t errlen;
    size_t rec; /* the record being read, for messages */
} reader;

/* printf-checked, which also keeps clang's -Wformat-nonliteral quiet about the vsnprintf below. */
static int fail(reader *rd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(reader *rd, const char *fmt, ...)
{
    if (rd->err && rd->errlen) {
        int used = snprintf(rd->err, rd->errlen, "%s: results[%zu].", rd->path, rd->rec);
        if (used >= 0 && (size_t)used < rd->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(rd->err + used, rd->errlen - (size_t)used, fmt, ap);
            va_end(ap);
        }
    }
    return GPUSIM_EINVAL;
}

/* A non-negative integer at obj[key]; `path` names it in messages. */
static int get_u64(reader *rd, json_t *obj, const char *key, const char *path, uint64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return fail(rd, "%s: missing", path);
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    /* The writer's form for values beyond INT64_MAX: a double, so approximate; 2^64 is what
     * UINT64_MAX rounds to. */
    if (json_is_real(v) && json_real_value(v) >= 9223372036854775808.0 &&
        json_real_value(v) <= 18446744073709551616.0) {
        double d = json_real_value(v);
        *out = d >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)d;
        return 0;
    }
    return fail(rd, "%s: not a non-negative integer", path);
}

static int get_str(reader *rd, json_t *obj, const char *key, char *out, size_t outlen)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return fail(rd, "%s: missing", key);
    if (!json_is_string(v))
        return fail(rd, "%s: not a string", key);
    if (json_string_length(v) >= outlen)
        return fail(rd, "%s: longer than %zu characters", key, outlen - 1);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return fail(rd, "%s: contains a NUL character", key);
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int record_from_json(reader *rd, json_t *rec, sim_result *r)
{
    int rc;
    sim_result_init(r);
    if (!json_is_object(rec))
        return fail(rd, "%s", "*: not an object");
    if ((rc = get_u64(rd, rec, "index", "index", &r->index)) ||
        (rc = get_u64(rd, rec, "combinations", "combinations", &r->combinations)) ||
        (rc = get_str(rd, rec, "scenario", r->scenario, sizeof r->scenario)) ||
        (rc = get_str(rd, rec, "policy", r->policy, sizeof r->policy)) ||
        (rc = get_u64(rd, rec, "seed", "seed", &r->seed)) ||
        (rc = get_str(rd, rec, "preset", r->preset, sizeof r->preset)))
        return rc;
    json_t *st = json_object_get(rec, "status");
    if (!st)
        return fail(rd, "%s", "status: missing");
    if (!json_is_integer(st) || json_integer_value(st) < INT32_MIN ||
        json_integer_value(st) > INT32_MAX)
        return fail(rd, "%s", "status: not an integer");
    r->status = (int)json_integer_value(st);
    if (r->status != 0 && (rc = get_str(rd, rec, "error", r->error, sizeof r->error)))
        return rc;

    size_t nf;
    const sim_field *f = sim_result_fields(&nf);
    for (size_t i = 0; i < nf; i++) {
        /* Walk the dotted path: every prefix must be an object. */
        json_t *obj = rec;
        const char *p = f[i].path, *dot;
        while ((dot = strchr(p, '.')) != NULL) {
            char key[64];
            size_t len = (size_t)(dot - p);
            if (len >= sizeof key)
                return fail(rd, "%s: path too long", f[i].path);
            memcpy(key, p, len);
            key[len] = '\0';
            obj = json_object_get(obj, key);
            if (!json_is_object(obj))
                return fail(rd, "%.*s: %s", (int)(dot - f[i].path), f[i].path,
                            obj ? "not an object" : "missing");
            p = dot + 1;
        }
        uint64_t v;
        if ((rc = get_u64(rd, obj, p, f[i].path, &v)))
            return rc;
        memcpy((char *)r + f[i].offset, &v, sizeof v);
    }

    json_t *exps = json_object_get(rec, "expectations");
    if (!exps)
        return fail(rd, "%s", "expectations: missing");
    if (!json_is_array(exps))
        return fail(rd, "%s", "expectations: not an array");
    if (json_array_size(exps) > SIM_MAX_EXPECT)
        return fail(rd, "expectations: more than %d", SIM_MAX_EXPECT);
    for (size_t i = 0; i < json_array_size(exps); i++) {
        json_t *e = json_array_get(exps, i);
        sim_outcome *o = &r->expectations[i];
        if (!json_is_object(e))
            return fail(rd, "expectations[%zu]: not an object", i);
        json_t *text = json_object_get(e, "text"), *met = json_object_get(e, "met");
        if (!json_is_string(text) || json_string_length(text) >= sizeof o->text ||
            strlen(json_string_value(text)) != json_string_length(text))
            return fail(rd, "expectations[%zu].text: %s", i,
                        text ? "not a string of fewer than 256 characters" : "missing");
        memcpy(o->text, json_string_value(text), json_string_length(text) + 1);
        if (!met)
            return fail(rd, "expectations[%zu].met: missing", i);
        if (json_is_null(met))
            o->met = -1;
        else if (json_is_boolean(met))
            o->met = json_is_true(met) ? 1 : 0;
        else
            return fail(rd, "expectations[%zu].met: not true, false or null", i);
    }
    r->nexpectations = (unsigned)json_array_size(exps);
    return 0;
}

int sim_results_read_json(const char *path, sim_result **recs, size_t *n, char *err, size_t errlen)
{
    json_error_t jerr;
    reader rd = {path, err, errlen, 0};
    *recs = NULL;
    *n = 0;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        /* jansson reports an unreadable file as line -1 with the OS reason in the text. */
        if (jerr.line < 0)
            snprintf(err, errlen, "%s: %s", path, jerr.text);
        else
            snprintf(err, errlen, "%s:%d:%d: not JSON: %s", path, jerr.line, jerr.column,
                     jerr.text);
        return json_error_code(&jerr) == json_error_out_of_memory ? GPUSIM_ENOMEM : GPUSIM_EINVAL;
    }
    int rc = 0;
    json_t *results = json_object_get(root, "results");
    if (!json_is_object(root) || !json_is_string(json_object_get(root, "gpusim_version")) ||
        !json_is_array(results)) {
        snprintf(err, errlen,
                 "%s: not a gpusim-bench results file (expected an object with "
                 "\"gpusim_version\" and a \"results\" array)",
                 path);
        rc = GPUSIM_EINVAL;
        goto out;
    }
    size_t count = json_array_size(results);
    if (count) {
        *recs = malloc(count * sizeof **recs);
        if (!*recs) {
            snprintf(err, errlen, "%s: out of memory for %zu records", path, count);
            rc = GPUSIM_ENOMEM;
            goto out;
        }
    }
    for (size_t i = 0; i < count; i++) {
        rd.rec = i;
        rc = record_from_json(&rd, json_array_get(results, i), &(*recs)[i]);
        if (rc) {
            free(*recs);
            *recs = NULL;
            goto out;
        }
    }
    *n = count;
out:
    json_decref(root);
    return rc;
}
