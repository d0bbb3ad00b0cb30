#include "sh_gzip.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum state {
    IN_MEMBER,    // inside a gzip member (or before the first one)
    AFTER_MEMBER, // a member ended: a new one may start, or zero padding until EOF
    PADDING,      // seen zero bytes after a member: only zeros may follow
};

struct sh_gzip {
    z_stream zs;
    enum state state;
    int members; // members completed
    int started; // bytes of the current member were fed to zlib
    const char *error;
};

sh_gzip *sh_gzip_new(void) {
    sh_gzip *z = calloc(1, sizeof *z);
    if (!z) return NULL;
    // 16 + MAX_WBITS: expect a gzip header and trailer (CRC32 and length are checked by zlib).
    if (inflateInit2(&z->zs, 16 + MAX_WBITS) != Z_OK) {
        free(z);
        return NULL;
    }
    z->state = IN_MEMBER;
    return z;
}

void sh_gzip_free(sh_gzip *z) {
    if (!z) return;
    inflateEnd(&z->zs);
    free(z);
}

static int fail(sh_gzip *z, const char *msg) {
    z->error = msg;
    return SH_GZIP_ERROR;
}

int sh_gzip_inflate(sh_gzip *z, const uint8_t *in, size_t in_len, size_t *in_used,
                    uint8_t *out, size_t out_cap, size_t *out_len) {
    size_t used = 0, produced = 0;
    *in_used = 0;
    *out_len = 0;
    if (z->error) return SH_GZIP_ERROR;

    while (used < in_len || (z->state == IN_MEMBER && produced < out_cap && z->started)) {
        if (z->state == AFTER_MEMBER || z->state == PADDING) {
            if (used == in_len) break;
            if (z->state == AFTER_MEMBER && in[used] == 0x1f) {
                if (inflateReset(&z->zs) != Z_OK) return fail(z, "inflate reset failed");
                z->state = IN_MEMBER;
                z->started = 0;
                continue;
            }
            if (in[used] != 0) return fail(z, "trailing garbage after gzip stream");
            z->state = PADDING;
            used++;
            continue;
        }
        if (produced == out_cap) break;

        // zlib counts in uInt: feed at most 1 GiB per call so the casts cannot truncate.
        size_t avail_in = in_len - used, avail_out = out_cap - produced;
        if (avail_in > (1u << 30)) avail_in = 1u << 30;
        if (avail_out > (1u << 30)) avail_out = 1u << 30;
        z->zs.next_in = (Bytef *)(in + used);
        z->zs.avail_in = (uInt)avail_in;
        z->zs.next_out = out + produced;
        z->zs.avail_out = (uInt)avail_out;

        int rc = inflate(&z->zs, Z_NO_FLUSH);
        size_t consumed = avail_in - z->zs.avail_in;
        size_t made = avail_out - z->zs.avail_out;
        used += consumed;
        produced += made;
        if (consumed > 0) z->started = 1;

        if (rc == Z_STREAM_END) {
            z->state = AFTER_MEMBER;
            z->members++;
            continue;
        }
        if (rc == Z_BUF_ERROR) break; // needs more input or more output room: not an error
        if (rc == Z_NEED_DICT) return fail(z, "gzip stream needs a preset dictionary");
        if (rc == Z_DATA_ERROR) return fail(z, z->zs.msg ? z->zs.msg : "corrupt gzip data");
        if (rc == Z_MEM_ERROR) return fail(z, "out of memory in inflate");
        if (rc != Z_OK) return fail(z, "inflate failed");
        if (consumed == 0 && made == 0) break;
    }
    *in_used = used;
    *out_len = produced;
    return SH_GZIP_OK;
}

int sh_gzip_finish(sh_gzip *z) {
    if (z->error) return SH_GZIP_ERROR;
    if (z->state == IN_MEMBER) {
        return fail(z, z->members == 0 && !z->started ? "empty gzip stream" : "truncated gzip stream");
    }
    return SH_GZIP_OK;
}

const char *sh_gzip_error(const sh_gzip *z) {
    return z->error ? z->error : "no error";
}
