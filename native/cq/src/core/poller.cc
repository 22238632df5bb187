// poller.cc: see poller.h.
#include "poller.h"

#include <cerrno>
#include <unistd.h>

#ifdef __linux__
#include <sys/epoll.h>
#else
#include <poll.h>
#endif

namespace cq {

#ifdef __linux__

Poller::~Poller()
{
    if (epfd_ >= 0)
        ::close(epfd_);
}

int
Poller::open()
{
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    return epfd_ < 0 ? errno : 0;
}

int
Poller::pollable_fd() const
{
    return epfd_;
}

// epoll_ctl from another thread takes effect even during epoll_wait.
bool
Poller::changes_need_wakeup() const
{
    return false;
}

static uint32_t
to_epoll(uint32_t events)
{
    // Level-triggered: the queue reads and writes until EAGAIN only when it can,
    // and a later round sees whatever is left.
    return (events & kReadable ? EPOLLIN | EPOLLRDHUP : 0u) | (events & kWritable ? EPOLLOUT : 0u);
}

int
Poller::add(int fd, uint64_t id, uint32_t events)
{
    epoll_event ev{};
    ev.events = to_epoll(events);
    ev.data.u64 = id;
    return epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0 ? errno : 0;
}

int
Poller::modify(int fd, uint64_t id, uint32_t events)
{
    epoll_event ev{};
    ev.events = to_epoll(events);
    ev.data.u64 = id;
    return epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) < 0 ? errno : 0;
}

void
Poller::remove(int fd)
{
    epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
}

void
Poller::prepare()
{
}

int
Poller::wait(std::vector<Ready> &out, int timeout_ms)
{
    epoll_event events[kMaxBatch];
    out.clear();
    int n = epoll_wait(epfd_, events, kMaxBatch, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : errno;
    for (int i = 0; i < n; i++) {
        uint32_t e = events[i].events;
        uint32_t ready = 0;
        if (e & (EPOLLIN | EPOLLRDHUP))
            ready |= kReadable;
        if (e & EPOLLOUT)
            ready |= kWritable;
        if (e & (EPOLLHUP | EPOLLERR))
            ready |= kHangup | kReadable;
        out.push_back(Ready{events[i].data.u64, ready});
    }
    return 0;
}

#else // poll(2): portable, O(n) per wait, enough for macOS and the BSDs.

Poller::~Poller() {}
int
Poller::open()
{
    return 0;
}
int
Poller::pollable_fd() const
{
    return -1;
}
bool
Poller::changes_need_wakeup() const
{
    return true;
}

int
Poller::add(int fd, uint64_t id, uint32_t events)
{
    entries_.push_back(Entry{fd, id, events});
    return 0;
}

int
Poller::modify(int fd, uint64_t id, uint32_t events)
{
    for (auto &e : entries_)
        if (e.fd == fd) {
            e.id = id;
            e.events = events;
            return 0;
        }
    return ENOENT;
}

void
Poller::remove(int fd)
{
    for (size_t i = 0; i < entries_.size(); i++)
        if (entries_[i].fd == fd) {
            entries_[i] = entries_.back();
            entries_.pop_back();
            return;
        }
}

void
Poller::prepare()
{
    snapshot_ = entries_;
}

int
Poller::wait(std::vector<Ready> &out, int timeout_ms)
{
    std::vector<pollfd> fds(snapshot_.size());
    for (size_t i = 0; i < fds.size(); i++) {
        fds[i].fd = snapshot_[i].fd;
        fds[i].events = (snapshot_[i].events & kReadable ? POLLIN : 0) |
                        (snapshot_[i].events & kWritable ? POLLOUT : 0);
    }
    out.clear();
    int n = ::poll(fds.data(), fds.size(), timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : errno;
    for (size_t i = 0; i < fds.size() && n > 0; i++) {
        short r = fds[i].revents;
        if (!r)
            continue;
        n--;
        uint32_t ready = 0;
        if (r & POLLIN)
            ready |= kReadable;
        if (r & POLLOUT)
            ready |= kWritable;
        if (r & (POLLHUP | POLLERR | POLLNVAL))
            ready |= kHangup | kReadable;
        out.push_back(Ready{snapshot_[i].id, ready});
    }
    return 0;
}

#endif

} // namespace cq
