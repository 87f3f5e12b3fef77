// fuzz::fail: a failed check prints what went wrong and aborts, so libFuzzer keeps the input
// as a crash. Shared by every target.
#pragma once

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace dnsd::fuzz {

[[noreturn]] inline void fail(const char* format, ...) {
  va_list args;
  va_start(args, format);
  std::fputs("fuzz check failed: ", stderr);
  std::vfprintf(stderr, format, args);
  std::fputc('\n', stderr);
  va_end(args);
  std::abort();
}

}  // namespace dnsd::fuzz
