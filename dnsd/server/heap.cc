#include "dnsd/server/heap.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <latch>
#include <mutex>
#include <thread>
#include <vector>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older glibc headers lack the name
#endif

namespace dnsd::server {

HeapPrefault::HeapPrefault(size_t bytes) {
  // Blocks under main()'s M_MMAP_THRESHOLD (32 MiB) come from the heap, one after another;
  // freed, they merge into its top, where the load's own allocations then find them. They
  // are claimed here, on the calling thread: another thread's malloc() would use its own
  // arena. Freeing them first is safe, as MADV_POPULATE_WRITE faults pages in without
  // writing to them.
  constexpr size_t kBlock = 16 << 20;
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  std::vector<void*> blocks;
  std::vector<std::pair<uintptr_t, size_t>> ranges;
  for (size_t done = 0; done < bytes; done += kBlock) {
    void* block = std::malloc(kBlock);
    if (!block) break;
    blocks.push_back(block);
    const auto at = reinterpret_cast<uintptr_t>(block);
    const uintptr_t start = (at + page - 1) & ~(page - 1);
    ranges.emplace_back(start, ((at + kBlock) & ~(page - 1)) - start);
  }
  for (void* block : blocks) std::free(block);
  if (ranges.empty()) return;  // nothing to claim (a load from the API alone)
  thread_ = std::thread([ranges = std::move(ranges)] {
    for (const auto& [start, size] : ranges) {
      // Transparent huge pages where the system leaves them to madvise (Debian's default):
      // a large load then takes a fraction of the page faults, and less user time too, from
      // fewer TLB misses (docs/benchmarks.md). Refused (THP "never"),
      // the range is populated with small pages as before. The flag is taken off once the
      // pages are in: the huge pages stay, but khugepaged would otherwise fill the holes the
      // trim after the load leaves, and RSS would grow by half within a minute.
      void* range = reinterpret_cast<void*>(start);
      ::madvise(range, size, MADV_HUGEPAGE);
      const int populated = ::madvise(range, size, MADV_POPULATE_WRITE);
      ::madvise(range, size, MADV_NOHUGEPAGE);
      if (populated != 0) break;
    }
  });
}

void HeapPrefault::wait() {
  if (thread_.joinable()) thread_.join();
}

namespace {

// How many arenas malloc has made: malloc_info()'s <heap nr="..."> elements, the main one
// included.
size_t arenaCount() {
  char* text = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&text, &size);
  if (!out) return 1;
  malloc_info(0, out);
  std::fclose(out);
  size_t count = 0;
  for (const char* at = text; (at = std::strstr(at, "<heap nr=")) != nullptr; ++at) ++count;
  std::free(text);
  return count;
}

}  // namespace

// A load leaves the heap full of freed parse trees and records: give them back to the
// system, or a large cluster keeps several times its zone resident. (main()
// turned glibc's own trimming off, so that a load reuses its pages instead of faulting
// them in again.) malloc_trim() returns the free pages inside every arena but shrinks only
// the main arena's top; another arena's top stays resident until a free of 64 KiB or more
// lands in it while the trim threshold is low. A load's threads (the parsers, the halves of
// normalize and records, the disposal) leave one such arena each, how many depending on
// which of them ran at the same time. glibc gives a new thread the arena of a thread that
// has ended, a different one to each of several threads alive together: so one thread per
// arena each does such a free and waits for the others, and every arena's top goes back,
// however the load's threads overlapped. (The threads that outlive a load hold arenas of
// their own that are not handed out: the threads meant for them then make new arenas,
// each a few pages, up to malloc's limit.)
void trimHeap() {
  static std::mutex trimming;
  std::lock_guard lock(trimming);
  auto bigFree = [] {
    auto* block = static_cast<volatile char*>(std::malloc(256 << 10));
    if (block) block[0] = 0;
    std::free(const_cast<char*>(block));
  };
  mallopt(M_TRIM_THRESHOLD, 128 << 10);
  malloc_trim(0);
  bigFree();  // this thread's arena, in case it is not the main one
  const size_t others = std::max<size_t>(arenaCount(), 2) - 1;
  std::latch freed(static_cast<std::ptrdiff_t>(others));
  std::vector<std::thread> threads;
  threads.reserve(others);
  for (size_t i = 0; i < others; ++i)
    threads.emplace_back([&] {
      bigFree();
      freed.arrive_and_wait();
    });
  for (std::thread& thread : threads) thread.join();
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
}

}  // namespace dnsd::server
