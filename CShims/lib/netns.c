#include "sh_netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

int sh_socket_in_netns(int nsfd, int domain, int type, int protocol) {
    int saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (saved < 0) return -errno;
    if (setns(nsfd, CLONE_NEWNET) < 0) {
        int e = errno;
        close(saved);
        return -e;
    }
    int fd = socket(domain, type | SOCK_CLOEXEC, protocol);
    int e = errno;
    int back = setns(saved, CLONE_NEWNET);
    close(saved);
    if (back < 0) {
        if (fd >= 0) close(fd);
        return -EREMCHG;
    }
    return fd < 0 ? -e : fd;
}
