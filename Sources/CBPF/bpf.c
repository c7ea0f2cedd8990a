// SPDX-License-Identifier: GPL-2.0-or-later
#include "CBPF.h"
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int sys_bpf(int cmd, union bpf_attr *attr) {
    return (int)syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

int sipwarden_bpf_lru_hash_create(uint32_t key_size, uint32_t value_size, uint32_t max_entries) {
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.map_type = BPF_MAP_TYPE_LRU_HASH;
    a.key_size = key_size;
    a.value_size = value_size;
    a.max_entries = max_entries;
    return sys_bpf(BPF_MAP_CREATE, &a);
}

int sipwarden_bpf_map_update(int map_fd, const void *key, const void *value) {
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.map_fd = (uint32_t)map_fd;
    a.key = (uint64_t)(uintptr_t)key;
    a.value = (uint64_t)(uintptr_t)value;
    a.flags = BPF_ANY;
    return sys_bpf(BPF_MAP_UPDATE_ELEM, &a);
}

int sipwarden_bpf_map_delete(int map_fd, const void *key) {
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.map_fd = (uint32_t)map_fd;
    a.key = (uint64_t)(uintptr_t)key;
    return sys_bpf(BPF_MAP_DELETE_ELEM, &a);
}

int sipwarden_bpf_map_lookup(int map_fd, const void *key, void *value) {
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.map_fd = (uint32_t)map_fd;
    a.key = (uint64_t)(uintptr_t)key;
    a.value = (uint64_t)(uintptr_t)value;
    return sys_bpf(BPF_MAP_LOOKUP_ELEM, &a);
}

int sipwarden_bpf_socket_filter_load(const void *instructions, uint32_t count, char *log, uint32_t log_size) {
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    a.insns = (uint64_t)(uintptr_t)instructions;
    a.insn_cnt = count;
    a.license = (uint64_t)(uintptr_t)"GPL";
    if (log != NULL && log_size > 0) {
        log[0] = 0;
        a.log_buf = (uint64_t)(uintptr_t)log;
        a.log_size = log_size;
        a.log_level = 1;
    }
    int fd = sys_bpf(BPF_PROG_LOAD, &a);
    if (fd < 0 && log != NULL && log_size > 0) {
        // Retry without a log: a too-small log buffer fails the load with ENOSPC.
        a.log_buf = 0;
        a.log_size = 0;
        a.log_level = 0;
        int again = sys_bpf(BPF_PROG_LOAD, &a);
        if (again >= 0) return again;
    }
    return fd;
}

int sipwarden_bpf_program_stats(int prog_fd, uint64_t *run_time_ns, uint64_t *run_count) {
    struct bpf_prog_info info;
    memset(&info, 0, sizeof info);
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.info.bpf_fd = (uint32_t)prog_fd;
    a.info.info_len = sizeof info;
    a.info.info = (uint64_t)(uintptr_t)&info;
    int r = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a);
    if (r == 0) {
        *run_time_ns = info.run_time_ns;
        *run_count = info.run_cnt;
    }
    return r;
}
