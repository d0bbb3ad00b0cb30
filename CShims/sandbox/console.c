// SH_OP_CONSOLE: a terminal for a container, opened inside its own devpts instance (what runc
// does with --console-socket). Runs in the sandbox's child after pivot_root, before setsid:
// opens /dev/pts/ptmx of the container, makes the slave its stdin, stdout and stderr, and sends
// the master over `sock` (one byte, the fd in SCM_RIGHTS) to whoever keeps the terminal.
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int sb_console(int sock, int64_t rows, int64_t cols) {
    if (sock < 0) return -EBADF;
    int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) return -errno;
    int err = 0;
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0) err = errno;
    if (err == 0 && rows > 0 && cols > 0) {
        struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
        if (ioctl(master, TIOCSWINSZ, &ws) < 0) err = errno;
    }
    // The peer by fd, not by path: no lookup of /dev/pts/N an image could interfere with.
    int slave = err == 0 ? ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY) : -1;
    if (err == 0 && slave < 0) err = errno;
    for (int fd = 0; err == 0 && fd < 3; fd++) {
        if (dup2(slave, fd) < 0) err = errno;
    }
    if (slave > 2) close(slave);
    if (err == 0) {
        char tag = 'T';
        int r = sh_send_msg(sock, &tag, 1, &master, 1);
        if (r < 0) err = -r;
    }
    close(master);
    close(sock);
    return -err;
}
