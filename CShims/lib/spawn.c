// The sandbox spawn: clone3 from the multi-threaded agent, then execve.
//
// The child of a multi-threaded process may only make async-signal-safe calls: glibc's fork
// handlers did not run, so malloc or stdio locks may be held by threads that no longer exist.
// Everything here is a raw syscall on memory the parent prepared.
#include "sh_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define FD_FLOOR 16  // where the child parks fds before placing them at 0-3

static void child_fail(int errpipe, int step, int err) {
    int msg[2] = {step, err};
    ssize_t unused = write(errpipe, msg, sizeof(msg));
    (void)unused;
    _exit(127);
}

static void reset_signals(int errpipe);

static void child(const struct sh_sandbox_spawn *s, int errpipe) {
    reset_signals(errpipe);
    for (int i = 0; i < s->n_cgroup_procs_fds; i++) {
        if (write(s->cgroup_procs_fds[i], "0", 1) < 0) child_fail(errpipe, 2, errno);
    }
    int listen_fd = fcntl(s->listen_fd, F_DUPFD_CLOEXEC, FD_FLOOR);
    int log_fd = s->log_fd >= 0 ? fcntl(s->log_fd, F_DUPFD_CLOEXEC, FD_FLOOR) : -1;
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (listen_fd < 0 || null_fd < 0 || (s->log_fd >= 0 && log_fd < 0)) child_fail(errpipe, 3, errno);
    if (dup2(null_fd, 0) < 0 || dup2(log_fd >= 0 ? log_fd : null_fd, 1) < 0 ||
        dup2(log_fd >= 0 ? log_fd : null_fd, 2) < 0 || dup2(listen_fd, 3) < 0) {
        child_fail(errpipe, 3, errno);
    }
    // Everything else the agent had open closes at exec.
    if (syscall(SYS_close_range, 4, ~0U, CLOSE_RANGE_CLOEXEC) < 0) child_fail(errpipe, 3, errno);
    execve(s->path, s->argv, s->envp);
    child_fail(errpipe, 4, errno);
}

// Default dispositions and an empty mask: the agent's own must not leak into a child.
static void reset_signals(int errpipe) {
    sigset_t none;
    sigemptyset(&none);
    if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof(uint64_t)) < 0) child_fail(errpipe, 1, errno);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < 65; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(uint64_t));
    }
}

static void command_child(const struct sh_command_spawn *s, int errpipe) {
    reset_signals(errpipe);
    if (s->netns_fd >= 0 && syscall(SYS_setns, s->netns_fd, CLONE_NEWNET) < 0) child_fail(errpipe, 2, errno);
    if (s->hostname) {
        if (syscall(SYS_unshare, CLONE_NEWUTS) < 0) child_fail(errpipe, 5, errno);
        if (syscall(SYS_sethostname, s->hostname, strlen(s->hostname)) < 0) child_fail(errpipe, 5, errno);
    }
    if (s->new_session && syscall(SYS_setsid) < 0) child_fail(errpipe, 6, errno);
    // Parked above 2 first, so that placing one cannot overwrite another still to be placed.
    int parked[3];
    for (int i = 0; i < 3; i++) {
        parked[i] = fcntl(s->stdio[i], F_DUPFD_CLOEXEC, FD_FLOOR);
        if (parked[i] < 0) child_fail(errpipe, 3, errno);
    }
    for (int i = 0; i < 3; i++) {
        if (dup2(parked[i], i) < 0) child_fail(errpipe, 3, errno);
    }
    if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) child_fail(errpipe, 3, errno);
    execve(s->path, s->argv, s->envp);
    child_fail(errpipe, 4, errno);
}

// clone3 with a pidfd; the child runs `body` and never returns. The parent learns of a failure
// before exec through a close-on-exec pipe: EOF means the exec happened.
static int spawn_with_error_pipe(uint64_t flags, int cgroup_dir_fd, void (*body)(const void *, int), const void *arg,
                                 pid_t *pid_out, int *pidfd_out, int *failed_step) {
    *failed_step = 0;
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0) return -errno;
    int pidfd = -1;
    struct clone_args args;
    memset(&args, 0, sizeof(args));
    args.flags = flags | CLONE_PIDFD;
    args.pidfd = (uint64_t)(uintptr_t)&pidfd;
    args.exit_signal = SIGCHLD;
    if (cgroup_dir_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t)cgroup_dir_fd;
    }
    long pid = syscall(SYS_clone3, &args, sizeof(args));
    if (pid == 0) {
        close(pipefd[0]);
        body(arg, pipefd[1]);
        _exit(127);
    }
    int clone_errno = errno;
    close(pipefd[1]);
    if (pid < 0) {
        close(pipefd[0]);
        return -clone_errno;
    }
    int msg[2];
    ssize_t n;
    do {
        n = read(pipefd[0], msg, sizeof(msg));
    } while (n < 0 && errno == EINTR);
    close(pipefd[0]);
    if (n == (ssize_t)sizeof(msg)) {
        // The child failed before exec: collect it so no zombie is left.
        siginfo_t info;
        waitid(P_PID, (id_t)pid, &info, WEXITED);
        close(pidfd);
        *failed_step = msg[0];
        return -msg[1];
    }
    *pid_out = (pid_t)pid;
    *pidfd_out = pidfd;
    return 0;
}

static void sandbox_body(const void *arg, int errpipe) { child((const struct sh_sandbox_spawn *)arg, errpipe); }
static void command_body(const void *arg, int errpipe) { command_child((const struct sh_command_spawn *)arg, errpipe); }

int sh_spawn_sandbox(const struct sh_sandbox_spawn *s, pid_t *pid_out, int *pidfd_out, int *failed_step) {
    return spawn_with_error_pipe(s->clone_flags, s->cgroup_dir_fd, sandbox_body, s, pid_out, pidfd_out, failed_step);
}

int sh_spawn_command(const struct sh_command_spawn *s, pid_t *pid_out, int *pidfd_out, int *failed_step) {
    return spawn_with_error_pipe(0, -1, command_body, s, pid_out, pidfd_out, failed_step);
}
