// Container logs in the CRI format kubelet reads:
//   2016-10-06T00:17:09.669794202Z stdout F a complete line
//   2016-10-06T00:17:09.669794202Z stdout P the first 16 KiB of a longer line
// A line longer than 16 KiB is split into partial (P) records, as containerd does. The file is
// rotated by size: path → path.1 → … → path.N, the oldest dropped.
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES (16 * 1024)

struct sb_stream {
    char buf[LINE_MAX_BYTES];
    size_t len;
};

struct sb_log {
    char path[SH_PATH_MAX];
    int fd;
    uint64_t size;
    uint64_t max_size;
    uint32_t max_files;
    struct sb_stream streams[2];
};

int64_t sb_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void sb_logf(const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (n > (int)sizeof(buf) - 2) n = (int)sizeof(buf) - 2;
    buf[n++] = '\n';
    ssize_t unused = write(2, buf, (size_t)n);
    (void)unused;
}

static int open_file(struct sb_log *log) {
    log->fd = open(log->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (log->fd < 0) return -errno;
    struct stat sb;
    log->size = fstat(log->fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    return 0;
}

struct sb_log *sb_log_open(const char *path, uint64_t max_size, uint32_t max_files) {
    struct sb_log *log = calloc(1, sizeof(*log));
    if (log == NULL) return NULL;
    snprintf(log->path, sizeof(log->path), "%s", path);
    log->max_size = max_size;
    log->max_files = max_files;
    if (open_file(log) < 0) {
        sb_logf("open log %s: %s", path, strerror(errno));
        free(log);
        return NULL;
    }
    return log;
}

// Renames before closing: a reader following the file treats a close of the live name as
// "this container's output is complete", so a rotation must never look like that.
static void rotate(struct sb_log *log) {
    char from[SH_PATH_MAX + 16], to[SH_PATH_MAX + 16];
    if (log->max_files == 0) {
        unlink(log->path);
    } else {
        for (uint32_t i = log->max_files; i > 1; i--) {
            snprintf(from, sizeof(from), "%s.%u", log->path, i - 1);
            snprintf(to, sizeof(to), "%s.%u", log->path, i);
            rename(from, to);
        }
        snprintf(to, sizeof(to), "%s.1", log->path);
        rename(log->path, to);
    }
    close(log->fd);
    if (open_file(log) < 0) sb_logf("reopen log %s: %s", log->path, strerror(errno));
}

static void write_record(struct sb_log *log, int is_stderr, char tag, const char *data, size_t len) {
    if (log->fd < 0) return;
    char prefix[64];
    int64_t now = sb_now_ns();
    time_t secs = (time_t)(now / 1000000000LL);
    struct tm tm;
    gmtime_r(&secs, &tm);
    int n = snprintf(prefix, sizeof(prefix), "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ %s %c ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)(now % 1000000000LL),
                     is_stderr ? "stderr" : "stdout", tag);
    uint64_t record = (uint64_t)n + len + 1;
    if (log->max_size > 0 && log->size > 0 && log->size + record > log->max_size) rotate(log);
    struct iovec iov[3] = {{prefix, (size_t)n}, {(void *)data, len}, {"\n", 1}};
    ssize_t w = writev(log->fd, iov, 3);
    if (w > 0) log->size += (uint64_t)w;
}

// Splits the bytes into records: complete lines as F; a line that fills the buffer as P.
static void consume(struct sb_log *log, int is_stderr, const char *data, size_t len) {
    struct sb_stream *s = &log->streams[is_stderr ? 1 : 0];
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t take = nl ? (size_t)(nl - data) : len;
        size_t room = LINE_MAX_BYTES - s->len;
        if (take > room) take = room;
        memcpy(s->buf + s->len, data, take);
        s->len += take;
        data += take;
        len -= take;
        if (nl != NULL && data == nl) {
            write_record(log, is_stderr, 'F', s->buf, s->len);
            s->len = 0;
            data++;
            len--;
        } else if (s->len == LINE_MAX_BYTES) {
            write_record(log, is_stderr, 'P', s->buf, s->len);
            s->len = 0;
        }
    }
}

int sb_log_pump(struct sb_log *log, int fd, int is_stderr) {
    char chunk[32 * 1024];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n > 0) {
            if (log != NULL) consume(log, is_stderr, chunk, (size_t)n);
            continue;
        }
        if (n == 0) return 0;
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return 1;
        return 0;
    }
}

void sb_log_flush(struct sb_log *log, int is_stderr) {
    if (log == NULL) return;
    struct sb_stream *s = &log->streams[is_stderr ? 1 : 0];
    if (s->len > 0) write_record(log, is_stderr, 'F', s->buf, s->len);
    s->len = 0;
}

void sb_log_close(struct sb_log *log) {
    if (log == NULL) return;
    sb_log_flush(log, 0);
    sb_log_flush(log, 1);
    if (log->fd >= 0) close(log->fd);
    free(log);
}
