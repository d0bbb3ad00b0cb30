#pragma once
#include "shoal_wire.h"
