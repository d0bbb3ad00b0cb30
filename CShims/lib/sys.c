#include "sh_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

int sh_pidfd_open(pid_t pid) {
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : fd;
}

int sh_pidfd_send_signal(int pidfd, int sig) {
    return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

int sh_pidfd_wait(int pidfd, int *exited_code, int *signaled_sig) {
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    if (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED | WNOHANG) < 0) return -errno;
    if (info.si_pid == 0) return 0;
    *exited_code = info.si_code == CLD_EXITED ? info.si_status : -1;
    *signaled_sig = info.si_code == CLD_EXITED ? 0 : info.si_status;
    return 1;
}

long long sh_statfs_type(const char *path) {
    struct statfs sb;
    if (statfs(path, &sb) < 0) return -errno;
    return (long long)sb.f_type;
}

int sh_memfd_create(const char *name) {
    int fd = memfd_create(name, MFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int sh_pipe_cloexec(int *read_end, int *write_end) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) return -errno;
    *read_end = fds[0];
    *write_end = fds[1];
    return 0;
}

int sh_wifexited(int status) { return WIFEXITED(status); }
int sh_wexitstatus(int status) { return WEXITSTATUS(status); }
int sh_wifsignaled(int status) { return WIFSIGNALED(status); }
int sh_wtermsig(int status) { return WTERMSIG(status); }

int sh_openpty(const char *ptmx, int *master, int *slave) {
    int m = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0) return -errno;
    int unlock = 0;
    if (ioctl(m, TIOCSPTLCK, &unlock) < 0) {
        int e = errno;
        close(m);
        return -e;
    }
    // TIOCGPTPEER opens the peer through the master, immune to /dev/pts races.
    int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) {
        int e = errno;
        close(m);
        return -e;
    }
    *master = m;
    *slave = s;
    return 0;
}

int sh_set_winsize(int fd, unsigned short rows, unsigned short cols) {
    struct winsize ws = {.ws_row = rows, .ws_col = cols};
    return ioctl(fd, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

int sh_epoll_create(void) {
    int fd = epoll_create1(EPOLL_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int sh_epoll_add_oneshot(int epfd, int fd, uint64_t token) {
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, .data.u64 = token};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int sh_epoll_del(int epfd, int fd) {
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
}

int sh_epoll_wait_tokens(int epfd, uint64_t *tokens, int max) {
    struct epoll_event evs[64];
    if (max > 64) max = 64;
    int n;
    do {
        n = epoll_wait(epfd, evs, max, -1);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    for (int i = 0; i < n; i++) tokens[i] = evs[i].data.u64;
    return n;
}

int sh_poll_readable_now(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n;
    do {
        n = poll(&p, 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    return n > 0 ? 1 : 0;
}

#include <linux/bpf.h>

int sh_attach_device_filter(int cgroup_fd, const void *insns, unsigned int count, char *log, unsigned int log_size) {
    static const char license[] = "Apache-2.0";
    union bpf_attr load;
    memset(&load, 0, sizeof(load));
    load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    load.insn_cnt = count;
    load.insns = (uint64_t)(uintptr_t)insns;
    load.license = (uint64_t)(uintptr_t)license;
    if (log && log_size > 0) {
        log[0] = 0;
        load.log_level = 1;
        load.log_size = log_size;
        load.log_buf = (uint64_t)(uintptr_t)log;
    }
    int prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load));
    if (prog < 0 && errno == ENOSPC && log) {
        // The log did not fit; the program may still be fine. Load it again without one.
        load.log_level = 0;
        load.log_size = 0;
        load.log_buf = 0;
        prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load));
    }
    if (prog < 0) return -errno;
    union bpf_attr attach;
    memset(&attach, 0, sizeof(attach));
    attach.target_fd = (uint32_t)cgroup_fd;
    attach.attach_bpf_fd = (uint32_t)prog;
    attach.attach_type = BPF_CGROUP_DEVICE;
    attach.attach_flags = BPF_F_ALLOW_MULTI;
    int rc = (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &attach, sizeof(attach));
    int err = errno;
    close(prog);
    return rc < 0 ? -err : 0;
}
