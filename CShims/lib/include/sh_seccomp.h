#pragma once
// A thin, policy-free wrapper over libseccomp (2.5.4) used by the agent to compile a seccomp
// profile into the raw BPF program (an array of struct sock_filter) that the sandbox child loads
// with seccomp(SECCOMP_SET_MODE_FILTER). Which rules to add is decided in Swift
// (ShoalRuntime/Security); this file only builds and exports. The child itself never links
// libseccomp: it must not allocate between fork and exec.
//
// Errors are returned as -errno. seccomp.h is deliberately not included here so that Swift does
// not see libseccomp's macros (SCMP_ACT_ERRNO(x) and friends do not import).

#include <stddef.h>
#include <stdint.h>

typedef struct sh_seccomp_filter sh_seccomp_filter;

// Filter actions. `data` (errno for ERRNO, message for TRACE) is passed alongside.
enum sh_seccomp_action {
    SH_SCMP_ACT_KILL_THREAD = 0,
    SH_SCMP_ACT_KILL_PROCESS = 1,
    SH_SCMP_ACT_TRAP = 2,
    SH_SCMP_ACT_ERRNO = 3,
    SH_SCMP_ACT_TRACE = 4,
    SH_SCMP_ACT_LOG = 5,
    SH_SCMP_ACT_ALLOW = 6,
};

// Argument comparisons, as in the OCI / Docker profile format.
enum sh_seccomp_op {
    SH_SCMP_CMP_NE = 1,
    SH_SCMP_CMP_LT = 2,
    SH_SCMP_CMP_LE = 3,
    SH_SCMP_CMP_EQ = 4,
    SH_SCMP_CMP_GE = 5,
    SH_SCMP_CMP_GT = 6,
    // (arg & value) == value_two
    SH_SCMP_CMP_MASKED_EQ = 7,
};

struct sh_seccomp_arg {
    uint32_t index;   // 0...5
    uint32_t op;      // enum sh_seccomp_op
    uint64_t value;
    uint64_t value_two;
};

// A new filter whose only architecture is `arch` (a libseccomp name: "x86_64", "aarch64", ...),
// even when that is not the host's: the native architecture is removed if it differs.
int sh_seccomp_new(const char *arch, uint32_t default_action, uint32_t default_data,
                   sh_seccomp_filter **out);
// Adds a sub-architecture ("x86", "x32", "arm"). Adding one already present is not an error.
int sh_seccomp_arch_add(sh_seccomp_filter *filter, const char *arch);
// Adds one rule. Returns 0 when added, 1 when libseccomp does not know `syscall` at all (the rule
// is skipped, as runc does: profiles name syscalls newer than the library), -errno on error.
int sh_seccomp_rule_add(sh_seccomp_filter *filter, const char *syscall, uint32_t action,
                        uint32_t data, const struct sh_seccomp_arg *args, size_t nargs);
// Compiles to BPF. On success *bytes is a malloc'd buffer of *len bytes (a multiple of 8) the
// caller frees with free().
int sh_seccomp_export(sh_seccomp_filter *filter, uint8_t **bytes, size_t *len);
void sh_seccomp_free(sh_seccomp_filter *filter);

// For tests and diagnostics: the syscall number of `name` on `arch` (x32 numbers include the x32
// bit), or -1 when that architecture has no such syscall; and the AUDIT_ARCH_* value the kernel
// puts in seccomp_data.arch for `arch`, or 0 when unknown.
int sh_seccomp_syscall_number(const char *arch, const char *name);
uint32_t sh_seccomp_audit_arch(const char *arch);

// Test hook: forks a child that sets no_new_privs, loads `bpf` (none when len is 0), performs
// one operation and exits with its errno. Returns 0 when the operation succeeded, its errno when
// it failed, SH_SECCOMP_SELFTEST_LOAD_FAILED + errno when the filter could not be loaded,
// 1000 + signal when the child was killed, -errno when fork/wait failed.
// The child only makes raw system calls: no malloc, no stdio (the test process is multithreaded).
enum sh_seccomp_selftest_op {
    SH_SELFTEST_GETPID = 0,
    SH_SELFTEST_WRITE = 1,          // write(2) to /dev/null
    SH_SELFTEST_UNSHARE_NEWNS = 2,  // unshare(CLONE_NEWNS)
    SH_SELFTEST_MOUNT = 3,          // mount on a missing path: ENOENT when allowed
    SH_SELFTEST_KEYCTL = 4,         // keyctl(KEYCTL_GET_KEYRING_ID, thread keyring, 0)
    SH_SELFTEST_CLONE3 = 5,         // clone3(NULL, 0): EINVAL when allowed
    SH_SELFTEST_CLONE_NEWNS = 6,    // clone(CLONE_NEWNS | SIGCHLD)
    SH_SELFTEST_FORK = 7,           // clone(SIGCHLD)
    SH_SELFTEST_SOCKET_VSOCK = 8,   // socket(AF_VSOCK, SOCK_STREAM, 0)
    SH_SELFTEST_SOCKET_ALG = 9,     // socket(AF_ALG, SOCK_SEQPACKET, 0)
    SH_SELFTEST_SOCKET_INET = 10,   // socket(AF_INET, SOCK_STREAM, 0)
    SH_SELFTEST_PERSONALITY_QUERY = 11,     // personality(0xffffffff)
    SH_SELFTEST_PERSONALITY_NORANDOM = 12,  // personality(ADDR_NO_RANDOMIZE)
};
#define SH_SECCOMP_SELFTEST_LOAD_FAILED 500
int sh_seccomp_selftest(const uint8_t *bpf, size_t len, int op);
