// The wire format between the Shoal agent (Swift) and a pod's shoal-sandbox process (C).
//
// Transport: a SOCK_SEQPACKET unix socket, one message per sendmsg, fds in SCM_RIGHTS.
// Every message starts with struct sh_msg_header. Requests are answered in order; EXITED
// events may arrive between a request and its answer.
//
// A spawn request carries a *program* in a memfd: the ordered setup steps the sandbox's
// child executes between clone3() and execve(). Swift decides the steps; C executes them.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SH_WIRE_VERSION 1
#define SH_ID_MAX 128
#define SH_PATH_MAX 512
#define SH_MAX_FDS 48          // fds attached to one message
#define SH_MSG_MAX 4096        // largest message (programs travel in a memfd)

enum sh_msg_type {
    SH_MSG_SPAWN = 1,     // agent → sandbox: struct sh_spawn_req + fds
    SH_MSG_SPAWNED = 2,   // sandbox → agent: struct sh_spawned + [pidfd]
    SH_MSG_EXITED = 3,    // sandbox → agent: struct sh_proc (event)
    SH_MSG_LIST = 4,      // agent → sandbox: header only
    SH_MSG_PROC = 5,      // sandbox → agent: struct sh_proc (+ [pidfd] while running), one per process
    SH_MSG_LIST_END = 6,  // sandbox → agent: header only
    SH_MSG_FORGET = 7,    // agent → sandbox: struct sh_id_req; drop an exited process' record
    SH_MSG_SHUTDOWN = 8,  // agent → sandbox: header only; SIGKILL every process, reap, answer OK, exit
    SH_MSG_ERROR = 9,     // sandbox → agent: struct sh_error
    SH_MSG_OK = 10,       // sandbox → agent: header only
    SH_MSG_HOLD = 11,     // agent → sandbox: struct sh_id_req + [fd]; keep fd open while the process
                          // runs (its terminal master), and hand it back with LIST
};

struct sh_msg_header {
    uint32_t type;
    uint32_t size;  // of the whole message, header included
};

// Spawn flags.
#define SH_SPAWN_LOG 0x1  // the sandbox makes the stdout/stderr pipes and writes the CRI log file
#define SH_SPAWN_CTTY 0x2 // stdin is a terminal: setsid() and make it the controlling tty

// Index into the fds attached to a spawn request; SH_NO_FD when absent.
#define SH_NO_FD (-1)

struct sh_spawn_req {
    struct sh_msg_header h;
    char id[SH_ID_MAX];       // the process' name in this sandbox (container or exec instance)
    uint64_t clone_flags;     // CLONE_NEW* for the child; the sandbox adds CLONE_PIDFD
    int32_t program_fd;       // memfd holding the program (required)
    int32_t errpipe_fd;       // write end of the agent's setup-error pipe (required)
    int32_t pidns_fd;         // create the child in this PID namespace (setns before clone3)
    int32_t cgroup_fd;        // cgroup v2 directory for CLONE_INTO_CGROUP
    int32_t stdin_fd;         // SH_NO_FD: /dev/null
    int32_t stdout_fd;        // ignored with SH_SPAWN_LOG; SH_NO_FD: /dev/null
    int32_t stderr_fd;        // ignored with SH_SPAWN_LOG; SH_NO_FD: /dev/null
    uint32_t flags;
    uint64_t log_max_size;    // rotate the log when it would grow past this many bytes (0: never)
    uint32_t log_max_files;   // rotated files kept besides the live one
    uint32_t reserved;
    char log_path[SH_PATH_MAX];
};

struct sh_spawned {
    struct sh_msg_header h;
    int32_t pid;
    uint32_t reserved;
    int64_t start_ns;  // CLOCK_REALTIME
};

struct sh_proc {
    struct sh_msg_header h;
    char id[SH_ID_MAX];
    int32_t pid;
    int32_t running;   // 1 while running; then status holds the wait status
    int32_t status;    // as waitpid(2) reports it: WIFEXITED/WEXITSTATUS/WTERMSIG apply
    uint32_t reserved;
    int64_t start_ns;
    int64_t exit_ns;
};

struct sh_id_req {
    struct sh_msg_header h;
    char id[SH_ID_MAX];
};

struct sh_error {
    struct sh_msg_header h;
    int32_t err;  // errno
    uint32_t reserved;
    char message[256];
};

// What a failed child writes to the error pipe before _exit(127). EOF without a record means
// execve succeeded.
struct sh_setup_error {
    int32_t step;  // index of the failing op in the program, or one of SH_STEP_*
    int32_t err;   // errno
};

#define SH_STEP_PRELUDE (-1)  // signal reset, stdio, fd hygiene before the first op

// ---- Programs ----

#define SH_PROGRAM_MAGIC 0x53485047u  // "SHPG"

struct sh_program_header {
    uint32_t magic;
    uint32_t version;
    uint32_t nops;
    uint32_t size;  // of the whole program
};

// Each op: this header, then `nstr` NUL-terminated strings, then a blob of `blob_len` bytes
// starting at the next 8-byte boundary. `size` covers all of it and is a multiple of 8.
struct sh_op {
    uint32_t code;
    uint32_t size;
    int64_t arg[4];
    uint32_t nstr;
    uint32_t blob_len;
};

// Op flags (arg[3] unless said otherwise).
#define SH_IN_ROOT 0x1     // resolve the path inside the root set by SH_OP_SET_ROOT (openat2 RESOLVE_IN_ROOT)
#define SH_RECURSIVE 0x2   // AT_RECURSIVE for mount_setattr / open_tree
#define SH_OPTIONAL 0x4    // ENOENT on the path is not an error (masked paths on older kernels)

enum sh_op_code {
    SH_OP_CGROUP_ENTER = 1, // arg0 fd: write "0" (this process) to that cgroup.procs
    SH_OP_SETNS = 2,        // arg0 fd, arg1 nstype
    SH_OP_UNSHARE = 3,      // arg0 flags
    SH_OP_MOUNT = 4,        // s0 source, s1 target, s2 fstype, s3 data; arg0 flags; arg3 SH_IN_ROOT
    SH_OP_MOUNT_ATTR = 5,   // s0 target; arg0 attr_set, arg1 attr_clr, arg2 propagation; arg3 flags
    SH_OP_SET_ROOT = 6,     // s0 path of the new root (opened O_PATH for SH_IN_ROOT lookups)
    SH_OP_MKDIR = 7,        // s0 path; arg0 mode; arg3 flags. mkdir -p, fine if it exists
    SH_OP_MKFILE = 8,       // s0 path; arg0 mode; arg3 flags. parents as 0755, fine if it exists
    SH_OP_SYMLINK = 9,      // s0 link content, s1 path; arg3 flags. fine if it exists
    SH_OP_OPEN_TREE = 10,   // s0 source; arg0 slot; arg3 flags. a detached clone, for later MOVE_MOUNT
    SH_OP_MOVE_MOUNT = 11,  // s0 target; arg0 slot; arg3 flags
    SH_OP_PIVOT_ROOT = 12,  // into the root set by SET_ROOT; the old root is detached
    SH_OP_MASK = 13,        // s0 path: /dev/null over a file, an empty read-only tmpfs over a dir
    SH_OP_READONLY = 14,    // s0 path: bind onto itself, read-only, recursively
    SH_OP_CHDIR = 15,       // s0 path
    SH_OP_WRITE = 16,       // s0 path, s1 data (sysctls)
    SH_OP_NO_NEW_PRIVS = 17,
    SH_OP_BOUNDING = 18,    // arg0 mask of capabilities to keep; arg1 last capability number
    SH_OP_SET_IDS = 19,     // arg0 uid, arg1 gid; blob: uint32 supplementary gids
    SH_OP_CAPS = 20,        // arg0 effective, arg1 permitted, arg2 inheritable, arg3 ambient masks
    SH_OP_SECCOMP = 21,     // blob: struct sock_filter[]
    SH_OP_SETSID = 22,      // arg0: 1 to make stdin the controlling terminal
    SH_OP_UMASK = 23,       // arg0 mask
    SH_OP_EXEC = 24,        // s0 file (searched in PATH of the env when it has no '/'), then
                            // arg0 argv strings, then arg1 env strings
    SH_OP_SETHOSTNAME = 25, // s0 name
    SH_OP_CONSOLE = 26,     // arg0 fd of a unix socket, arg1 rows, arg2 cols: open the container's pty,
                            // slave on 0-2, master sent over the socket (after pivot_root)
};

// Send one message with fds attached. Returns 0 or -errno.
int sh_send_msg(int sock, const void *msg, size_t len, const int *fds, int nfds);

// Receive one message into buf (at most cap bytes) and its fds (close-on-exec) into fds
// (at most SH_MAX_FDS). Returns the message length, 0 on EOF, or -errno. *nfds gets the fd
// count; a truncated message is -EMSGSIZE (its fds are closed).
ssize_t sh_recv_msg(int sock, void *buf, size_t cap, int *fds, int *nfds);
