// Syscalls and macros Swift's Glibc module does not reach cleanly.
#pragma once

#include <stdint.h>
#include <sys/types.h>

int sh_pidfd_open(pid_t pid);
int sh_pidfd_send_signal(int pidfd, int sig);

// waitid(P_PIDFD, WEXITED|WNOHANG). Returns 1 and fills the fields when the child exited, 0 if
// it still runs, -errno on error (ECHILD: not our child).
int sh_pidfd_wait(int pidfd, int *exited_code, int *signaled_sig);

// The f_type of the filesystem at path, or -errno.
long long sh_statfs_type(const char *path);

int sh_memfd_create(const char *name);
int sh_pipe_cloexec(int *read_end, int *write_end);

// O_PATH needs _GNU_SOURCE, which Swift's Glibc module is not built with.
#define SH_O_PATH 010000000

// A decoded wait status, as the sandbox reports it.
int sh_wifexited(int status);
int sh_wexitstatus(int status);
int sh_wifsignaled(int status);
int sh_wtermsig(int status);

// Terminal helpers for exec -t. The pty comes from the devpts instance whose ptmx is given
// (a container's own /dev/pts/ptmx, reached through /proc/PID/root), so the container sees
// its terminal as /dev/pts/N of its own /dev/pts.
int sh_openpty(const char *ptmx, int *master, int *slave);
int sh_set_winsize(int fd, unsigned short rows, unsigned short cols);

// One-shot readiness waits on an epoll instance (the agent's reactor thread). The token comes
// back from sh_epoll_wait_tokens when fd becomes readable, hangs up or errs.
int sh_epoll_create(void);
int sh_epoll_add_oneshot(int epfd, int fd, uint64_t token);
int sh_epoll_del(int epfd, int fd);
// Waits (forever) for events; fills up to max tokens. Returns their count or -errno.
int sh_epoll_wait_tokens(int epfd, uint64_t *tokens, int max);
// A readable check without waiting: 1 readable (or hung up), 0 not, -errno on error.
int sh_poll_readable_now(int fd);

// Loads `count` eBPF instructions (8 bytes each, as struct bpf_insn) as a
// BPF_PROG_TYPE_CGROUP_DEVICE program and attaches it to the cgroup v2 directory `cgroup_fd`
// with BPF_F_ALLOW_MULTI, so that programs on parent cgroups still apply. The attachment keeps
// the program alive; its fd is closed here. Returns 0 or -errno; when the verifier refuses
// the program, its log is in `log` (NUL-terminated, at most `log_size` bytes).
int sh_attach_device_filter(int cgroup_fd, const void *insns, unsigned int count, char *log, unsigned int log_size);
