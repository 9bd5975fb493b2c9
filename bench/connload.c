/* Connection load generator for bench/bench_capture.py --load connect: a server's accept loop on one core.
 *
 * usage: connload SECONDS RATE
 * For SECONDS, connects a TCP socket to a listener of this process on 127.0.0.1, accepts it and closes both
 * ends: six syscalls a round (socket, setsockopt, connect, accept, close, close), five of them events the
 * sensor traces. RATE is the target number of syscalls per second (0 = as fast as one core can). Prints
 * "<syscalls> <elapsed seconds>" on stdout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pace.h"

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s SECONDS RATE\n", argv[0]);
        return 2;
    }
    double seconds = atof(argv[1]);
    double rate = atof(argv[2]);
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    int one = 1;
    if (listener < 0 || setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(listener, 128) != 0 ||
        getsockname(listener, (struct sockaddr *)&addr, &len) != 0) {
        perror("listener");
        return 1;
    }
    double start = now(), end = start + seconds;
    long long calls = 0;
    const int chunk = 64; /* rounds between clock checks */
    for (;;) {
        for (int i = 0; i < chunk; i++) {
            int client = socket(AF_INET, SOCK_STREAM, 0);
            if (client < 0)
                continue;
            /* SO_LINGER 0: closing the client first resets the connection, so no TIME_WAIT socket is left per
             * round (a few seconds flat out would exhaust the loopback's ephemeral ports otherwise). */
            struct linger reset = {.l_onoff = 1, .l_linger = 0};
            setsockopt(client, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
            int server = -1;
            if (connect(client, (const struct sockaddr *)&addr, sizeof addr) == 0)
                server = accept(listener, NULL, NULL);
            close(client);
            if (server >= 0)
                close(server);
        }
        calls += 6 * chunk;
        double t = now();
        if (t >= end)
            break;
        pace(start, calls, rate);
    }
    printf("%lld %.6f\n", calls, now() - start);
    return 0;
}
