#pragma once
// Capability names and numbers as libcap and the running kernel know them. Policy (which set a
// container gets) lives in Swift (ShoalRuntime/Security/Capabilities.swift).

// The number of a capability named with its CAP_ prefix, in any case ("CAP_CHOWN", "cap_chown"),
// or -1 when libcap does not know the name. Bare numbers, which libcap also parses, are refused.
int sh_cap_from_name(const char *name);
// Writes the upper-case name ("CAP_CHOWN") of capability `cap` into buf. Returns 0, or -ERANGE
// when buf is too small, -EINVAL when libcap has no name for it (a kernel newer than libcap).
int sh_cap_to_name(int cap, char *buf, unsigned long size);
// The highest capability number the running kernel supports (CAP_LAST_CAP as it knows it).
int sh_cap_last_cap(void);
