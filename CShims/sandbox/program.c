// Runs a spawn program in the freshly cloned child, then execs.
//
// The sandbox process is single-threaded, so unlike a child of the multi-threaded agent this
// child may use malloc and stdio. It never returns: it execs or reports (step, errno) on the
// error pipe and exits 127. Every decision (which mounts, which order, which ids) was made by
// the agent; this file only carries the steps out, each one checked.
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_STRINGS 4096
#define MAX_SLOTS 16

struct exec_state {
    const struct sh_spawn_req *req;
    const int *fds;
    int nfds;
    int root_fd;              // O_PATH fd of the new root, for SH_IN_ROOT lookups
    char root_path[4096];
    int slots[MAX_SLOTS];     // detached mount trees from SH_OP_OPEN_TREE
};

struct op_view {
    const struct sh_op *op;
    const char *str[MAX_STRINGS];
    uint32_t nstr;
    const uint8_t *blob;
};

static void fail(int errpipe, int step, int err) {
    struct sh_setup_error e = {.step = step, .err = err};
    ssize_t unused = write(errpipe, &e, sizeof(e));
    (void)unused;
    _exit(127);
}

static int fd_at(const struct exec_state *st, int64_t index) {
    if (index < 0 || index >= st->nfds) return -1;
    return st->fds[index];
}

// Splits an op into its strings and blob. The sandbox validated bounds before forking.
static void view_op(const struct sh_op *op, struct op_view *v) {
    v->op = op;
    v->nstr = op->nstr < MAX_STRINGS ? op->nstr : MAX_STRINGS;
    const char *p = (const char *)(op + 1);
    for (uint32_t i = 0; i < op->nstr; i++) {
        if (i < MAX_STRINGS) v->str[i] = p;
        p += strlen(p) + 1;
    }
    size_t off = (size_t)(p - (const char *)op);
    off = (off + 7) & ~(size_t)7;
    v->blob = (const uint8_t *)op + off;
}

static const char *s_or_null(const struct op_view *v, uint32_t i) {
    if (i >= v->nstr || v->str[i][0] == '\0') return NULL;
    return v->str[i];
}

// openat2 inside the root: symlinks in an image-controlled tree resolve as if the root were "/",
// so a hostile image cannot point a mount target at the host (the runc CVE-2019-19921 class).
static int open_in_root(const struct exec_state *st, const char *path, int flags) {
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    while (*path == '/') path++;
    if (*path == '\0') path = ".";
    int fd = (int)syscall(SYS_openat2, st->root_fd, path, &how, sizeof(how));
    return fd;
}

static int open_target(const struct exec_state *st, const char *path, int64_t flags, int oflags) {
    if (flags & SH_IN_ROOT) {
        if (st->root_fd < 0) {
            errno = EBADF;
            return -1;
        }
        return open_in_root(st, path, oflags);
    }
    return open(path, oflags | O_CLOEXEC);
}

static void fd_path(int fd, char *buf, size_t len) { snprintf(buf, len, "/proc/self/fd/%d", fd); }

// mkdir -p, each component created with mkdirat under an fd opened inside the root.
static int mkdir_p(const struct exec_state *st, const char *path, mode_t mode, int64_t flags) {
    char buf[4096];
    if (strlen(path) >= sizeof(buf)) return -ENAMETOOLONG;
    strcpy(buf, path);
    size_t len = strlen(buf);
    while (len > 1 && buf[len - 1] == '/') buf[--len] = '\0';
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char saved = *p;
        *p = '\0';
        int fd = open_target(st, buf, flags, O_PATH | O_DIRECTORY);
        if (fd >= 0) {
            close(fd);
        } else if (errno == ENOENT) {
            char *slash = strrchr(buf, '/');
            const char *name = slash ? slash + 1 : buf;
            int parent;
            if (slash == NULL || slash == buf) {
                parent = open_target(st, "/", flags, O_PATH | O_DIRECTORY);
            } else {
                *slash = '\0';
                parent = open_target(st, buf, flags, O_PATH | O_DIRECTORY);
                *slash = '/';
            }
            if (parent < 0) return -errno;
            int r = mkdirat(parent, name, mode);
            int e = errno;
            close(parent);
            if (r < 0 && e != EEXIST) return -e;
        } else {
            return -errno;
        }
        *p = saved;
        if (saved == '\0') break;
    }
    return 0;
}

static int split_parent(const char *path, char *parent, size_t cap, const char **name) {
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        snprintf(parent, cap, "/");
        *name = path;
        return 0;
    }
    size_t n = (size_t)(slash - path);
    if (n + 1 >= cap) return -ENAMETOOLONG;
    memcpy(parent, path, n);
    parent[n == 0 ? 1 : n] = '\0';
    if (n == 0) parent[0] = '/';
    *name = slash + 1;
    return 0;
}

static int make_file(const struct exec_state *st, const char *path, mode_t mode, int64_t flags) {
    char parent[4096];
    const char *name;
    int r = split_parent(path, parent, sizeof(parent), &name);
    if (r < 0) return r;
    r = mkdir_p(st, parent, 0755, flags);
    if (r < 0) return r;
    int existing = open_target(st, path, flags, O_PATH);
    if (existing >= 0) {
        close(existing);
        return 0;
    }
    int dfd = open_target(st, parent, flags, O_PATH | O_DIRECTORY);
    if (dfd < 0) return -errno;
    int fd = openat(dfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode);
    int e = errno;
    close(dfd);
    if (fd < 0 && e != EEXIST) return -e;
    if (fd >= 0) close(fd);
    return 0;
}

static int make_symlink(const struct exec_state *st, const char *content, const char *path, int64_t flags) {
    char parent[4096];
    const char *name;
    int r = split_parent(path, parent, sizeof(parent), &name);
    if (r < 0) return r;
    int dfd = open_target(st, parent, flags, O_PATH | O_DIRECTORY);
    if (dfd < 0) return -errno;
    r = symlinkat(content, dfd, name);
    int e = errno;
    close(dfd);
    return (r < 0 && e != EEXIST) ? -e : 0;
}

static int do_mount(const struct exec_state *st, const struct op_view *v) {
    const char *src = s_or_null(v, 0), *target = s_or_null(v, 1);
    const char *fstype = s_or_null(v, 2), *data = s_or_null(v, 3);
    unsigned long flags = (unsigned long)v->op->arg[0];
    if (target == NULL) return -EINVAL;
    if (!(v->op->arg[3] & SH_IN_ROOT)) {
        return mount(src, target, fstype, flags, data) < 0 ? -errno : 0;
    }
    int fd = open_target(st, target, v->op->arg[3], O_PATH);
    if (fd < 0) return -errno;
    char p[64];
    fd_path(fd, p, sizeof(p));
    int r = mount(src, p, fstype, flags, data);
    int e = errno;
    close(fd);
    return r < 0 ? -e : 0;
}

static int do_mount_attr(const struct exec_state *st, const struct op_view *v) {
    const char *target = s_or_null(v, 0);
    if (target == NULL) return -EINVAL;
    int fd = open_target(st, target, v->op->arg[3], O_PATH);
    if (fd < 0) return -errno;
    struct mount_attr attr = {
        .attr_set = (uint64_t)v->op->arg[0],
        .attr_clr = (uint64_t)v->op->arg[1],
        .propagation = (uint64_t)v->op->arg[2],
    };
    unsigned int at = AT_EMPTY_PATH | ((v->op->arg[3] & SH_RECURSIVE) ? AT_RECURSIVE : 0);
    int r = (int)syscall(SYS_mount_setattr, fd, "", at, &attr, sizeof(attr));
    int e = errno;
    close(fd);
    return r < 0 ? -e : 0;
}

static int do_open_tree(struct exec_state *st, const struct op_view *v) {
    int64_t slot = v->op->arg[0];
    const char *src = s_or_null(v, 0);
    if (src == NULL || slot < 0 || slot >= MAX_SLOTS) return -EINVAL;
    unsigned int flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | ((v->op->arg[3] & SH_RECURSIVE) ? AT_RECURSIVE : 0);
    int fd = (int)syscall(SYS_open_tree, AT_FDCWD, src, flags);
    if (fd < 0) return -errno;
    st->slots[slot] = fd;
    return 0;
}

static int do_move_mount(struct exec_state *st, const struct op_view *v) {
    int64_t slot = v->op->arg[0];
    const char *target = s_or_null(v, 0);
    if (target == NULL || slot < 0 || slot >= MAX_SLOTS || st->slots[slot] < 0) return -EINVAL;
    int tfd = open_target(st, target, v->op->arg[3], O_PATH);
    if (tfd < 0) return -errno;
    int r = (int)syscall(SYS_move_mount, st->slots[slot], "", tfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
    int e = errno;
    close(tfd);
    close(st->slots[slot]);
    st->slots[slot] = -1;
    return r < 0 ? -e : 0;
}

static int do_set_root(struct exec_state *st, const struct op_view *v) {
    const char *path = s_or_null(v, 0);
    if (path == NULL || strlen(path) >= sizeof(st->root_path)) return -EINVAL;
    int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -errno;
    if (st->root_fd >= 0) close(st->root_fd);
    st->root_fd = fd;
    strcpy(st->root_path, path);
    return 0;
}

// pivot_root(".", ".") stacks the old root under the new one; detaching it leaves only the
// container's tree (the runc trick that needs no temporary directory).
static int do_pivot_root(struct exec_state *st) {
    if (st->root_fd < 0) return -EBADF;
    if (fchdir(st->root_fd) < 0) {
        // O_PATH fds cannot fchdir on older kernels; fall back to the path.
        if (chdir(st->root_path) < 0) return -errno;
    }
    if (syscall(SYS_pivot_root, ".", ".") < 0) return -errno;
    if (umount2(".", MNT_DETACH) < 0) return -errno;
    if (chdir("/") < 0) return -errno;
    close(st->root_fd);
    st->root_fd = -1;
    return 0;
}

static int do_mask(const char *path, int64_t flags) {
    struct stat sb;
    if (stat(path, &sb) < 0) return (errno == ENOENT && (flags & SH_OPTIONAL)) ? 0 : -errno;
    int r;
    if (S_ISDIR(sb.st_mode)) {
        r = mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=0555");
    } else {
        r = mount("/dev/null", path, NULL, MS_BIND, NULL);
    }
    return r < 0 ? -errno : 0;
}

static int do_readonly(const char *path, int64_t flags) {
    if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
        return (errno == ENOENT && (flags & SH_OPTIONAL)) ? 0 : -errno;
    }
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
    if (syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &attr, sizeof(attr)) < 0) return -errno;
    return 0;
}

static int do_write(const struct op_view *v) {
    const char *path = s_or_null(v, 0), *data = v->nstr > 1 ? v->str[1] : "";
    if (path == NULL) return -EINVAL;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    ssize_t n = write(fd, data, strlen(data));
    int e = errno;
    close(fd);
    return n < 0 ? -e : 0;
}

static int do_bounding(const struct op_view *v) {
    uint64_t keep = (uint64_t)v->op->arg[0];
    int last = (int)v->op->arg[1];
    for (int cap = 0; cap <= last; cap++) {
        if (keep & (1ULL << cap)) continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) return -errno;
    }
    return 0;
}

// Raw syscalls rather than glibc's setresuid: glibc broadcasts set*id to every thread it
// believes exists, which is harmless here (single-threaded) but pointless.
static int do_set_ids(const struct op_view *v) {
    uid_t uid = (uid_t)v->op->arg[0];
    gid_t gid = (gid_t)v->op->arg[1];
    size_t ngroups = v->op->blob_len / sizeof(uint32_t);
    gid_t groups[256];
    if (ngroups > 256) return -E2BIG;
    for (size_t i = 0; i < ngroups; i++) {
        uint32_t g;
        memcpy(&g, v->blob + i * sizeof(uint32_t), sizeof(g));
        groups[i] = g;
    }
    // Keep the permitted set across the uid change; SH_OP_CAPS sets the final sets next.
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return -errno;
    if (syscall(SYS_setgroups, ngroups, groups) < 0) return -errno;
    if (syscall(SYS_setresgid, gid, gid, gid) < 0) return -errno;
    if (syscall(SYS_setresuid, uid, uid, uid) < 0) return -errno;
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return -errno;
    return 0;
}

static int do_caps(const struct op_view *v) {
    uint64_t eff = (uint64_t)v->op->arg[0], perm = (uint64_t)v->op->arg[1];
    uint64_t inh = (uint64_t)v->op->arg[2], amb = (uint64_t)v->op->arg[3];
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2] = {
        {.effective = (uint32_t)eff, .permitted = (uint32_t)perm, .inheritable = (uint32_t)inh},
        {.effective = (uint32_t)(eff >> 32), .permitted = (uint32_t)(perm >> 32), .inheritable = (uint32_t)(inh >> 32)},
    };
    if (syscall(SYS_capset, &hdr, data) < 0) return -errno;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) return -errno;
    for (int cap = 0; cap < 64; cap++) {
        if (!(amb & (1ULL << cap))) continue;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) return -errno;
    }
    return 0;
}

static int do_seccomp(const struct op_view *v) {
    if (v->op->blob_len == 0 || v->op->blob_len % sizeof(struct sock_filter) != 0) return -EINVAL;
    struct sock_fprog prog = {
        .len = (unsigned short)(v->op->blob_len / sizeof(struct sock_filter)),
        .filter = (struct sock_filter *)(uintptr_t)v->blob,
    };
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) return -errno;
    return 0;
}

static int do_setsid(const struct op_view *v) {
    if (setsid() < 0) return -errno;
    if (v->op->arg[0] && ioctl(0, TIOCSCTTY, 0) < 0) return -errno;
    return 0;
}

// execve with a PATH search in the container's own environment, as runc does after pivot_root.
static int do_exec(const struct op_view *v) {
    int64_t argc = v->op->arg[0], envc = v->op->arg[1];
    if (v->nstr < 1 || argc < 1 || (uint64_t)(1 + argc + envc) > v->nstr) return -EINVAL;
    char **argv = calloc((size_t)argc + 1, sizeof(char *));
    char **envp = calloc((size_t)envc + 1, sizeof(char *));
    if (argv == NULL || envp == NULL) return -ENOMEM;
    for (int64_t i = 0; i < argc; i++) argv[i] = (char *)v->str[1 + i];
    for (int64_t i = 0; i < envc; i++) envp[i] = (char *)v->str[1 + argc + i];
    const char *file = v->str[0];
    if (strchr(file, '/') != NULL) {
        execve(file, argv, envp);
        return -errno;
    }
    const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (int64_t i = 0; i < envc; i++) {
        if (strncmp(envp[i], "PATH=", 5) == 0) path = envp[i] + 5;
    }
    int saved = ENOENT;
    char candidate[4096];
    for (const char *p = path;;) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0) snprintf(candidate, sizeof(candidate), "%s", file);
        else snprintf(candidate, sizeof(candidate), "%.*s/%s", (int)n, p, file);
        execve(candidate, argv, envp);
        // Remember a more telling error than ENOENT, as execvp does.
        if (errno == EACCES || errno == ENOEXEC || errno == ETXTBSY) saved = errno;
        if (end == NULL) break;
        p = end + 1;
    }
    return -saved;
}

static int run_op(struct exec_state *st, const struct op_view *v) {
    const struct sh_op *op = v->op;
    switch (op->code) {
    case SH_OP_CGROUP_ENTER: {
        int fd = fd_at(st, op->arg[0]);
        if (fd < 0) return -EBADF;
        return write(fd, "0", 1) < 0 ? -errno : 0;
    }
    case SH_OP_SETNS: {
        int fd = fd_at(st, op->arg[0]);
        if (fd < 0) return -EBADF;
        return setns(fd, (int)op->arg[1]) < 0 ? -errno : 0;
    }
    case SH_OP_UNSHARE:
        return unshare((int)op->arg[0]) < 0 ? -errno : 0;
    case SH_OP_MOUNT:
        return do_mount(st, v);
    case SH_OP_MOUNT_ATTR:
        return do_mount_attr(st, v);
    case SH_OP_SET_ROOT:
        return do_set_root(st, v);
    case SH_OP_MKDIR:
        return s_or_null(v, 0) ? mkdir_p(st, v->str[0], (mode_t)op->arg[0], op->arg[3]) : -EINVAL;
    case SH_OP_MKFILE:
        return s_or_null(v, 0) ? make_file(st, v->str[0], (mode_t)op->arg[0], op->arg[3]) : -EINVAL;
    case SH_OP_SYMLINK:
        return (s_or_null(v, 0) && s_or_null(v, 1)) ? make_symlink(st, v->str[0], v->str[1], op->arg[3]) : -EINVAL;
    case SH_OP_OPEN_TREE:
        return do_open_tree(st, v);
    case SH_OP_MOVE_MOUNT:
        return do_move_mount(st, v);
    case SH_OP_PIVOT_ROOT:
        return do_pivot_root(st);
    case SH_OP_MASK:
        return s_or_null(v, 0) ? do_mask(v->str[0], op->arg[3]) : -EINVAL;
    case SH_OP_READONLY:
        return s_or_null(v, 0) ? do_readonly(v->str[0], op->arg[3]) : -EINVAL;
    case SH_OP_CHDIR:
        return (s_or_null(v, 0) && chdir(v->str[0]) < 0) ? -errno : 0;
    case SH_OP_WRITE:
        return do_write(v);
    case SH_OP_NO_NEW_PRIVS:
        return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : 0;
    case SH_OP_BOUNDING:
        return do_bounding(v);
    case SH_OP_SET_IDS:
        return do_set_ids(v);
    case SH_OP_CAPS:
        return do_caps(v);
    case SH_OP_SECCOMP:
        return do_seccomp(v);
    case SH_OP_SETSID:
        return do_setsid(v);
    case SH_OP_UMASK:
        umask((mode_t)op->arg[0]);
        return 0;
    case SH_OP_EXEC:
        return do_exec(v);
    case SH_OP_SETHOSTNAME:
        return (s_or_null(v, 0) && sethostname(v->str[0], strlen(v->str[0])) < 0) ? -errno : 0;
    case SH_OP_CONSOLE:
        return sb_console(fd_at(st, op->arg[0]), op->arg[1], op->arg[2]);
    default:
        return -ENOSYS;
    }
}

int sb_program_validate(const void *prog, size_t len) {
    const struct sh_program_header *h = prog;
    if (len < sizeof(*h) || h->magic != SH_PROGRAM_MAGIC || h->version != SH_WIRE_VERSION || h->size != len) {
        return -EINVAL;
    }
    size_t off = sizeof(*h);
    for (uint32_t i = 0; i < h->nops; i++) {
        if (off + sizeof(struct sh_op) > len) return -EINVAL;
        const struct sh_op *op = (const struct sh_op *)((const uint8_t *)prog + off);
        if (op->size < sizeof(*op) || op->size % 8 != 0 || off + op->size > len) return -EINVAL;
        // Strings must be NUL-terminated within the op, and the blob must fit after them.
        const char *p = (const char *)(op + 1), *end = (const char *)op + op->size;
        for (uint32_t s = 0; s < op->nstr; s++) {
            const char *nul = memchr(p, '\0', (size_t)(end - p));
            if (nul == NULL) return -EINVAL;
            p = nul + 1;
        }
        size_t blob_off = ((size_t)(p - (const char *)op) + 7) & ~(size_t)7;
        if (blob_off + op->blob_len > op->size) return -EINVAL;
        off += op->size;
    }
    return off == len ? 0 : -EINVAL;
}

static void reset_signals(void) {
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    // SIG_IGN survives execve; a container must start with default dispositions.
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &dfl, NULL);
}

// Puts fd `from` at `to`, or /dev/null when from < 0. dup2 clears close-on-exec on `to`.
static int place_stdio(int from, int to) {
    if (from < 0) {
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0) return -errno;
        int r = dup2(null, to) < 0 ? -errno : 0;
        close(null);
        return r;
    }
    if (from == to) {
        return fcntl(to, F_SETFD, 0) < 0 ? -errno : 0;
    }
    return dup2(from, to) < 0 ? -errno : 0;
}

void sb_program_run(const void *prog, const struct sh_spawn_req *req, const int *fds, int nfds, int errpipe,
                    int out_fd, int err_fd) {
    struct exec_state st = {.req = req, .fds = fds, .nfds = nfds, .root_fd = -1};
    for (int i = 0; i < MAX_SLOTS; i++) st.slots[i] = -1;

    reset_signals();
    // Every fd the sandbox holds (listener, other pods' pipes, …) closes at exec; only 0-2 stay.
    if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) fail(errpipe, SH_STEP_PRELUDE, errno);
    int in_fd = fd_at(&st, req->stdin_fd);
    // Move the sources out of 0-2 first so placing one cannot clobber another.
    int srcs[3] = {in_fd, out_fd, err_fd};
    for (int i = 0; i < 3; i++) {
        if (srcs[i] >= 0 && srcs[i] <= 2) {
            srcs[i] = fcntl(srcs[i], F_DUPFD_CLOEXEC, 3);
            if (srcs[i] < 0) fail(errpipe, SH_STEP_PRELUDE, errno);
        }
    }
    for (int i = 0; i < 3; i++) {
        int r = place_stdio(srcs[i], i);
        if (r < 0) fail(errpipe, SH_STEP_PRELUDE, -r);
    }
    // If the sandbox dies the pod is gone; do not leave its containers running unowned.
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) fail(errpipe, SH_STEP_PRELUDE, errno);

    const struct sh_program_header *h = prog;
    size_t off = sizeof(*h);
    static struct op_view v;  // large (string table); static keeps the stack small
    for (uint32_t i = 0; i < h->nops; i++) {
        const struct sh_op *op = (const struct sh_op *)((const uint8_t *)prog + off);
        view_op(op, &v);
        if (op->code == SH_OP_EXEC) {
            // Credential changes clear the parent-death signal; arm it again right before exec.
            if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) fail(errpipe, (int)i, errno);
        }
        int r = run_op(&st, &v);
        if (r < 0) fail(errpipe, (int)i, -r);
        off += op->size;
    }
    // A program must end in exec.
    fail(errpipe, (int)h->nops, ENOEXEC);
}
