// See sh_seccomp.h. Everything here runs in the agent, never between fork and exec, except
// sh_seccomp_selftest's child, which only makes raw system calls.
#include "sh_seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef AF_ALG
#define AF_ALG 38
#endif

struct sh_seccomp_filter {
    scmp_filter_ctx ctx;
};

static int to_scmp_action(uint32_t action, uint32_t data, uint32_t *out) {
    switch (action) {
    case SH_SCMP_ACT_KILL_THREAD: *out = SCMP_ACT_KILL_THREAD; return 0;
    case SH_SCMP_ACT_KILL_PROCESS: *out = SCMP_ACT_KILL_PROCESS; return 0;
    case SH_SCMP_ACT_TRAP: *out = SCMP_ACT_TRAP; return 0;
    case SH_SCMP_ACT_ERRNO: *out = SCMP_ACT_ERRNO(data & 0xffff); return 0;
    case SH_SCMP_ACT_TRACE: *out = SCMP_ACT_TRACE(data & 0xffff); return 0;
    case SH_SCMP_ACT_LOG: *out = SCMP_ACT_LOG; return 0;
    case SH_SCMP_ACT_ALLOW: *out = SCMP_ACT_ALLOW; return 0;
    default: return -EINVAL;
    }
}

static int to_scmp_op(uint32_t op, enum scmp_compare *out) {
    switch (op) {
    case SH_SCMP_CMP_NE: *out = SCMP_CMP_NE; return 0;
    case SH_SCMP_CMP_LT: *out = SCMP_CMP_LT; return 0;
    case SH_SCMP_CMP_LE: *out = SCMP_CMP_LE; return 0;
    case SH_SCMP_CMP_EQ: *out = SCMP_CMP_EQ; return 0;
    case SH_SCMP_CMP_GE: *out = SCMP_CMP_GE; return 0;
    case SH_SCMP_CMP_GT: *out = SCMP_CMP_GT; return 0;
    case SH_SCMP_CMP_MASKED_EQ: *out = SCMP_CMP_MASKED_EQ; return 0;
    default: return -EINVAL;
    }
}

static int resolve_arch(const char *name, uint32_t *token) {
    if (name == NULL) return -EINVAL;
    *token = seccomp_arch_resolve_name(name);
    return *token == 0 ? -EINVAL : 0;
}

int sh_seccomp_new(const char *arch, uint32_t default_action, uint32_t default_data,
                   sh_seccomp_filter **out) {
    uint32_t token, act;
    int rc;
    if (out == NULL) return -EINVAL;
    if ((rc = resolve_arch(arch, &token)) < 0) return rc;
    if ((rc = to_scmp_action(default_action, default_data, &act)) < 0) return rc;

    sh_seccomp_filter *f = calloc(1, sizeof *f);
    if (f == NULL) return -ENOMEM;
    f->ctx = seccomp_init(act);
    if (f->ctx == NULL) {
        free(f);
        return -EINVAL;
    }
    // We export the program and the sandbox sets no_new_privs itself, so libseccomp must not
    // expect to do it. TSYNC stays off: the child is single-threaded when it loads the filter.
    // Raw return codes keep errnos meaningful instead of libseccomp's generic -EFAULT.
    if ((rc = seccomp_attr_set(f->ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0 ||
        (rc = seccomp_attr_set(f->ctx, SCMP_FLTATR_CTL_TSYNC, 0)) < 0 ||
        (rc = seccomp_attr_set(f->ctx, SCMP_FLTATR_API_SYSRAWRC, 1)) < 0)
        goto fail;
    // seccomp_init starts with the host's architecture; a profile for another one replaces it.
    if (token != seccomp_arch_native()) {
        if ((rc = seccomp_arch_add(f->ctx, token)) < 0) goto fail;
        if ((rc = seccomp_arch_remove(f->ctx, SCMP_ARCH_NATIVE)) < 0) goto fail;
    }
    *out = f;
    return 0;
fail:
    seccomp_release(f->ctx);
    free(f);
    return rc;
}

int sh_seccomp_arch_add(sh_seccomp_filter *f, const char *arch) {
    uint32_t token;
    int rc;
    if (f == NULL) return -EINVAL;
    if ((rc = resolve_arch(arch, &token)) < 0) return rc;
    rc = seccomp_arch_add(f->ctx, token);
    return rc == -EEXIST ? 0 : rc;
}

int sh_seccomp_rule_add(sh_seccomp_filter *f, const char *syscall, uint32_t action, uint32_t data,
                        const struct sh_seccomp_arg *args, size_t nargs) {
    struct scmp_arg_cmp cmps[6];
    uint32_t act;
    int rc;
    if (f == NULL || syscall == NULL || nargs > 6 || (nargs > 0 && args == NULL)) return -EINVAL;
    if ((rc = to_scmp_action(action, data, &act)) < 0) return rc;
    // Resolved against the host's table, which also holds pseudo numbers for syscalls that exist
    // on other architectures only; libseccomp translates them for each architecture of the filter.
    int nr = seccomp_syscall_resolve_name(syscall);
    if (nr == __NR_SCMP_ERROR) return 1;
    for (size_t i = 0; i < nargs; i++) {
        if (args[i].index > 5) return -EINVAL;
        if ((rc = to_scmp_op(args[i].op, &cmps[i].op)) < 0) return rc;
        cmps[i].arg = args[i].index;
        cmps[i].datum_a = args[i].value;
        cmps[i].datum_b = args[i].value_two;
    }
    // Not the _exact variant: a syscall missing on one of the architectures (chown32 on x86_64)
    // is simply left out there.
    return seccomp_rule_add_array(f->ctx, act, nr, (unsigned int)nargs, nargs ? cmps : NULL);
}

int sh_seccomp_export(sh_seccomp_filter *f, uint8_t **bytes, size_t *len) {
    if (f == NULL || bytes == NULL || len == NULL) return -EINVAL;
    // libseccomp 2.5.4 only exports to a file descriptor (seccomp_export_bpf_mem is 2.6), so
    // export to an anonymous memory file and read it back.
    int fd = memfd_create("shoal-seccomp-bpf", MFD_CLOEXEC);
    if (fd < 0) return -errno;
    int rc = seccomp_export_bpf(f->ctx, fd);
    if (rc < 0) goto out;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        goto out;
    }
    size_t size = (size_t)st.st_size;
    if (size == 0 || size % sizeof(struct sock_filter) != 0) {
        rc = -EIO;
        goto out;
    }
    uint8_t *buf = malloc(size);
    if (buf == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = pread(fd, buf + got, size - got, (off_t)got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : -EIO;
            free(buf);
            goto out;
        }
        got += (size_t)n;
    }
    *bytes = buf;
    *len = size;
    rc = 0;
out:
    close(fd);
    return rc;
}

void sh_seccomp_free(sh_seccomp_filter *f) {
    if (f == NULL) return;
    seccomp_release(f->ctx);
    free(f);
}

int sh_seccomp_syscall_number(const char *arch, const char *name) {
    uint32_t token;
    if (name == NULL || resolve_arch(arch, &token) < 0) return -1;
    int nr = seccomp_syscall_resolve_name_arch(token, name);
    // Negative numbers are libseccomp's pseudo syscalls: absent from that architecture.
    return nr < 0 ? -1 : nr;
}

uint32_t sh_seccomp_audit_arch(const char *arch) {
    uint32_t token;
    if (resolve_arch(arch, &token) < 0) return 0;
    // x32 shares AUDIT_ARCH_X86_64 with x86_64; the filter tells them apart by the x32 bit.
    if (token == SCMP_ARCH_X32) return AUDIT_ARCH_X86_64;
    return token;
}

// ---- test hook ----------------------------------------------------------------------------

static int selftest_op(int op, int devnull) {
    long rc;
    switch (op) {
    case SH_SELFTEST_GETPID: rc = syscall(SYS_getpid); break;
    case SH_SELFTEST_WRITE: rc = write(devnull, "x", 1); break;
    case SH_SELFTEST_UNSHARE_NEWNS: rc = syscall(SYS_unshare, CLONE_NEWNS); break;
    case SH_SELFTEST_MOUNT:
        rc = syscall(SYS_mount, "none", "/nonexistent/shoal-seccomp-selftest", "tmpfs", 0L, NULL);
        break;
    case SH_SELFTEST_KEYCTL:
        rc = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_THREAD_KEYRING, 0L);
        break;
#ifdef SYS_clone3
    case SH_SELFTEST_CLONE3: rc = syscall(SYS_clone3, NULL, 0L); break;
#endif
    case SH_SELFTEST_CLONE_NEWNS:
    case SH_SELFTEST_FORK: {
        unsigned long flags = SIGCHLD | (op == SH_SELFTEST_CLONE_NEWNS ? CLONE_NEWNS : 0);
        // clone's argument order differs per architecture, but with a NULL stack and no
        // pointers the remaining arguments are all zero anyway.
        rc = syscall(SYS_clone, flags, 0L, 0L, 0L, 0L);
        if (rc == 0) _exit(0);
        if (rc > 0) {
            int status;
            while (waitpid((pid_t)rc, &status, 0) < 0 && errno == EINTR) {}
            rc = 0;
        }
        break;
    }
    case SH_SELFTEST_SOCKET_VSOCK: rc = socket(AF_VSOCK, SOCK_STREAM, 0); break;
    case SH_SELFTEST_SOCKET_ALG: rc = socket(AF_ALG, SOCK_SEQPACKET, 0); break;
    case SH_SELFTEST_SOCKET_INET: rc = socket(AF_INET, SOCK_STREAM, 0); break;
    case SH_SELFTEST_PERSONALITY_QUERY: rc = syscall(SYS_personality, 0xffffffffUL); break;
    case SH_SELFTEST_PERSONALITY_NORANDOM:
        rc = syscall(SYS_personality, (unsigned long)ADDR_NO_RANDOMIZE);
        break;
    default: errno = ENOTSUP; rc = -1; break;
    }
    return rc < 0 ? errno : 0;
}

int sh_seccomp_selftest(const uint8_t *bpf, size_t len, int op) {
    if (len % sizeof(struct sock_filter) != 0 || len / sizeof(struct sock_filter) > BPF_MAXINSNS)
        return -EINVAL;
    // The child reports a failed filter load (and its errno) through this pipe, since its exit
    // status is reserved for the tested operation's errno.
    int report[2];
    if (pipe2(report, O_CLOEXEC) < 0) return -errno;
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (devnull < 0) {
        int e = errno;
        close(report[0]);
        close(report[1]);
        return -e;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(report[0]);
        close(report[1]);
        close(devnull);
        return -e;
    }
    if (pid == 0) {
        struct sock_fprog prog = {
            .len = (unsigned short)(len / sizeof(struct sock_filter)),
            .filter = (struct sock_filter *)(uintptr_t)bpf,
        };
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
            (len > 0 && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)) {
            int e = errno;
            (void)!write(report[1], &e, sizeof e);
            _exit(255);
        }
        _exit(selftest_op(op, devnull));
    }
    close(report[1]);
    close(devnull);
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            int e = errno;
            close(report[0]);
            return -e;
        }
    }
    int load_errno = 0;
    ssize_t n = read(report[0], &load_errno, sizeof load_errno);
    close(report[0]);
    if (n == (ssize_t)sizeof load_errno) return SH_SECCOMP_SELFTEST_LOAD_FAILED + load_errno;
    if (WIFSIGNALED(status)) return 1000 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
