// shoal-sandbox: one per pod. Holds the pod's namespaces, forks the pod's processes on the
// agent's request, reaps them, keeps their exit records until the agent acknowledges them, and
// writes their logs. See docs/ARCHITECTURE.md.
//
// Usage (the agent starts it; fd 3 is a listening SOCK_SEQPACKET socket):
//   shoal-sandbox [--hostname NAME] [--loopback]
//
// Single-threaded and event-driven: one epoll over the listener, the agent connection, a
// signalfd and the log pipes. Nothing here polls.
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define LISTEN_FD 3
#define MAX_PROCS 128

struct proc {
    int used;
    char id[SH_ID_MAX];
    pid_t pid;
    int pidfd;
    int running;
    int status;
    int64_t start_ns, exit_ns;
    int out_fd, err_fd;  // log pipes' read ends, -1 when closed
    int held_fd;         // an fd the agent asked us to keep open (SH_MSG_HOLD), -1 when none
    struct sb_log *log;
};

// epoll tags: small integers for the fixed fds, otherwise (proc index << 1 | is_stderr) + TAG_BASE.
enum { TAG_LISTEN = 1, TAG_CONN = 2, TAG_SIGNAL = 3, TAG_BASE = 16 };

static struct proc procs[MAX_PROCS];
static int epfd = -1, conn = -1, sigfd = -1, own_pidns = -1;
static int shutting_down;

static void send_or_drop(const void *msg, size_t len, const int *fds, int nfds) {
    if (conn < 0) return;
    int r = sh_send_msg(conn, msg, len, fds, nfds);
    if (r < 0) sb_logf("send to agent: %s", strerror(-r));
}

static void send_error(int err, const char *what) {
    struct sh_error e = {.h = {.type = SH_MSG_ERROR, .size = sizeof(e)}, .err = err};
    snprintf(e.message, sizeof(e.message), "%s", what);
    send_or_drop(&e, sizeof(e), NULL, 0);
}

static void send_ok(void) {
    struct sh_msg_header h = {.type = SH_MSG_OK, .size = sizeof(h)};
    send_or_drop(&h, sizeof(h), NULL, 0);
}

static void fill_proc(const struct proc *p, struct sh_proc *m, uint32_t type) {
    memset(m, 0, sizeof(*m));
    m->h.type = type;
    m->h.size = sizeof(*m);
    memcpy(m->id, p->id, SH_ID_MAX);
    m->pid = p->pid;
    m->running = p->running;
    m->status = p->status;
    m->start_ns = p->start_ns;
    m->exit_ns = p->exit_ns;
}

static struct proc *find_id(const char *id) {
    for (int i = 0; i < MAX_PROCS; i++) {
        if (procs[i].used && strncmp(procs[i].id, id, SH_ID_MAX) == 0) return &procs[i];
    }
    return NULL;
}

static void watch(int fd, uint64_t tag) {
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) sb_logf("epoll add: %s", strerror(errno));
}

static void close_pipe(struct proc *p, int is_stderr) {
    int *fd = is_stderr ? &p->err_fd : &p->out_fd;
    if (*fd < 0) return;
    epoll_ctl(epfd, EPOLL_CTL_DEL, *fd, NULL);
    close(*fd);
    *fd = -1;
    sb_log_flush(p->log, is_stderr);
    if (p->out_fd < 0 && p->err_fd < 0) {
        sb_log_close(p->log);
        p->log = NULL;
    }
}

static void pump(struct proc *p, int is_stderr) {
    int fd = is_stderr ? p->err_fd : p->out_fd;
    if (fd >= 0 && sb_log_pump(p->log, fd, is_stderr) == 0) close_pipe(p, is_stderr);
}

static void release(struct proc *p) {
    close_pipe(p, 0);
    close_pipe(p, 1);
    if (p->pidfd >= 0) close(p->pidfd);
    if (p->held_fd >= 0) close(p->held_fd);
    memset(p, 0, sizeof(*p));
    p->pidfd = p->out_fd = p->err_fd = p->held_fd = -1;
}

// ---- spawn ----

static int make_log_pipes(struct proc *p, const struct sh_spawn_req *req, int *child_out, int *child_err) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) < 0) return -errno;
    if (pipe2(err, O_CLOEXEC) < 0) {
        int e = errno;
        close(out[0]);
        close(out[1]);
        return -e;
    }
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(err[0], F_SETFL, O_NONBLOCK);
    p->out_fd = out[0];
    p->err_fd = err[0];
    *child_out = out[1];
    *child_err = err[1];
    p->log = sb_log_open(req->log_path, req->log_max_size, req->log_max_files);
    return 0;
}

static void handle_spawn(const struct sh_spawn_req *req, size_t len, int *fds, int nfds) {
    if (len != sizeof(*req) || req->id[0] == '\0' || memchr(req->id, '\0', SH_ID_MAX) == NULL) {
        send_error(EINVAL, "malformed spawn request");
        return;
    }
    if (find_id(req->id) != NULL) {
        send_error(EEXIST, "a process with this id exists in the sandbox");
        return;
    }
    struct proc *p = NULL;
    for (int i = 0; i < MAX_PROCS && p == NULL; i++) {
        if (!procs[i].used) p = &procs[i];
    }
    if (p == NULL) {
        send_error(ENOSPC, "too many processes in this sandbox");
        return;
    }
    int program_fd = (req->program_fd >= 0 && req->program_fd < nfds) ? fds[req->program_fd] : -1;
    int errpipe = (req->errpipe_fd >= 0 && req->errpipe_fd < nfds) ? fds[req->errpipe_fd] : -1;
    if (program_fd < 0 || errpipe < 0) {
        send_error(EBADF, "spawn request lacks the program or the error pipe");
        return;
    }
    struct stat sb;
    if (fstat(program_fd, &sb) < 0 || sb.st_size <= 0) {
        send_error(EINVAL, "empty program");
        return;
    }
    void *prog = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, program_fd, 0);
    if (prog == MAP_FAILED) {
        send_error(errno, "map program");
        return;
    }
    if (sb_program_validate(prog, (size_t)sb.st_size) < 0) {
        munmap(prog, (size_t)sb.st_size);
        send_error(EINVAL, "malformed program");
        return;
    }

    memset(p, 0, sizeof(*p));
    p->pidfd = p->out_fd = p->err_fd = p->held_fd = -1;
    int child_out = -1, child_err = -1;
    if (req->flags & SH_SPAWN_LOG) {
        int r = make_log_pipes(p, req, &child_out, &child_err);
        if (r < 0) {
            munmap(prog, (size_t)sb.st_size);
            send_error(-r, "log pipes");
            return;
        }
    } else {
        child_out = (req->stdout_fd >= 0 && req->stdout_fd < nfds) ? fds[req->stdout_fd] : -1;
        child_err = (req->stderr_fd >= 0 && req->stderr_fd < nfds) ? fds[req->stderr_fd] : -1;
    }

    // A PID namespace is chosen for the children of the caller, so enter the target one just
    // for this clone and come back (the sandbox is single-threaded; nothing else forks meanwhile).
    int pidns = (req->pidns_fd >= 0 && req->pidns_fd < nfds) ? fds[req->pidns_fd] : -1;
    if (pidns >= 0 && setns(pidns, CLONE_NEWPID) < 0) {
        int e = errno;
        munmap(prog, (size_t)sb.st_size);
        release(p);
        if (req->flags & SH_SPAWN_LOG) {
            close(child_out);
            close(child_err);
        }
        send_error(e, "setns(pid)");
        return;
    }
    int pidfd = -1;
    struct clone_args args = {
        .flags = req->clone_flags | CLONE_PIDFD,
        .pidfd = (uint64_t)(uintptr_t)&pidfd,
        .exit_signal = SIGCHLD,
    };
    int cgroup = (req->cgroup_fd >= 0 && req->cgroup_fd < nfds) ? fds[req->cgroup_fd] : -1;
    if (cgroup >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t)cgroup;
    }
    long pid = syscall(SYS_clone3, &args, sizeof(args));
    if (pid == 0) {
        sb_program_run(prog, req, fds, nfds, errpipe, child_out, child_err);
    }
    int clone_errno = errno;
    if (pidns >= 0 && setns(own_pidns, CLONE_NEWPID) < 0) sb_logf("restore pid ns: %s", strerror(errno));
    munmap(prog, (size_t)sb.st_size);
    if (req->flags & SH_SPAWN_LOG) {
        close(child_out);
        close(child_err);
    }
    if (pid < 0) {
        release(p);
        send_error(clone_errno, "clone3");
        return;
    }

    p->used = 1;
    memcpy(p->id, req->id, SH_ID_MAX);
    p->pid = (pid_t)pid;
    p->pidfd = pidfd;
    p->running = 1;
    p->start_ns = sb_now_ns();
    int index = (int)(p - procs);
    if (p->out_fd >= 0) watch(p->out_fd, TAG_BASE + ((uint64_t)index << 1));
    if (p->err_fd >= 0) watch(p->err_fd, TAG_BASE + ((uint64_t)index << 1 | 1));

    struct sh_spawned m = {.h = {.type = SH_MSG_SPAWNED, .size = sizeof(m)}, .pid = p->pid, .start_ns = p->start_ns};
    send_or_drop(&m, sizeof(m), &p->pidfd, 1);
}

// ---- requests ----

static void handle_list(void) {
    for (int i = 0; i < MAX_PROCS; i++) {
        if (!procs[i].used) continue;
        struct sh_proc m;
        fill_proc(&procs[i], &m, SH_MSG_PROC);
        // A running process comes with its pidfd, then the fd held for it, if any.
        int fds[2], nfds = 0;
        if (procs[i].running && procs[i].pidfd >= 0) {
            fds[nfds++] = procs[i].pidfd;
            if (procs[i].held_fd >= 0) fds[nfds++] = procs[i].held_fd;
        }
        send_or_drop(&m, sizeof(m), nfds ? fds : NULL, nfds);
    }
    struct sh_msg_header end = {.type = SH_MSG_LIST_END, .size = sizeof(end)};
    send_or_drop(&end, sizeof(end), NULL, 0);
}

// Keeps a copy of the agent's terminal master of a container, so that the container does not
// lose its terminal (SIGHUP) when the agent dies; LIST hands it to the next agent.
static void handle_hold(const struct sh_id_req *req, size_t len, int *fds, int nfds) {
    if (len != sizeof(*req) || memchr(req->id, '\0', SH_ID_MAX) == NULL || nfds != 1) {
        send_error(EINVAL, "malformed hold request");
        return;
    }
    struct proc *p = find_id(req->id);
    if (p == NULL || !p->running) {
        send_error(ENOENT, "no such running process");
        return;
    }
    if (p->held_fd >= 0) close(p->held_fd);
    p->held_fd = fds[0];
    fds[0] = -1;  // ours now
    send_ok();
}

static void handle_forget(const struct sh_id_req *req, size_t len) {
    if (len != sizeof(*req) || memchr(req->id, '\0', SH_ID_MAX) == NULL) {
        send_error(EINVAL, "malformed forget request");
        return;
    }
    struct proc *p = find_id(req->id);
    if (p == NULL) {
        send_error(ENOENT, "no such process");
        return;
    }
    if (p->running) {
        send_error(EBUSY, "process is still running");
        return;
    }
    release(p);
    send_ok();
}

static void reap(void);

static void handle_shutdown(void) {
    shutting_down = 1;
    for (int i = 0; i < MAX_PROCS; i++) {
        if (procs[i].used && procs[i].running && procs[i].pidfd >= 0) {
            syscall(SYS_pidfd_send_signal, procs[i].pidfd, SIGKILL, NULL, 0);
        }
    }
    // Block until every tracked child is reaped, so the agent's OK means "nothing runs".
    for (;;) {
        int left = 0;
        for (int i = 0; i < MAX_PROCS; i++) left += procs[i].used && procs[i].running;
        if (left == 0) break;
        siginfo_t info;
        memset(&info, 0, sizeof(info));
        if (waitid(P_ALL, 0, &info, WEXITED | WNOWAIT) < 0 && errno == ECHILD) break;
        reap();
    }
    send_ok();
}

static void handle_conn(void) {
    union {
        struct sh_msg_header h;
        char buf[SH_MSG_MAX];
    } msg;
    int fds[SH_MAX_FDS], nfds = 0;
    ssize_t n = sh_recv_msg(conn, msg.buf, sizeof(msg.buf), fds, &nfds);
    if (n <= 0) {
        // The agent went away (or restarts); keep the pod running and wait for it.
        if (n < 0) sb_logf("agent connection: %s", strerror((int)-n));
        epoll_ctl(epfd, EPOLL_CTL_DEL, conn, NULL);
        close(conn);
        conn = -1;
        return;
    }
    if ((size_t)n < sizeof(msg.h) || msg.h.size != (uint32_t)n) {
        send_error(EINVAL, "malformed message");
    } else {
        switch (msg.h.type) {
        case SH_MSG_SPAWN:
            handle_spawn((const struct sh_spawn_req *)msg.buf, (size_t)n, fds, nfds);
            break;
        case SH_MSG_LIST:
            handle_list();
            break;
        case SH_MSG_FORGET:
            handle_forget((const struct sh_id_req *)msg.buf, (size_t)n);
            break;
        case SH_MSG_HOLD:
            handle_hold((const struct sh_id_req *)msg.buf, (size_t)n, fds, nfds);
            break;
        case SH_MSG_SHUTDOWN:
            handle_shutdown();
            break;
        default:
            send_error(ENOSYS, "unknown request");
        }
    }
    for (int i = 0; i < nfds; i++) if (fds[i] >= 0) close(fds[i]);
}

static void handle_accept(void) {
    int c = accept4(LISTEN_FD, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) return;
    // One agent at a time: a new connection means the agent restarted; the old one is stale.
    if (conn >= 0) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, conn, NULL);
        close(conn);
    }
    conn = c;
    watch(conn, TAG_CONN);
}

// ---- children ----

static void reap(void) {
    for (;;) {
        siginfo_t info;
        memset(&info, 0, sizeof(info));
        if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG) < 0 || info.si_pid == 0) return;
        struct proc *p = NULL;
        for (int i = 0; i < MAX_PROCS; i++) {
            if (procs[i].used && procs[i].running && procs[i].pid == info.si_pid) p = &procs[i];
        }
        // Orphans of a shared PID namespace or of a target namespace land here too: reaped, untracked.
        if (p == NULL) continue;
        p->running = 0;
        p->exit_ns = sb_now_ns();
        p->status = info.si_code == CLD_EXITED ? (info.si_status & 0xff) << 8 : (info.si_status & 0x7f);
        if (p->pidfd >= 0) {
            close(p->pidfd);
            p->pidfd = -1;
        }
        if (p->held_fd >= 0) {
            close(p->held_fd);
            p->held_fd = -1;
        }
        // Whatever the process wrote before exiting is in its pipes now: log it before
        // reporting the exit, so the log is complete when the agent hears of it.
        pump(p, 0);
        pump(p, 1);
        struct sh_proc m;
        fill_proc(p, &m, SH_MSG_EXITED);
        send_or_drop(&m, sizeof(m), NULL, 0);
    }
}

static void handle_signal(void) {
    struct signalfd_siginfo si;
    while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGCHLD) {
            reap();
        } else {
            // SIGTERM/SIGINT: end the pod as SHUTDOWN would (nothing may outlive the sandbox).
            handle_shutdown();
            exit(0);
        }
    }
}

// ---- setup ----

static int loopback_up(void) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    int r = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (r == 0) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        r = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    int e = errno;
    close(s);
    return r < 0 ? -e : 0;
}

int main(int argc, char **argv) {
    const char *hostname = NULL;
    int loopback = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--hostname") == 0 && i + 1 < argc) hostname = argv[++i];
        else if (strcmp(argv[i], "--loopback") == 0) loopback = 1;
        else {
            sb_logf("shoal-sandbox: unknown argument %s", argv[i]);
            return 2;
        }
    }
    for (int i = 0; i < MAX_PROCS; i++) procs[i].pidfd = procs[i].out_fd = procs[i].err_fd = procs[i].held_fd = -1;

    if (hostname != NULL && sethostname(hostname, strlen(hostname)) < 0) {
        sb_logf("sethostname: %s", strerror(errno));
        return 1;
    }
    if (loopback) {
        int r = loopback_up();
        if (r < 0) {
            sb_logf("loopback up: %s", strerror(-r));
            return 1;
        }
    }
    // Orphans of processes spawned into other PID namespaces come back to us, not to init.
    if (getpid() != 1) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (sigfd < 0 || epfd < 0 || fcntl(LISTEN_FD, F_SETFD, FD_CLOEXEC) < 0) {
        sb_logf("setup: %s", strerror(errno));
        return 1;
    }
    watch(LISTEN_FD, TAG_LISTEN);
    watch(sigfd, TAG_SIGNAL);

    for (;;) {
        struct epoll_event evs[16];
        int n = epoll_wait(epfd, evs, 16, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            sb_logf("epoll_wait: %s", strerror(errno));
            return 1;
        }
        for (int i = 0; i < n; i++) {
            uint64_t tag = evs[i].data.u64;
            if (tag == TAG_LISTEN) handle_accept();
            else if (tag == TAG_CONN && conn >= 0) handle_conn();
            else if (tag == TAG_SIGNAL) handle_signal();
            else if (tag >= TAG_BASE) {
                uint64_t index = (tag - TAG_BASE) >> 1;
                if (index < MAX_PROCS && procs[index].used) pump(&procs[index], (int)((tag - TAG_BASE) & 1));
            }
        }
        if (shutting_down) return 0;
    }
}
