/* I/O load generator for bench/bench_capture.py --load io: reads and writes of 64 bytes on one core.
 *
 * usage: ioload SECONDS RATE
 * For SECONDS, reads 64 bytes from /dev/zero and writes them to /dev/null, a pair of syscalls whose events
 * carry data (when a rule names read and write). RATE is the target number of syscalls per second (0 = as fast
 * as one core can). Prints "<syscalls> <elapsed seconds>" on stdout.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "pace.h"

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s SECONDS RATE\n", argv[0]);
        return 2;
    }
    double seconds = atof(argv[1]);
    double rate = atof(argv[2]);
    int zero = open("/dev/zero", O_RDONLY), null = open("/dev/null", O_WRONLY);
    if (zero < 0 || null < 0) {
        perror("open");
        return 1;
    }
    char buf[64];
    double start = now(), end = start + seconds;
    long long calls = 0;
    const int chunk = 256; /* syscall pairs between clock checks */
    for (;;) {
        for (int i = 0; i < chunk; i++) {
            if (read(zero, buf, sizeof buf) == sizeof buf)
                buf[0] = (char)i;
            if (write(null, buf, sizeof buf) < 0)
                break;
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
