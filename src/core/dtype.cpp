// Out-of-line pieces of dtype.h live here when they grow; the library needs one source to link.
#include "core/dtype.h"
