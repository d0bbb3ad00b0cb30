// See sh_caps.h.
#include "sh_caps.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/capability.h>
#include <unistd.h>

int sh_cap_from_name(const char *name) {
    cap_value_t value;
    if (name == NULL || strncasecmp(name, "cap_", 4) != 0) return -1;
    // cap_from_name also takes plain numbers ("12"); a capability is only ever named here.
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_') return -1;
    if (isdigit((unsigned char)name[4])) return -1;
    if (cap_from_name(name, &value) != 0) return -1;
    return (int)value;
}

int sh_cap_to_name(int cap, char *buf, unsigned long size) {
    if (cap < 0 || buf == NULL) return -EINVAL;
    char *name = cap_to_name((cap_value_t)cap);
    if (name == NULL) return -ENOMEM;
    int rc = 0;
    // libcap answers with the bare number for capabilities newer than itself.
    if (strncmp(name, "cap_", 4) != 0) {
        rc = -EINVAL;
    } else if (strlen(name) + 1 > size) {
        rc = -ERANGE;
    } else {
        for (size_t i = 0; name[i]; i++) buf[i] = (char)toupper((unsigned char)name[i]);
        buf[strlen(name)] = '\0';
    }
    cap_free(name);
    return rc;
}

int sh_cap_last_cap(void) {
    // The kernel's own answer first; cap_max_bits() is libcap's reading of the same file, with a
    // probe fallback, and is the right answer where /proc is not mounted.
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char buf[16];
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n > 0) {
            int v = 0, digits = 0;
            for (ssize_t i = 0; i < n && isdigit((unsigned char)buf[i]); i++, digits++)
                v = v * 10 + (buf[i] - '0');
            if (digits > 0 && v < 64) return v;
        }
    }
    return (int)cap_max_bits() - 1;
}
