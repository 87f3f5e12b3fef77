#include "dnsd/server/heap.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <cstdlib>
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

// A load leaves the heap full of freed parse trees and records: give them back to the
// system, or a large cluster keeps several times its zone resident. (main()
// turned glibc's own trimming off, so that a load reuses its pages instead of faulting
// them in again.) malloc_trim() returns the free pages inside every arena but shrinks only
// the main arena's top; another arena's top stays resident until a free
// of 64 KiB or more lands in it while the trim threshold is low. Loads run on the main
// thread (the watcher sends SIGHUP), so the only such arena is the parsing threads': with
// the threshold at glibc's default for a moment, a short thread takes that free arena and
// does such a free (and so does this thread, in case it is not the main one).
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
  bigFree();
  std::thread(bigFree).join();
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
}

}  // namespace dnsd::server
