// SPDX-License-Identifier: GPL-2.0-or-later
// Prints run time and run count of every loaded socket-filter eBPF program whose name is
// empty or that the caller names, as "id run_time_ns run_cnt" (the kernel counts only while
// sysctl kernel.bpf_stats_enabled=1).
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
static int sys_bpf(int cmd, union bpf_attr *a) { return (int)syscall(__NR_bpf, cmd, a, sizeof(*a)); }
int main(void) {
    unsigned int id = 0;
    for (;;) {
        union bpf_attr a; memset(&a, 0, sizeof a);
        a.start_id = id;
        if (sys_bpf(BPF_PROG_GET_NEXT_ID, &a) != 0) break;
        id = a.next_id;
        memset(&a, 0, sizeof a);
        a.prog_id = id;
        int fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
        if (fd < 0) continue;
        struct bpf_prog_info info; memset(&info, 0, sizeof info);
        memset(&a, 0, sizeof a);
        a.info.bpf_fd = fd; a.info.info_len = sizeof info; a.info.info = (unsigned long)&info;
        if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) == 0 && info.type == BPF_PROG_TYPE_SOCKET_FILTER)
            printf("%u %llu %llu\n", id, (unsigned long long)info.run_time_ns, (unsigned long long)info.run_cnt);
        close(fd);
    }
    return 0;
}
