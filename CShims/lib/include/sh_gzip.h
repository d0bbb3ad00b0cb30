#pragma once
// A streaming gzip decoder over zlib for the image importer: push compressed bytes in, take
// inflated bytes out, never holding a whole blob. Concatenated members (pigz, `cat a.gz b.gz`)
// decode as one stream, as gzip(1) does; trailing zero padding after the last member is ignored.
#include <stddef.h>
#include <stdint.h>

typedef struct sh_gzip sh_gzip;

// Return codes.
#define SH_GZIP_OK 0     // progress made; call again with more input or more output room
#define SH_GZIP_ERROR -1 // corrupt or truncated data: see sh_gzip_error

// NULL when out of memory.
sh_gzip *sh_gzip_new(void);
void sh_gzip_free(sh_gzip *z);

// Decodes from in[0..in_len) into out[0..out_cap). On return *in_used bytes of input were
// consumed and *out_len bytes were produced. Either may be 0 when the other buffer is the
// limiting one; the caller loops until it has no input left and no output was produced.
int sh_gzip_inflate(sh_gzip *z, const uint8_t *in, size_t in_len, size_t *in_used,
                    uint8_t *out, size_t out_cap, size_t *out_len);

// Called once the input is exhausted: SH_GZIP_OK if the stream ended at a member boundary,
// SH_GZIP_ERROR if it was truncated (or empty).
int sh_gzip_finish(sh_gzip *z);

// A static description of the last error ("invalid block type", "truncated gzip stream").
const char *sh_gzip_error(const sh_gzip *z);
