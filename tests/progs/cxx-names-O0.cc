/*
 * cxx-names-O0 - cxx-names.cc unoptimised, whatever CXXFLAGS say: the
 * standard library's lock wrappers (__gthread_mutex_lock,
 * std::mutex::lock(), std::lock_guard) are frames of their own, in the
 * program's module with files under /usr/include.
 */
#pragma GCC optimize("O0")
#include "cxx-names.cc"
