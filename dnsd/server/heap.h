// The heap around a load: pages faulted in ahead of it in bulk, and given back after it.
// A load of 50,000 Services builds and frees about 140 MB of short-lived objects; in this
// VM a page faulted in one at a time costs about 15 µs, so faults alone were a third of it.
#pragma once

#include <cstddef>

namespace dnsd::server {

// Makes about `bytes` of the calling thread's heap resident with one madvise() per block
// (MADV_POPULATE_WRITE, about 4 µs a page here instead of 15) and leaves it free for the load
// to use: main() turned glibc's own trimming off, so the freed blocks stay. Best effort: on
// a kernel without MADV_POPULATE_WRITE (before 5.14) the pages are faulted in later instead.
void prefaultHeap(size_t bytes);

// Gives every free page of every arena back to the system after a load (see heap.cc).
void trimHeap();

}  // namespace dnsd::server
