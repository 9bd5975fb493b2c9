/* Clock and pacing shared by the load generators of bench/ (included by loadgen.c, connload.c, mixload.c, ioload.c). */
#ifndef SAKER_BENCH_PACE_H
#define SAKER_BENCH_PACE_H

#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sleeps until `done` units of work are due at `rate` a second since `start` (no pause when rate <= 0). */
static void pace(double start, double done, double rate) {
    if (rate <= 0)
        return;
    double due = start + done / rate, t = now();
    if (due > t) {
        struct timespec pause = {(time_t)(due - t), (long)((due - t - (time_t)(due - t)) * 1e9)};
        nanosleep(&pause, NULL);
    }
}

#endif
