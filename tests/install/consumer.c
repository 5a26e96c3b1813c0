/*
 * consumer.c -- a program outside the gpusim tree, built against an installed gpusim (by
 * tests/install/check-install.sh). It must compile as strict, pedantic C11 with nothing but
 * <gpusim.h>, link, and see a working library.
 */
#include <stdio.h>
#include <string.h>

#include <gpusim.h>

static int fired;

static void on_event(gpusim_world_t *w, gpusim_event_t *ev)
{
    (void)ev;
    fired = (int)gpusim_world_now(w);
}

int main(void)
{
    gpusim_world_t *w;
    gpusim_event_t ev;
    gpusim_stat_info_t info;
    uint64_t bytes = 0;
    if (gpusim_version() != GPUSIM_VERSION_HEX) {
        fprintf(stderr, "header and library versions differ\n");
        return 1;
    }
    if (gpusim_world_new(NULL, &w) != 0)
        return 1;
    gpusim_event_init(&ev, on_event, NULL);
    if (gpusim_event_schedule(w, &ev, 42) != 0 || gpusim_world_run(w) != 0 || fired != 42)
        return 1;
    if (gpusim_stats_get(w, "sim.events.run", &info) != 0 || info.count != 1)
        return 1;
    gpusim_world_free(w);
    if (gpusim_size_parse("2MiB", &bytes, NULL, 0) != 0 || bytes != 2u * 1024 * 1024)
        return 1;
    if (strcmp(gpusim_strerror(GPUSIM_EINVAL), "invalid argument") != 0)
        return 1;
    printf("consumer ok: gpusim %s (%s)\n", gpusim_version_string(), gpusim_allocator_name());
    return 0;
}
