// net.cc: socket helpers shared by the channel and the server.
#include <cerrno>
#include <cstdio>
#include <cstddef>
#include <cstring>

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 // macOS: SO_NOSIGPIPE is set on the socket instead
#endif

namespace cq {

namespace {
// Bytes per recv(): a 16 MiB frame takes many rounds, never a giant zeroed buffer.
constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kReadBudget = 1 << 20;
} // namespace

int
read_some(int fd, Buffer &in, bool *eof)
{
    char chunk[kReadChunk];
    size_t total = 0;
    *eof = false;
    while (total < kReadBudget) {
        ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n > 0) {
            in.append(chunk, static_cast<size_t>(n));
            total += static_cast<size_t>(n);
            // A short read emptied the socket: asking again would only say
            // EAGAIN, one wasted syscall per wake-up (a request each at
            // redis-benchmark -P 1). Readiness is level-triggered: more data,
            // or the peer's EOF, is reported by the next poll.
            if (static_cast<size_t>(n) < sizeof chunk)
                return 0;
        } else if (n == 0) {
            *eof = true;
            return 0;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return 0;
        } else {
            return errno;
        }
    }
    return 0;
}

int
write_some(int fd, Buffer &out)
{
    while (out.size()) {
        ssize_t n = ::send(fd, out.begin(), out.size(), MSG_NOSIGNAL);
        if (n > 0) {
            out.consume(static_cast<size_t>(n));
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return 0;
        } else {
            return n < 0 ? errno : CQ_E_CLOSED;
        }
    }
    return 0;
}

int
open_socket(int family, int *out)
{
#ifdef SOCK_NONBLOCK
    int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
#else
    int fd = ::socket(family, SOCK_STREAM, 0);
    if (fd < 0)
        return errno;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
#endif
#ifdef SO_NOSIGPIPE
    // macOS has no MSG_NOSIGNAL: a write to a closed peer must not kill Python.
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    *out = fd;
    return 0;
}

void
set_nodelay(int fd)
{
    // Requests and replies are small and latency-bound: no Nagle delay. TCP
    // only: callers skip AF_UNIX sockets, which have no Nagle to turn off.
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

const char *
unix_path(const char *host)
{
    static const char kPrefix[] = "unix:";
    if (host && std::strncmp(host, kPrefix, sizeof kPrefix - 1) == 0)
        return host + sizeof kPrefix - 1;
    return nullptr;
}

namespace {

// "unix:PATH" as a sockaddr_un. The path must fit sun_path with its NUL
// (107 bytes on Linux, 103 on macOS): the kernel would cut a longer one, or
// refuse it, and a server could then listen on another path than asked.
int
resolve_unix(const char *path, sockaddr_storage *addr, unsigned *addrlen, int *family)
{
    sockaddr_un un{};
    size_t len = std::strlen(path);
    if (len == 0 || len >= sizeof un.sun_path)
        return CQ_E_INVALID;
    un.sun_family = AF_UNIX;
    std::memcpy(un.sun_path, path, len + 1);
    static_assert(sizeof un <= sizeof *addr, "sockaddr_storage holds a sockaddr_un");
    std::memcpy(addr, &un, sizeof un);
    *addrlen = static_cast<unsigned>(offsetof(sockaddr_un, sun_path) + len + 1);
    *family = AF_UNIX;
    return 0;
}

} // namespace

int
resolve(const char *host, int port, bool passive, sockaddr_storage *addr, unsigned *addrlen,
        int *family)
{
    if (const char *path = unix_path(host))
        return resolve_unix(path, addr, addrlen, family); // the port is ignored
    if (port < 0 || port > 65535)
        return CQ_E_INVALID;
    char service[8];
    std::snprintf(service, sizeof service, "%d", port);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    addrinfo *found = nullptr;
    if (getaddrinfo(host && *host ? host : nullptr, service, &hints, &found) != 0 || !found)
        return CQ_E_RESOLVE;
    // Prefer IPv4: "localhost" often lists ::1 first while servers such as
    // redis-server listen on 127.0.0.1 only.
    addrinfo *pick = found;
    for (addrinfo *a = found; a; a = a->ai_next)
        if (a->ai_family == AF_INET) {
            pick = a;
            break;
        }
    std::memcpy(addr, pick->ai_addr, pick->ai_addrlen);
    *addrlen = static_cast<unsigned>(pick->ai_addrlen);
    *family = pick->ai_family;
    freeaddrinfo(found);
    return 0;
}

} // namespace cq
