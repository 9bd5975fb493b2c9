/* Syscall load generator for bench/bench_capture.py.
 *
 * usage: loadgen SECONDS RATE [PATH]
 * Runs openat(PATH)+close pairs for SECONDS; RATE is the target number of syscalls per second (0 = as fast as
 * one core can). Prints "<syscalls> <elapsed seconds>" on stdout.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "pace.h"

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s SECONDS RATE [PATH]\n", argv[0]);
        return 2;
    }
    double seconds = atof(argv[1]);
    double rate = atof(argv[2]);
    const char *path = argc > 3 ? argv[3] : "/etc/hostname";
    double start = now(), end = start + seconds;
    long long calls = 0;
    const int chunk = 256; /* syscall pairs between clock checks */
    for (;;) {
        for (int i = 0; i < chunk; i++) {
            int fd = openat(AT_FDCWD, path, O_RDONLY);
            if (fd >= 0)
                close(fd);
        }
        calls += 2 * chunk;
        double t = now();
        if (t >= end)
            break;
        pace(start, calls, rate);
    }
    printf("%lld %.6f\n", calls, now() - start);
    return 0;
}
