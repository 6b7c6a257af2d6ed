/*
 * cpy3 v0.2.0 was written against CPython 3.7 and refers to functions that
 * later CPython releases removed. This header shadows the real Python.h (its
 * directory comes first on the include path, see scripts/cgoflags.py) and
 * gives those names no-op definitions so cpy3 compiles on 3.10-3.12. rollbench
 * never calls them.
 */
#ifndef ROLLBENCH_PYTHON_COMPAT_H
#define ROLLBENCH_PYTHON_COMPAT_H

#include_next <Python.h>

#if PY_VERSION_HEX >= 0x03090000
static inline int PyDict_ClearFreeList(void) { return 0; }
static inline int PyFloat_ClearFreeList(void) { return 0; }
static inline int PyList_ClearFreeList(void) { return 0; }
static inline void PyEval_ReInitThreads(void) {}
#endif

#endif
