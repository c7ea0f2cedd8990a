// SPDX-License-Identifier: GPL-2.0-or-later
// Bounded UDP SIP flood: flood SRC DST COUNT SECONDS — sends COUNT REGISTER datagrams (distinct
// branches) from SRC to DST:5060 with sendmmsg, stopping after SECONDS whatever the count.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: flood SRC DST COUNT SECONDS\n"); return 2; }
    long count = atol(argv[3]); double seconds = atof(argv[4]);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in src = {0}, dst = {0};
    src.sin_family = dst.sin_family = AF_INET;
    inet_pton(AF_INET, argv[1], &src.sin_addr); src.sin_port = htons(5062);
    inet_pton(AF_INET, argv[2], &dst.sin_addr); dst.sin_port = htons(5060);
    if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0) { perror("bind"); return 1; }
    enum { B = 64 };
    static char buf[B][512]; struct mmsghdr m[B]; struct iovec v[B];
    struct timespec t0, t; clock_gettime(CLOCK_MONOTONIC, &t0);
    long sent = 0;
    while (sent < count) {
        int n = 0;
        for (; n < B && sent + n < count; n++) {
            int len = snprintf(buf[n], sizeof buf[n],
                "REGISTER sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:5062;branch=z9hG4bK-%ld\r\nMax-Forwards: 70\r\n"
                "From: <sip:100@%s>;tag=%ld\r\nTo: <sip:100@%s>\r\nCall-ID: %ld@flood\r\nCSeq: 1 REGISTER\r\n"
                "Authorization: Digest username=\"100\", realm=\"lab\", nonce=\"n\", uri=\"sip:x\", response=\"00112233445566778899aabbccddeeff\"\r\n"
                "User-Agent: bench\r\nContent-Length: 0\r\n\r\n", argv[2], argv[1], sent + n, argv[2], sent + n, argv[2], sent + n);
            v[n].iov_base = buf[n]; v[n].iov_len = len;
            memset(&m[n], 0, sizeof m[n]);
            m[n].msg_hdr.msg_name = &dst; m[n].msg_hdr.msg_namelen = sizeof dst;
            m[n].msg_hdr.msg_iov = &v[n]; m[n].msg_hdr.msg_iovlen = 1;
        }
        int r = sendmmsg(fd, m, n, 0);
        if (r > 0) sent += r;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 > seconds) break;
    }
    clock_gettime(CLOCK_MONOTONIC, &t);
    printf("sent %ld in %.2f s\n", sent, (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9);
    return 0;
}
