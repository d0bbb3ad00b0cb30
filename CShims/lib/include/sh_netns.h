// Sockets in another network namespace (probes into a pod's netns).
#pragma once

// Creates a socket in the network namespace `nsfd` refers to (an fd of /proc/PID/ns/net) and
// puts the calling thread back into the namespace it was in; the socket keeps the namespace it
// was created in. Call it only on a thread of its own, never on a thread of a shared pool: if
// going back fails, the thread stays in the other namespace (-EREMCHG is returned then, with the
// socket closed). Returns the socket (close-on-exec) or -errno.
int sh_socket_in_netns(int nsfd, int domain, int type, int protocol);
