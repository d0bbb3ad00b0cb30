// C the Swift side calls. Each concern has its own header in this directory; all are exported
// to Swift as the module `CShims`.
#pragma once
#include "shoal_wire.h"
#include "sh_spawn.h"
#include "sh_sys.h"
#include "sh_seccomp.h"
#include "sh_caps.h"
#include "sh_gzip.h"
