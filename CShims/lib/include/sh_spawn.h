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

// A helper program (ip, nft, a CNI plugin) run by the agent: its stdin, stdout and stderr are
// the given fds, and with netns_fd >= 0 it runs in that network namespace (the node's, when
// the node's pods live in a namespace other than the agent's own).
struct sh_command_spawn {
    const char *path;
    char *const *argv;
    char *const *envp;
    int stdio[3];
    int netns_fd;          // -1: the agent's network namespace
    const char *hostname;  // non-NULL: a UTS namespace of its own with this host name (a lab node)
    int new_session;       // non-zero: setsid(), so the process outlives whoever started it
};

// clone3 + (setns) + execve, reporting like sh_spawn_sandbox: 1 signals, 2 setns, 3 fds, 4 execve,
// 5 hostname, 6 setsid.
int sh_spawn_command(const struct sh_command_spawn *spec, pid_t *pid, int *pidfd, int *failed_step);
