// fork.h: telling a child of fork() from the process that made an object.
//
// After fork() the child shares the parent's epoll set, eventfd and sockets
// (the same open files), but has only the thread that called fork(). Following
// grpc's doc/fork_support.md, a queue made before the fork is unusable in the
// child: every operation on it fails with CQ_E_FORKED, and closing it there
// never touches the parent's registrations (no EPOLL_CTL_DEL on the shared
// set, no wake-up write) nor joins a thread that does not exist. A queue
// created in the child works normally.
#ifndef CQ_CORE_FORK_H
#define CQ_CORE_FORK_H

#include <cstdint>

namespace cq {

// Incremented in the child at every fork() (pthread_atfork), never otherwise.
uint64_t fork_generation() noexcept;

} // namespace cq

#endif // CQ_CORE_FORK_H
