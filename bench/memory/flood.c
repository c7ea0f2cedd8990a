// SPDX-License-Identifier: GPL-2.0-or-later
// Spoofed-source flood inputs for the memory benchmarks (docs/BENCHMARKS.md).
//
//   cc -O2 -o flood bench/memory/flood.c
//   ./flood log N  > FILE   N Asterisk chan_sip "Wrong password" lines, one per source
//   ./flood pcap N > FILE   N REGISTERs, each answered 403 by the server, one per source
//
// Every source is distinct: the first 131 068 from 198.18.0.0/15, the rest from
// 2001:2::/48 (TEST-NET addresses only). The server is 198.18.0.1 / 2001:2::1. Frames go
// from MAC 02:00:00:00:00:01 (clients) to 02:00:00:00:00:02 (server) and back.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define V4_COUNT ((1u << 17) - 4)

static int source(uint64_t i, char *text, uint8_t raw[16]) {
    if (i < V4_COUNT) {
        uint32_t v = (198u << 24 | 18u << 16) + 4 + (uint32_t)i;
        for (int k = 0; k < 4; k++) raw[k] = (uint8_t)(v >> (24 - 8 * k));
        sprintf(text, "%u.%u.%u.%u", raw[0], raw[1], raw[2], raw[3]);
        return 0;
    }
    uint64_t j = i - V4_COUNT + 2;
    static const uint8_t prefix[6] = {0x20, 0x01, 0x00, 0x02, 0x00, 0x00};
    memcpy(raw, prefix, 6);
    raw[6] = 0;
    raw[7] = 0;
    for (int k = 0; k < 8; k++) raw[8 + k] = (uint8_t)(j >> (56 - 8 * k));
    sprintf(text, "2001:2:0:0:%x:%x:%x:%x", (unsigned)(j >> 48) & 0xffff, (unsigned)(j >> 32) & 0xffff,
            (unsigned)(j >> 16) & 0xffff, (unsigned)j & 0xffff);
    return 1;
}

static void log_flood(uint64_t n) {
    char text[64];
    uint8_t raw[16];
    for (uint64_t i = 0; i < n; i++) {
        int v6 = source(i, text, raw);
        unsigned sec = (unsigned)(i / 200000);
        printf("[2025-11-24 10:%02u:%02u] NOTICE[1234] chan_sip.c: Registration from '<sip:%u@198.18.0.1>' "
               "failed for '%s%s%s:5060' - Wrong password\n",
               sec / 60, sec % 60, (unsigned)(100 + i % 900), v6 ? "[" : "", text, v6 ? "]" : "");
    }
}

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

static size_t frame(uint8_t *out, const uint8_t *src, const uint8_t *dst, int v6, const uint8_t *smac,
                    const uint8_t *dmac, const char *payload, size_t plen) {
    size_t o = 0;
    memcpy(out, dmac, 6);
    memcpy(out + 6, smac, 6);
    o = 12;
    put16(out + o, v6 ? 0x86dd : 0x0800);
    o += 2;
    size_t udplen = 8 + plen;
    if (v6) {
        uint8_t *ip = out + o;
        memset(ip, 0, 40);
        ip[0] = 0x60;
        put16(ip + 4, (unsigned)udplen);
        ip[6] = 17;
        ip[7] = 64;
        memcpy(ip + 8, src, 16);
        memcpy(ip + 24, dst, 16);
        o += 40;
    } else {
        uint8_t *ip = out + o;
        memset(ip, 0, 20);
        ip[0] = 0x45;
        put16(ip + 2, (unsigned)(20 + udplen));
        put16(ip + 6, 0x4000);
        ip[8] = 64;
        ip[9] = 17;
        memcpy(ip + 12, src, 4);
        memcpy(ip + 16, dst, 4);
        uint32_t sum = 0;
        for (int k = 0; k < 20; k += 2) sum += (uint32_t)(ip[k] << 8 | ip[k + 1]);
        while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
        put16(ip + 10, ~sum & 0xffff);
        o += 20;
    }
    uint8_t *udp = out + o;
    put16(udp, 5060);
    put16(udp + 2, 5060);
    put16(udp + 4, (unsigned)udplen);
    put16(udp + 6, 0);
    o += 8;
    memcpy(out + o, payload, plen);
    return o + plen;
}

static void record(uint64_t t, const uint8_t *f, size_t len) {
    uint32_t h[4] = {(uint32_t)(1764064800 + t / 1000000), (uint32_t)(t % 1000000), (uint32_t)len, (uint32_t)len};
    fwrite(h, 4, 4, stdout);
    fwrite(f, 1, len, stdout);
}

static void pcap_flood(uint64_t n) {
    uint32_t gh[6] = {0xa1b2c3d4, 2 | 4 << 16, 0, 0, 65535, 1};
    fwrite(gh, 4, 6, stdout);
    static const uint8_t server4[4] = {198, 18, 0, 1};
    static const uint8_t server6[16] = {0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const uint8_t cmac[6] = {2, 0, 0, 0, 0, 1}, smac[6] = {2, 0, 0, 0, 0, 2};
    char text[64], host[70], common[300], reg[800], rsp[600];
    uint8_t raw[16], f[1600];
    for (uint64_t i = 0; i < n; i++) {
        int v6 = source(i, text, raw);
        snprintf(host, sizeof host, v6 ? "[%s]" : "%s", text);
        const char *server = v6 ? "[2001:2::1]" : "198.18.0.1";
        unsigned user = (unsigned)(100 + i % 900);
        snprintf(common, sizeof common, "Via: SIP/2.0/UDP %s:5060;branch=z9hG4bK%llx\r\nFrom: <sip:%u@%s>;tag=%llx\r\n",
                 host, (unsigned long long)i, user, server, (unsigned long long)i);
        int rl = snprintf(reg, sizeof reg,
                          "REGISTER sip:%s SIP/2.0\r\n%sTo: <sip:%u@%s>\r\nCall-ID: %llx@f\r\nCSeq: 1 REGISTER\r\n"
                          "Contact: <sip:%u@%s>\r\nMax-Forwards: 70\r\nUser-Agent: Linphone\r\nContent-Length: 0\r\n\r\n",
                          server, common, user, server, (unsigned long long)i, user, host);
        int sl = snprintf(rsp, sizeof rsp,
                          "SIP/2.0 403 Forbidden\r\n%sTo: <sip:%u@%s>;tag=s\r\nCall-ID: %llx@f\r\nCSeq: 1 REGISTER\r\n"
                          "Content-Length: 0\r\n\r\n",
                          common, user, server, (unsigned long long)i);
        const uint8_t *dst = v6 ? server6 : server4;
        uint64_t t = i * 10; // 100 000 sources per second
        record(t, f, frame(f, raw, dst, v6, cmac, smac, reg, (size_t)rl));
        record(t + 1, f, frame(f, dst, raw, v6, smac, cmac, rsp, (size_t)sl));
    }
}

int main(int argc, char **argv) {
    if (argc != 3 || (strcmp(argv[1], "log") && strcmp(argv[1], "pcap"))) {
        fprintf(stderr, "usage: flood log|pcap N\n");
        return 2;
    }
    static char buf[1 << 20];
    setvbuf(stdout, buf, _IOFBF, sizeof buf);
    uint64_t n = strtoull(argv[2], NULL, 10);
    if (!strcmp(argv[1], "log")) log_flood(n); else pcap_flood(n);
    return fflush(stdout) == 0 ? 0 : 1;
}
