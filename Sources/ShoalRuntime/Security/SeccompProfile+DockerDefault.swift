// Docker's default seccomp profile (what Kubernetes calls RuntimeDefault under containerd and
// CRI-O too), translated rule for rule from moby's profiles/seccomp/default.json at moby/moby
// commit 00f3d189e420 (the 23.0/24.0 profile: AF_VSOCK blocked, bpf and perf_event_open under
// CAP_BPF and CAP_PERFMON, riscv64 in the arch map). Copyright The Moby Authors, Apache-2.0.
//
// One deliberate change, which moby itself made later (moby#52494, Docker 29.4.2) and containerd
// too (containerd#13327): socket(2) is refused for AF_ALG (38) as well as AF_VSOCK (40), against
// CVE-2026-31431. Two `!=` conditions on one argument cannot express that (rules with several
// conditions on the same argument are split into alternatives), hence the three ranges.
//
// Rule order, grouping and comments follow default.json so the two can be compared by eye; the
// test suite checks the structure (counts, the conditional rules) against it.

extension SeccompProfile {
    public static let dockerDefault = SeccompProfile(
        defaultAction: .errno,
        defaultErrnoRet: 1,  // EPERM
        archMap: [
            ArchMapEntry(architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
            ArchMapEntry(architecture: "SCMP_ARCH_AARCH64", subArchitectures: ["SCMP_ARCH_ARM"]),
            ArchMapEntry(architecture: "SCMP_ARCH_MIPS64", subArchitectures: ["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"]),
            ArchMapEntry(architecture: "SCMP_ARCH_MIPS64N32", subArchitectures: ["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64"]),
            ArchMapEntry(architecture: "SCMP_ARCH_MIPSEL64", subArchitectures: ["SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"]),
            ArchMapEntry(architecture: "SCMP_ARCH_MIPSEL64N32", subArchitectures: ["SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64"]),
            ArchMapEntry(architecture: "SCMP_ARCH_S390X", subArchitectures: ["SCMP_ARCH_S390"]),
            ArchMapEntry(architecture: "SCMP_ARCH_RISCV64", subArchitectures: nil),
        ],
        syscalls: dockerDefaultSyscalls)
}

private func words(_ s: String) -> [String] {
    s.split(whereSeparator: \.isWhitespace).map(String.init)
}

private func allow(
    _ names: String, args: [SeccompProfile.Arg]? = nil, comment: String? = nil,
    includes: SeccompProfile.Filter? = nil, excludes: SeccompProfile.Filter? = nil
) -> SeccompProfile.Syscall {
    SeccompProfile.Syscall(
        names: words(names), action: .allow, args: args, comment: comment, includes: includes,
        excludes: excludes)
}

private func caps(_ names: String...) -> SeccompProfile.Filter { .init(caps: names) }
private func arches(_ names: String...) -> SeccompProfile.Filter { .init(arches: names) }
private func arg0(_ op: SeccompProfile.Operator, _ value: UInt64) -> [SeccompProfile.Arg] {
    [.init(index: 0, value: value, op: op)]
}

// Namespace flags of clone(2): CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
// CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET = 0x7E020000.
private let cloneNamespaceFlags: UInt64 = 2_114_060_288

private let dockerDefaultSyscalls: [SeccompProfile.Syscall] = [
    allow("""
        accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32
        clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime
        clock_gettime64 clock_nanosleep clock_nanosleep_time64 close close_range connect
        copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old
        epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit
        exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir
        fchmod fchmodat fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr
        flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync
        ftruncate ftruncate64 futex futex_time64 futex_waitv futimesat getcpu getcwd getdents
        getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32
        getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid
        getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid getsockname
        getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr inotify_add_watch
        inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents
        io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit
        io_uring_enter io_uring_register io_uring_setup ipc kill landlock_add_rule
        landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr link linkat
        listen listxattr llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64 madvise
        membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2
        mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive
        mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap msgctl msgget
        msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat
        _newselect open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc
        pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64
        process_mrelease pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read readahead
        readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg
        remap_file_pages removexattr rename renameat renameat2 restart_syscall rmdir rseq
        rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend
        rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr
        sched_getparam sched_get_priority_max sched_get_priority_min sched_getscheduler
        sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity sched_setattr
        sched_setparam sched_setscheduler sched_yield seccomp select semctl semget semop
        semtimedop semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid
        setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid
        setpriority setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid
        setreuid32 setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address
        setuid setuid32 setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd
        signalfd4 sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs statfs64
        statx symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create
        timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64
        timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times
        tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat utime utimensat
        utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev
        """),
    allow("process_vm_readv process_vm_writev ptrace", includes: .init(minKernel: "4.8")),
    // Every address family but AF_ALG (38) and AF_VSOCK (40); see the note at the top.
    allow("socket", args: arg0(.lessThan, 38)),
    allow("socket", args: arg0(.equalTo, 39)),
    allow("socket", args: arg0(.greaterThan, 40)),
    // PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and the query value.
    allow("personality", args: arg0(.equalTo, 0)),
    allow("personality", args: arg0(.equalTo, 8)),
    allow("personality", args: arg0(.equalTo, 131_072)),
    allow("personality", args: arg0(.equalTo, 131_080)),
    allow("personality", args: arg0(.equalTo, 4_294_967_295)),
    allow("sync_file_range2 swapcontext", includes: arches("ppc64le")),
    allow("arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls",
          includes: arches("arm", "arm64")),
    allow("arch_prctl", includes: arches("amd64", "x32")),
    allow("modify_ldt", includes: arches("amd64", "x32", "x86")),
    allow("s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr", includes: arches("s390", "s390x")),
    allow("riscv_flush_icache", includes: arches("riscv64")),
    allow("open_by_handle_at", includes: caps("CAP_DAC_READ_SEARCH")),
    allow("""
        bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount
        mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname
        sethostname setns syslog umount umount2 unshare
        """, includes: caps("CAP_SYS_ADMIN")),
    allow("clone", args: arg0(.maskedEqual, cloneNamespaceFlags),
          excludes: .init(caps: ["CAP_SYS_ADMIN"], arches: ["s390", "s390x"])),
    allow("clone", args: [.init(index: 1, value: cloneNamespaceFlags, op: .maskedEqual)],
          comment: "s390 parameter ordering for clone is different",
          includes: arches("s390", "s390x"), excludes: caps("CAP_SYS_ADMIN")),
    // ENOSYS rather than EPERM, so that libcs fall back to clone(2), whose flags can be checked.
    SeccompProfile.Syscall(names: ["clone3"], action: .errno, errnoRet: 38, excludes: caps("CAP_SYS_ADMIN")),
    allow("reboot", includes: caps("CAP_SYS_BOOT")),
    allow("chroot", includes: caps("CAP_SYS_CHROOT")),
    allow("delete_module init_module finit_module", includes: caps("CAP_SYS_MODULE")),
    allow("acct", includes: caps("CAP_SYS_PACCT")),
    allow("kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace",
          includes: caps("CAP_SYS_PTRACE")),
    allow("iopl ioperm", includes: caps("CAP_SYS_RAWIO")),
    allow("settimeofday stime clock_settime clock_settime64", includes: caps("CAP_SYS_TIME")),
    allow("vhangup", includes: caps("CAP_SYS_TTY_CONFIG")),
    allow("get_mempolicy mbind set_mempolicy set_mempolicy_home_node", includes: caps("CAP_SYS_NICE")),
    allow("syslog", includes: caps("CAP_SYSLOG")),
    allow("bpf", includes: caps("CAP_BPF")),
    allow("perf_event_open", includes: caps("CAP_PERFMON")),
]
