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

// Terminal helpers for exec -t.
int sh_openpty(int *master, int *slave);
int sh_set_winsize(int fd, unsigned short rows, unsigned short cols);
