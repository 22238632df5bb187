// poller.h: readiness notification over many sockets: epoll on Linux, poll(2)
// elsewhere. Each fd is registered with a 64-bit id, never a pointer, so an
// event that arrives for an object closed meanwhile is simply not found.
#ifndef CQ_CORE_POLLER_H
#define CQ_CORE_POLLER_H

#include <cstdint>
#include <vector>

namespace cq {

enum : uint32_t { kReadable = 1u << 0, kWritable = 1u << 1, kHangup = 1u << 2 };

struct Ready {
    uint64_t id;
    uint32_t events; // kReadable | kWritable | kHangup
};

class Poller {
  public:
    Poller() = default;
    Poller(const Poller &) = delete;
    Poller &operator=(const Poller &) = delete;
    ~Poller();

    static constexpr int kMaxBatch = 256; // readiness reports per wait()

    int open(); // 0 or errno
    // A fd that is readable when wait(0) would report something; -1 if none.
    int pollable_fd() const;
    // True when changes made during wait() need a wake-up to take effect.
    bool changes_need_wakeup() const;

    int add(int fd, uint64_t id, uint32_t events);
    int modify(int fd, uint64_t id, uint32_t events);
    void remove(int fd);

    // Called with the owner's lock held, before wait(): poll(2) copies the set.
    void prepare();
    // Called without the lock: fills out (cleared first). timeout_ms -1: forever.
    int wait(std::vector<Ready> &out, int timeout_ms);

  private:
#ifdef __linux__
    int epfd_ = -1;
#else
    struct Entry {
        int fd;
        uint64_t id;
        uint32_t events;
    };
    std::vector<Entry> entries_;
    std::vector<Entry> snapshot_;
#endif
};

} // namespace cq

#endif // CQ_CORE_POLLER_H
