/* Fork load generator for bench/: a process holding many open fds that starts short-lived children.
 *
 * usage: forkload SECONDS RATE [FDS]
 * Holds FDS open descriptors (dups of /dev/null; 16 by default), then for SECONDS forks children that exit at
 * once, each reaped before the next: a shell or a server spawning helpers, whose every child starts with a copy
 * of its fd table. RATE is the target number of forks per second (0 = as fast as one core can). Prints
 * "<forks> <elapsed seconds>".
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pace.h"

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s SECONDS RATE [FDS]\n", argv[0]);
        return 2;
    }
    double seconds = atof(argv[1]);
    double rate = atof(argv[2]);
    int wanted = argc > 3 ? atoi(argv[3]) : 16;
    struct rlimit limit = {(rlim_t)wanted + 64, (rlim_t)wanted + 64};
    setrlimit(RLIMIT_NOFILE, &limit);
    int null = open("/dev/null", O_RDONLY);
    for (int i = 1; i < wanted; i++) {
        if (dup(null) < 0) {
            perror("dup");
            return 1;
        }
    }
    double start = now(), end = start + seconds;
    long long forks = 0;
    for (;;) {
        pid_t child = fork();
        if (child == 0)
            _exit(0);
        if (child > 0) {
            waitpid(child, NULL, 0);
            forks++;
        }
        if ((forks & 15) == 0) {
            if (now() >= end)
                break;
            pace(start, forks, rate);
        }
    }
    printf("%lld %.6f\n", forks, now() - start);
    return 0;
}
