// The heap around a load: pages faulted in ahead of it in bulk, and given back after it.
// A large load builds and frees several times its zone in short-lived objects, and a page
// faulted in one at a time is slow in a VM: faulting them in bulk saves much of the load.
#pragma once

#include <cstddef>
#include <thread>

namespace dnsd::server {

// Makes about `bytes` of the calling thread's heap resident, with one madvise() per block
// (MADV_POPULATE_WRITE, in huge pages where the system allows), and leaves it free for the
// load to use: main() turned glibc's own trimming off, so the freed blocks stay. The memory
// is claimed on the calling thread and made resident on a thread of this object's while the
// load goes on: in a VM fresh memory sometimes stalls, and reading the manifests hides that. wait() (or the destructor) joins.
// Best effort: on a kernel without MADV_POPULATE_WRITE (before 5.14) the pages are faulted
// in later instead.
class HeapPrefault {
 public:
  explicit HeapPrefault(size_t bytes);
  HeapPrefault(const HeapPrefault&) = delete;
  HeapPrefault& operator=(const HeapPrefault&) = delete;
  ~HeapPrefault() { wait(); }
  void wait();

 private:
  std::thread thread_;
};

// Gives every free page of every arena back to the system after a load (see heap.cc).
void trimHeap();

}  // namespace dnsd::server
