// Spawning a pod's sandbox process from the (multi-threaded) agent.
#pragma once

#include <stdint.h>
#include <sys/types.h>

struct sh_sandbox_spawn {
    const char *path;             // the shoal-sandbox executable
    char *const *argv;
    char *const *envp;
    uint64_t clone_flags;         // CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID …
    int listen_fd;                // becomes fd 3
    int log_fd;                   // becomes fds 1 and 2; -1: /dev/null
    const int *cgroup_procs_fds;  // cgroup v1: the child writes "0" to each before exec
    int n_cgroup_procs_fds;
    int cgroup_dir_fd;            // cgroup v2: CLONE_INTO_CGROUP; -1: none
};

// clone3 + execve. On success returns 0 with the pid and a pidfd (close-on-exec). On failure
// returns -errno and, when the child got as far as running, *failed_step says where:
// 1 signals, 2 cgroup, 3 fds, 4 execve.
int sh_spawn_sandbox(const struct sh_sandbox_spawn *spec, pid_t *pid, int *pidfd, int *failed_step);
