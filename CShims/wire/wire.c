#include "shoal_wire.h"
int sh_wire_version(void) { return 1; }
