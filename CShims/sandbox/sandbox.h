// Internal interfaces of the shoal-sandbox process.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shoal_wire.h"

// program.c
int sb_program_validate(const void *prog, size_t len);
// Runs in the cloned child; execs or writes (step, errno) to errpipe and exits 127.
void sb_program_run(const void *prog, const struct sh_spawn_req *req, const int *fds, int nfds, int errpipe,
                    int out_fd, int err_fd) __attribute__((noreturn));

// log.c: one CRI log file fed by a process' stdout and stderr pipes.
struct sb_log;
struct sb_log *sb_log_open(const char *path, uint64_t max_size, uint32_t max_files);
// Reads what the pipe holds now and appends it as CRI lines. Returns 0 at EOF, 1 otherwise.
int sb_log_pump(struct sb_log *log, int fd, int is_stderr);
// Writes any partial line still buffered for the stream (at EOF).
void sb_log_flush(struct sb_log *log, int is_stderr);
void sb_log_close(struct sb_log *log);

// console.c: SH_OP_CONSOLE (the container's terminal; the master goes out over sock).
int sb_console(int sock, int64_t rows, int64_t cols);

int64_t sb_now_ns(void);
void sb_logf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
