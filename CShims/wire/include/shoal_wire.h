#pragma once
int sh_wire_version(void);
