// Everything lives in the header as static inline functions; this file gives SwiftPM a C target.
#include "CLapack.h"
