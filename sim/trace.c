/*
 * sim/trace.c -- traces of runs (sim/sim.h, "traces"): spans collected in memory through the
 * world's trace hook (<gpusim.h>, gpusim/trace.h) and the runner's own calls, then written as one
 * Chrome trace-event JSON document that Perfetto and chrome://tracing open (docs/traces.md).
 *
 * Collecting. A span is a small record (times, argument, string references); its strings -- track,
 * name, argument name -- are interned in one text store (NUL-separated, found again through an
 * open-addressing hash set), because the same few names recur millions of times. Tracks are
 * numbered in order of first appearance. Allocation failure cannot be reported from the hook, so a
 * span that does not fit is counted as lost and the writer says so in the run's process name.
 *
 * Writing. Run i is process i + 1, named by the trace's label; each track is a thread (tid = 1 +
 * track index). Spans are complete ("ph": "X") events with ts and dur in microseconds, printed
 * exactly from integer nanoseconds. Viewers need the slices of one thread to nest, but spans of
 * one track may overlap without nesting (two processes' direct reclaims, concurrent kernels on one
 * engine, a job's preparation overlapping the next job's), so each track's spans are laid out in
 * lanes: sorted by (begin, longest first), each goes to the first lane where it nests inside the
 * open span or follows it. Lane 0 is the track's own thread; further lanes become threads "TRACK
 * #2", ... with tids after all tracks', kept next to their track by thread_sort_index.
 *
 * Determinism: spans are sorted by all their fields before writing, so the output depends on the
 * set of spans only (which the simulation makes deterministic), never on pointers or timing.
 * Strings are escaped for JSON, and bytes that are not valid UTF-8 are written as U+FFFD, so any
 * label or name gives a valid document.
 */
#include "sim.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* A string in the text store: its offset + 1 (0 = none). */
typedef size_t str_ref;

typedef struct span_rec {
    gpusim_time_t begin, end;
    uint64_t arg;
    str_ref name;
    str_ref arg_name; /* 0: no argument */
    uint32_t track;   /* index into tracks */
    uint32_t lane;    /* set by the writer */
} span_rec;

struct sim_trace {
    char *label;
    span_rec *spans;
    size_t nspans, capspans;
    char *text; /* interned strings, each NUL-terminated */
    size_t textlen, textcap;
    str_ref *set; /* hash set of interned strings: capset slots (a power of two), 0 = empty */
    size_t nset, capset;
    str_ref *tracks; /* track names, in order of first appearance */
    size_t ntracks, captracks;
    uint64_t lost; /* spans dropped for want of memory */
};

/* ---- collecting ------------------------------------------------------------------------------ */

/* Grows *p (of *cap elements of `size`) to hold `need`. Returns 0 or -1 (unchanged). */
static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    size_t c = *cap ? *cap : 16;
    void *q;
    if (need <= *cap)
        return 0;
    while (c < need) {
        if (c > SIZE_MAX / 2 / size)
            return -1;
        c *= 2;
    }
    q = realloc(*p, c * size);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

static uint64_t hash(const char *s)
{
    uint64_t h = UINT64_C(1469598103934665603); /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    return h;
}

static const char *str_of(const sim_trace *t, str_ref r)
{
    return t->text + (r - 1);
}

/* Puts r in a set of `cap` slots (known not to hold it, with room). */
static void set_put(str_ref *set, size_t cap, const char *text, str_ref r)
{
    size_t i = (size_t)hash(text + (r - 1)) & (cap - 1);
    while (set[i])
        i = (i + 1) & (cap - 1);
    set[i] = r;
}

/* The interned copy of s, added if new. Returns 0 when out of memory. */
static str_ref intern(sim_trace *t, const char *s)
{
    size_t len = strlen(s), i;
    str_ref r;
    if (t->capset) {
        for (i = (size_t)hash(s) & (t->capset - 1); t->set[i]; i = (i + 1) & (t->capset - 1))
            if (strcmp(str_of(t, t->set[i]), s) == 0)
                return t->set[i];
    }
    if ((t->nset + 1) * 2 > t->capset) { /* keep the load under one half */
        size_t cap = t->capset ? t->capset * 2 : 64;
        str_ref *set = calloc(cap, sizeof *set);
        if (!set)
            return 0;
        for (i = 0; i < t->capset; i++)
            if (t->set[i])
                set_put(set, cap, t->text, t->set[i]);
        free(t->set);
        t->set = set;
        t->capset = cap;
    }
    if (len >= SIZE_MAX - t->textlen - 1 ||
        grow((void **)&t->text, &t->textcap, t->textlen + len + 1, 1))
        return 0;
    memcpy(t->text + t->textlen, s, len + 1);
    r = t->textlen + 1;
    t->textlen += len + 1;
    set_put(t->set, t->capset, t->text, r);
    t->nset++;
    return r;
}

/* The index of the track named by r, added if new. Returns -1 when out of memory. */
static int64_t track_of(sim_trace *t, str_ref r)
{
    /* Few tracks, and consecutive spans are often on one: search from the newest. */
    for (size_t i = t->ntracks; i-- > 0;)
        if (t->tracks[i] == r)
            return (int64_t)i;
    if (t->ntracks >= UINT32_MAX ||
        grow((void **)&t->tracks, &t->captracks, t->ntracks + 1, sizeof *t->tracks))
        return -1;
    t->tracks[t->ntracks] = r;
    return (int64_t)t->ntracks++;
}

static void add(sim_trace *t, const char *track, const char *name, gpusim_time_t begin,
                gpusim_time_t end, const char *arg_name, uint64_t arg)
{
    str_ref tr, nm, an = 0;
    int64_t ti;
    span_rec *s;
    if (!track || !name)
        return; /* nothing to show */
    tr = intern(t, track);
    nm = tr ? intern(t, name) : 0;
    if (nm && arg_name)
        an = intern(t, arg_name);
    ti = nm && (an || !arg_name) ? track_of(t, tr) : -1;
    if (ti < 0 || grow((void **)&t->spans, &t->capspans, t->nspans + 1, sizeof *t->spans)) {
        t->lost++;
        return;
    }
    s = &t->spans[t->nspans++];
    s->begin = begin;
    s->end = end >= begin ? end : begin;
    s->arg = an ? arg : 0;
    s->name = nm;
    s->arg_name = an;
    s->track = (uint32_t)ti;
    s->lane = 0;
}

static void on_span(void *ud, const gpusim_trace_span_t *s)
{
    add(ud, s->track, s->name, s->begin, s->end, s->arg_name, s->arg);
}

sim_trace *sim_trace_new(const char *label)
{
    sim_trace *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->label = strdup(label ? label : "");
    if (!t->label) {
        free(t);
        return NULL;
    }
    return t;
}

void sim_trace_free(sim_trace *t)
{
    if (!t)
        return;
    free(t->label);
    free(t->spans);
    free(t->text);
    free(t->set);
    free(t->tracks);
    free(t);
}

int sim_trace_attach(sim_trace *t, gpusim_world_t *w)
{
    if (!t || !w)
        return GPUSIM_EINVAL;
    return gpusim_world_set_trace(w, on_span, t);
}

void sim_trace_span(sim_trace *t, const char *track, const char *name, gpusim_time_t begin,
                    gpusim_time_t end)
{
    if (t)
        add(t, track, name, begin, end, NULL, 0);
}

/* ---- writing --------------------------------------------------------------------------------- */

static int cmp_u64(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b;
}

/* Sort order of one trace's spans: by track, begin, longest first, then every other field, so
 * that spans comparing equal are identical and the output does not depend on qsort. Strings
 * compare by their reference: the order they were first seen in, which is deterministic. */
static int span_cmp(const void *pa, const void *pb)
{
    const span_rec *a = pa, *b = pb;
    int c = cmp_u64(a->track, b->track);
    if (!c)
        c = cmp_u64(a->begin, b->begin);
    if (!c)
        c = cmp_u64(b->end, a->end);
    if (!c)
        c = cmp_u64(a->name, b->name);
    if (!c)
        c = cmp_u64(a->arg_name, b->arg_name);
    if (!c)
        c = cmp_u64(a->arg, b->arg);
    return c;
}

/* One lane of a track: the ends of its open spans, innermost last. */
typedef struct lane {
    gpusim_time_t *open;
    size_t n, cap;
} lane;

/*
 * Lays out the spans of one track, spans[0..n) sorted by span_cmp, in lanes (see the top of the
 * file). lanes/nlanes/caplanes is scratch kept across tracks. Returns the lanes used, or 0 when
 * out of memory.
 */
static size_t layout(span_rec *spans, size_t n, lane **lanes, size_t *caplanes)
{
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        span_rec *s = &spans[i];
        size_t l;
        for (l = 0; l < used; l++) {
            lane *ln = &(*lanes)[l];
            while (ln->n && ln->open[ln->n - 1] <= s->begin)
                ln->n--; /* ended before s began */
            if (!ln->n || s->end <= ln->open[ln->n - 1])
                break; /* s follows, or nests inside the innermost open span */
        }
        if (l == used) {
            size_t old = *caplanes;
            if (grow((void **)lanes, caplanes, used + 1, sizeof **lanes))
                return 0;
            memset(*lanes + old, 0, (*caplanes - old) * sizeof **lanes);
            (*lanes)[l].n = 0; /* a lane of an earlier track: reuse its memory */
            used++;
        }
        lane *ln = &(*lanes)[l];
        if (grow((void **)&ln->open, &ln->cap, ln->n + 1, sizeof *ln->open))
            return 0;
        ln->open[ln->n++] = s->end;
        s->lane = (uint32_t)l;
    }
    return used;
}

/* Writes the characters of s for a JSON string: escaped, and with bytes that are not UTF-8
 * replaced by U+FFFD. */
static void put_chars(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        size_t len = c < 0x80                 ? 1
                     : c >= 0xc2 && c <= 0xdf ? 2
                     : c >= 0xe0 && c <= 0xef ? 3
                     : c >= 0xf0 && c <= 0xf4 ? 4
                                              : 0;
        if (c == '"' || c == '\\') {
            fprintf(f, "\\%c", (char)c);
        } else if (c < 0x20) {
            fprintf(f, "\\u%04x", c);
        } else if (len == 1) {
            putc((int)c, f);
        } else {
            size_t k;
            uint32_t cp = c & (len == 2 ? 0x1fu : len == 3 ? 0x0fu : 0x07u);
            for (k = 1; len && k < len; k++) {
                if ((p[k] & 0xc0) != 0x80)
                    break;
                cp = (cp << 6) | (p[k] & 0x3fu);
            }
            /* Valid: complete, shortest form, not a surrogate, at most U+10FFFF. */
            if (len && k == len && !(len == 3 && cp < 0x800) && !(len == 4 && cp < 0x10000) &&
                !(cp >= 0xd800 && cp <= 0xdfff) && cp <= 0x10ffff) {
                fwrite(p, 1, len, f);
                p += len;
                continue;
            }
            fputs("\\ufffd", f);
        }
        p++;
    }
}

/* Writes s as a JSON string. */
static void put_str(FILE *f, const char *s)
{
    putc('"', f);
    put_chars(f, s);
    putc('"', f);
}

/* Nanoseconds as exact microseconds. */
static void put_us(FILE *f, uint64_t ns)
{
    fprintf(f, "%" PRIu64 ".%03" PRIu64, ns / 1000, ns % 1000);
}

/* Starts an event (after the first, with a separator). */
static void event_begin(FILE *f, bool *first)
{
    fputs(*first ? "\n" : ",\n", f);
    *first = false;
}

/* The metadata of a process or thread (`kind`): its name (name + suffix) and sort index. */
static void put_meta(FILE *f, bool *first, unsigned long long pid, unsigned long long tid,
                     const char *kind, const char *name, const char *suffix,
                     unsigned long long sort)
{
    event_begin(f, first);
    fprintf(f, "{\"ph\":\"M\",\"pid\":%llu,\"tid\":%llu,\"name\":\"%s_name\",\"args\":{\"name\":\"",
            pid, tid, kind);
    put_chars(f, name);
    put_chars(f, suffix);
    fputs("\"}}", f);
    event_begin(f, first);
    fprintf(f,
            "{\"ph\":\"M\",\"pid\":%llu,\"tid\":%llu,\"name\":\"%s_sort_index\","
            "\"args\":{\"sort_index\":%llu}}",
            pid, tid, kind, sort);
}

/* The tid of a span's lane: the track's own for lane 0, else one after all tracks' (the extra
 * lanes of track k are numbered from base[k] + 1). */
static unsigned long long tid_of(const sim_trace *t, const size_t *base, const span_rec *s)
{
    return s->lane == 0 ? (unsigned long long)s->track + 1
                        : (unsigned long long)(t->ntracks + base[s->track] + s->lane);
}

/* Writes one run's events. Returns 0 or GPUSIM_ENOMEM. */
static int write_one(FILE *f, sim_trace *t, unsigned long long pid, bool *first, lane **lanes,
                     size_t *caplanes)
{
    size_t *nl = calloc(t->ntracks + 1, sizeof *nl);   /* lanes per track */
    size_t *base = calloc(t->ntracks + 1, sizeof *nl); /* extra lanes before the track's */
    char lost[64] = "";
    if (!nl || !base) {
        free(nl);
        free(base);
        return GPUSIM_ENOMEM;
    }
    if (t->nspans)
        qsort(t->spans, t->nspans, sizeof *t->spans, span_cmp);
    for (size_t i = 0, j; i < t->nspans; i = j) {
        for (j = i; j < t->nspans && t->spans[j].track == t->spans[i].track; j++)
            ;
        nl[t->spans[i].track] = layout(&t->spans[i], j - i, lanes, caplanes);
        if (!nl[t->spans[i].track]) {
            free(nl);
            free(base);
            return GPUSIM_ENOMEM;
        }
    }
    for (size_t k = 1; k <= t->ntracks; k++)
        base[k] = base[k - 1] + (nl[k - 1] > 1 ? nl[k - 1] - 1 : 0);

    if (t->lost)
        snprintf(lost, sizeof lost, " (%llu spans lost: out of memory)",
                 (unsigned long long)t->lost);
    put_meta(f, first, pid, 0, "process", t->label, lost, pid);
    for (size_t k = 0; k < t->ntracks; k++) {
        const char *name = str_of(t, t->tracks[k]);
        /* Sorted in order of first appearance, each track's extra lanes right after it. */
        unsigned long long sort = (unsigned long long)(k + 1 + base[k]);
        put_meta(f, first, pid, k + 1, "thread", name, "", sort);
        for (size_t l = 1; l < nl[k]; l++) {
            char suffix[32];
            snprintf(suffix, sizeof suffix, " #%zu", l + 1);
            put_meta(f, first, pid, t->ntracks + base[k] + l, "thread", name, suffix, sort + l);
        }
    }
    for (size_t i = 0; i < t->nspans; i++) {
        const span_rec *s = &t->spans[i];
        event_begin(f, first);
        fprintf(f, "{\"ph\":\"X\",\"pid\":%llu,\"tid\":%llu,\"ts\":", pid, tid_of(t, base, s));
        put_us(f, s->begin);
        fputs(",\"dur\":", f);
        put_us(f, s->end - s->begin);
        fputs(",\"name\":", f);
        put_str(f, str_of(t, s->name));
        if (s->arg_name) {
            fputs(",\"args\":{", f);
            put_str(f, str_of(t, s->arg_name));
            fprintf(f, ":%" PRIu64 "}", s->arg);
        }
        putc('}', f);
    }
    free(nl);
    free(base);
    return 0;
}

int sim_trace_write(FILE *f, sim_trace *const *traces, size_t n)
{
    lane *lanes = NULL;
    size_t caplanes = 0;
    bool first = true;
    int rc = 0;
    if (!f || (n && !traces))
        return GPUSIM_EINVAL;
    fputs("{\"traceEvents\": [", f);
    for (size_t i = 0; i < n && rc == 0; i++)
        if (traces[i])
            rc = write_one(f, traces[i], (unsigned long long)i + 1, &first, &lanes, &caplanes);
    fputs(first ? "],\n" : "\n],\n", f);
    fputs("\"displayTimeUnit\": \"ns\"}\n", f);
    for (size_t l = 0; l < caplanes; l++)
        free(lanes[l].open);
    free(lanes);
    if (rc)
        return rc;
    return fflush(f) != 0 || ferror(f) ? GPUSIM_ENOSPC : 0;
}
