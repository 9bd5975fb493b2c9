/* A host's everyday churn, for bench/bench_latency.py --mix: processes, files and connections come and go.
 *
 * usage: mixload SECONDS ROUNDS DIR
 * Runs ROUNDS rounds per second (0 = as fast as it can) for SECONDS. A round: fork and exec /bin/true with
 * an argument and wait for it; create a file of a new name in DIR, write a byte, close it and unlink it;
 * connect a TCP socket to a listener of this process on 127.0.0.1, accept and close both ends. Every round
 * changes the sensor's state (a process starts and exits, an fd opens and closes, a socket gets its tuple),
 * as a busy host does all day; bench/loadgen.c's openat+close of one file changes next to nothing. Prints
 * "<rounds> <elapsed seconds>".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pace.h"

static void run_true(long round) {
    char arg[32];
    snprintf(arg, sizeof arg, "--round=%ld", round);
    pid_t child = fork();
    if (child == 0) {
        execl("/bin/true", "true", arg, (char *)NULL);
        _exit(127);
    }
    if (child > 0)
        waitpid(child, NULL, 0);
}

static void touch_file(const char *dir, long round) {
    char path[4096];
    snprintf(path, sizeof path, "%s/mix-%ld", dir, round);
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd >= 0) {
        if (write(fd, "x", 1) < 0)
            perror("write");
        close(fd);
        unlink(path);
    }
}

static void connect_once(int listener, const struct sockaddr_in *addr) {
    int client = socket(AF_INET, SOCK_STREAM, 0);
    if (client < 0)
        return;
    if (connect(client, (const struct sockaddr *)addr, sizeof *addr) == 0) {
        int server = accept(listener, NULL, NULL);
        if (server >= 0)
            close(server);
    }
    close(client);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s SECONDS ROUNDS DIR\n", argv[0]);
        return 2;
    }
    double seconds = atof(argv[1]);
    double rounds = atof(argv[2]);
    const char *dir = argv[3];
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(listener, 64) != 0 ||
        getsockname(listener, (struct sockaddr *)&addr, &len) != 0) {
        perror("listener");
        return 1;
    }
    double start = now(), end = start + seconds;
    long done = 0;
    while (now() < end) {
        run_true(done);
        touch_file(dir, done);
        connect_once(listener, &addr);
        done++;
        pace(start, done, rounds);
    }
    printf("%ld %.6f\n", done, now() - start);
    return 0;
}
