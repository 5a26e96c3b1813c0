/*
 * sim/expect.c -- expectations: "POLICIES: LHS OP RHS" parsed into a sim_expect, and evaluated
 * over result records.
 *
 * Grammar (docs/scenarios.md, "Expectations"):
 *   expect   = policies ":" term op term
 *   policies = "*" | policy { "," policy }
 *   op       = "<" | "<=" | ">" | ">=" | "==" | "!="
 *   term     = constant | [ number "*" ] metric [ "@" policy ]
 *   constant = number | number with a duration unit ("1ms": ns) | number with a size unit
 *              ("2MiB": bytes), as gpusim_duration_parse / gpusim_size_parse read them
 *   number   = digits [ "." digits ]  (no sign, no exponent)
 *   metric   = "seed" | a path of sim_result_fields()
 *
 * Evaluation reads, for term@P, the record of policy P with the same scenario, preset and seed
 * as the record being checked. Records are found through a sorted index, so the outcome of every
 * record depends only on the set of records, never on their order: when several records share
 * that key (a merge that repeated a run) they must agree on the metric, else the term is missing
 * (-1), whichever comes first.
 */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *skip_blank(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Copies [b, e) trimmed of blanks into buf (which may overlap it); false when it does not fit. */
static bool trimmed(const char *b, const char *e, char *buf, size_t len)
{
    b = skip_blank(b);
    while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    if ((size_t)(e - b) >= len)
        return false;
    memmove(buf, b, (size_t)(e - b));
    buf[e - b] = '\0';
    return true;
}

/* digits [ "." digits ] */
static bool parse_number(const char *s, double *out)
{
    const char *p = s;
    size_t digits = 0;
    while (*p >= '0' && *p <= '9')
        p++, digits++;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9')
            p++, digits++;
    }
    if (digits == 0 || *p != '\0')
        return false;
    *out = strtod(s, NULL);
    return true;
}

static bool metric_known(const char *m)
{
    size_t n;
    const sim_field *f = sim_result_fields(&n);
    if (strcmp(m, "seed") == 0)
        return true;
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i].path, m) == 0)
            return true;
    return false;
}

static int parse_term(const char *text, sim_term *t, const char *side, char *err, size_t errlen)
{
    char buf[SIM_TEXT_MAX];
    snprintf(buf, sizeof buf, "%s", text);
    memset(t, 0, sizeof *t);
    t->factor = 1;
    if (buf[0] == '\0') {
        snprintf(err, errlen, "the %s side is empty", side);
        return GPUSIM_EINVAL;
    }
    char *ref = buf;
    char *star = strchr(buf, '*');
    if (star != NULL) {
        char num[64];
        if (!trimmed(buf, star, num, sizeof num) || !parse_number(num, &t->factor)) {
            *star = '\0';
            trimmed(buf, star, buf, sizeof buf);
            snprintf(err, errlen, "'%s' before '*' is not a number", buf);
            return GPUSIM_EINVAL;
        }
        ref = (char *)skip_blank(star + 1);
        if (*ref == '\0' || strchr(ref, '*') != NULL || (*ref >= '0' && *ref <= '9') ||
            *ref == '.') {
            snprintf(err, errlen, "'%s': a factor multiplies a metric (NUMBER * METRIC)", buf);
            return GPUSIM_EINVAL;
        }
    } else if ((buf[0] >= '0' && buf[0] <= '9') || buf[0] == '.') {
        uint64_t v;
        if (parse_number(buf, &t->factor))
            return 0;
        if (gpusim_duration_parse(buf, &v, NULL, 0) == 0 ||
            gpusim_size_parse(buf, &v, NULL, 0) == 0) {
            t->factor = (double)v;
            return 0;
        }
        snprintf(err, errlen, "'%s' is not a number, a duration or a size", buf);
        return GPUSIM_EINVAL;
    }
    char *at = strchr(ref, '@');
    if (at != NULL) {
        *at = '\0';
        gpusim_policy_t p;
        const char *pol = at + 1;
        if (gpusim_policy_from_name(pol, &p) != 0) {
            snprintf(err, errlen, "unknown policy '%s' after '@'", pol);
            return GPUSIM_EINVAL;
        }
        memcpy(t->policy, pol, strlen(pol) + 1); /* a policy name: shorter than SIM_NAME_MAX */
    }
    if (strlen(ref) >= sizeof t->metric || !metric_known(ref)) {
        snprintf(err, errlen, "unknown metric '%s' (see docs/results.md for the fields)", ref);
        return GPUSIM_EINVAL;
    }
    memcpy(t->metric, ref, strlen(ref) + 1); /* checked above */
    return 0;
}

static int parse_policies(const char *list, bool *pol, char *err, size_t errlen)
{
    if (strcmp(list, "*") == 0) {
        for (int i = 0; i < GPUSIM_POLICY_COUNT; i++)
            pol[i] = true;
        return 0;
    }
    const char *p = list;
    for (;;) {
        const char *e = strchr(p, ',');
        if (e == NULL)
            e = p + strlen(p);
        char name[SIM_NAME_MAX + 8];
        gpusim_policy_t id;
        if (!trimmed(p, e, name, sizeof name) || name[0] == '\0' ||
            gpusim_policy_from_name(name, &id) != 0) {
            if (!trimmed(p, p + strcspn(p, ","), name, sizeof name))
                snprintf(name, sizeof name, "%.*s", (int)(sizeof name - 1), p);
            snprintf(err, errlen, "unknown policy '%s' (a list of policies, or *)", name);
            return GPUSIM_EINVAL;
        }
        if (pol[id]) {
            snprintf(err, errlen, "policy '%s' is listed twice", name);
            return GPUSIM_EINVAL;
        }
        pol[id] = true;
        if (*e == '\0')
            return 0;
        p = e + 1;
    }
}

int sim_expect_parse(const char *text, sim_expect *e, char *err, size_t errlen)
{
    if (errlen > 0)
        err[0] = '\0';
    if (text == NULL || e == NULL) {
        snprintf(err, errlen, "no expectation");
        return GPUSIM_EINVAL;
    }
    unsigned line = e->line;
    memset(e, 0, sizeof *e);
    e->line = line;
    if (!trimmed(text, text + strlen(text), e->text, sizeof e->text)) {
        snprintf(err, errlen, "too long (at most %zu characters)", sizeof e->text - 1);
        return GPUSIM_EINVAL;
    }
    const char *colon = strchr(e->text, ':');
    if (colon == NULL) {
        snprintf(err, errlen, "expected 'POLICIES: LHS OP RHS', got '%s'", e->text);
        return GPUSIM_EINVAL;
    }
    char part[SIM_TEXT_MAX];
    trimmed(e->text, colon, part, sizeof part);
    int rc = parse_policies(part, e->policies, err, errlen);
    if (rc != 0)
        return rc;

    const char *body = colon + 1;
    const char *op = strpbrk(body, "<>=!");
    if (op == NULL) {
        snprintf(err, errlen, "no comparison (one of < <= > >= == !=)");
        return GPUSIM_EINVAL;
    }
    size_t oplen = op[1] == '=' ? 2 : 1;
    if (op[0] == '<')
        e->op = oplen == 2 ? SIM_LE : SIM_LT;
    else if (op[0] == '>')
        e->op = oplen == 2 ? SIM_GE : SIM_GT;
    else if (oplen == 2)
        e->op = op[0] == '=' ? SIM_EQ : SIM_NE;
    else {
        snprintf(err, errlen, "unknown operator '%c' (one of < <= > >= == !=)", op[0]);
        return GPUSIM_EINVAL;
    }
    if (strpbrk(op + oplen, "<>=!") != NULL) {
        snprintf(err, errlen, "more than one comparison");
        return GPUSIM_EINVAL;
    }
    trimmed(body, op, part, sizeof part);
    rc = parse_term(part, &e->lhs, "left", err, errlen);
    if (rc != 0)
        return rc;
    trimmed(op + oplen, op + oplen + strlen(op + oplen), part, sizeof part);
    return parse_term(part, &e->rhs, "right", err, errlen);
}

/* ---- evaluation --------------------------------------------------------------------------- */

/* The key records are matched by, less the policy: (scenario, preset, seed). */
static int cmp_run(const sim_result *a, const sim_result *b)
{
    int c = strncmp(a->scenario, b->scenario, sizeof a->scenario);
    if (c == 0)
        c = strncmp(a->preset, b->preset, sizeof a->preset);
    if (c == 0)
        c = a->seed < b->seed ? -1 : a->seed > b->seed;
    return c;
}

static int cmp_key(const sim_result *a, const sim_result *b, const char *policy)
{
    int c = cmp_run(a, b);
    return c != 0 ? c : strncmp(a->policy, policy, sizeof a->policy);
}

static int cmp_index(const void *x, const void *y)
{
    const sim_result *a = *(const sim_result *const *)x, *b = *(const sim_result *const *)y;
    return cmp_key(a, b, b->policy);
}

typedef struct view {
    sim_result *recs;
    size_t n;
    const sim_result **idx; /* sorted by (scenario, preset, seed, policy); NULL: scan */
} view;

/* The metric of the record of `policy` in the run of r: 0, or -1 when there is no such record
 * or its copies disagree. */
static int lookup(const view *v, const sim_result *r, const char *policy, const char *metric,
                  double *out)
{
    size_t lo = 0, hi = v->n;
    if (v->idx != NULL) {
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (cmp_key(v->idx[mid], r, policy) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        hi = v->n;
    }
    bool found = false;
    for (size_t i = lo; i < hi; i++) {
        const sim_result *q = v->idx != NULL ? v->idx[i] : &v->recs[i];
        if (cmp_key(q, r, policy) != 0) {
            if (v->idx != NULL)
                break;
            continue;
        }
        double x;
        if (sim_result_field(q, metric, &x) != 0)
            return -1;
        if (found && x != *out)
            return -1;
        *out = x;
        found = true;
    }
    return found ? 0 : -1;
}

static int term_value(const view *v, const sim_result *r, const sim_term *t, double *out)
{
    double x;
    if (t->metric[0] == '\0') {
        *out = t->factor;
        return 0;
    }
    if (t->policy[0] == '\0') {
        if (sim_result_field(r, t->metric, &x) != 0)
            return -1;
    } else if (lookup(v, r, t->policy, t->metric, &x) != 0) {
        return -1;
    }
    *out = t->factor * x;
    return 0;
}

static int evaluate(const view *v, const sim_result *r, const char *text)
{
    sim_expect e;
    char err[SIM_TEXT_MAX];
    gpusim_policy_t p;
    double l, rt;
    e.line = 0;
    if (sim_expect_parse(text, &e, err, sizeof err) != 0)
        return 0;
    char policy[SIM_NAME_MAX + 1];
    snprintf(policy, sizeof policy, "%.*s", (int)sizeof r->policy, r->policy);
    if (gpusim_policy_from_name(policy, &p) != 0 || !e.policies[p])
        return -1; /* the runner lists only the texts that apply to a record's policy */
    if (term_value(v, r, &e.lhs, &l) != 0 || term_value(v, r, &e.rhs, &rt) != 0)
        return -1;
    switch (e.op) {
    case SIM_LT:
        return l < rt;
    case SIM_LE:
        return l <= rt;
    case SIM_GT:
        return l > rt;
    case SIM_GE:
        return l >= rt;
    case SIM_EQ:
        return l == rt;
    case SIM_NE:
        return l != rt;
    }
    return 0;
}

void sim_expect_eval(sim_result *recs, size_t n)
{
    if (recs == NULL || n == 0)
        return;
    view v = {recs, n, NULL};
    /* Without memory for the index, a linear scan gives the same answers, more slowly. */
    v.idx = malloc(n * sizeof *v.idx);
    if (v.idx != NULL) {
        for (size_t i = 0; i < n; i++)
            v.idx[i] = &recs[i];
        qsort(v.idx, n, sizeof *v.idx, cmp_index);
    }
    for (size_t i = 0; i < n; i++) {
        sim_result *r = &recs[i];
        unsigned ne = r->nexpectations < SIM_MAX_EXPECT ? r->nexpectations : SIM_MAX_EXPECT;
        for (unsigned k = 0; k < ne; k++) {
            char text[SIM_TEXT_MAX];
            snprintf(text, sizeof text, "%.*s", (int)sizeof r->expectations[k].text - 1,
                     r->expectations[k].text);
            r->expectations[k].met = evaluate(&v, r, text);
        }
    }
    free((void *)v.idx);
}
