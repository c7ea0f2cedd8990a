// SPDX-License-Identifier: GPL-2.0-or-later
// The few bpf(2) commands the capture sensor's banned-source filter needs. Swift cannot
// call the variadic syscall(2), and this toolchain's Glibc module does not expose
// linux/bpf.h, so this shim wraps them. Every function returns -1 and sets errno on failure.
#ifndef SIPWARDEN_CBPF_H
#define SIPWARDEN_CBPF_H
#include <stdint.h>

/// BPF_MAP_CREATE of an LRU hash map (BPF_MAP_TYPE_LRU_HASH); returns the map fd.
int sipwarden_bpf_lru_hash_create(uint32_t key_size, uint32_t value_size, uint32_t max_entries);
/// BPF_MAP_UPDATE_ELEM with BPF_ANY.
int sipwarden_bpf_map_update(int map_fd, const void *key, const void *value);
/// BPF_MAP_DELETE_ELEM (ENOENT when absent).
int sipwarden_bpf_map_delete(int map_fd, const void *key);
/// BPF_MAP_LOOKUP_ELEM into `value`.
int sipwarden_bpf_map_lookup(int map_fd, const void *key, void *value);
/// BPF_PROG_LOAD of a BPF_PROG_TYPE_SOCKET_FILTER program (`count` 8-byte instructions,
/// licence "GPL"); the verifier's log goes to `log` (may be NULL). Returns the program fd.
int sipwarden_bpf_socket_filter_load(const void *instructions, uint32_t count, char *log, uint32_t log_size);
/// The kernel's run statistics of a program (needs sysctl kernel.bpf_stats_enabled=1 to count).
int sipwarden_bpf_program_stats(int prog_fd, uint64_t *run_time_ns, uint64_t *run_count);

#endif
