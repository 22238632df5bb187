// resp.h: the RESP2 codec, independent of sockets and of the queue.
//
// Parsing is incremental: the caller keeps the bytes received so far and asks
// again when more arrive. Each call first scans without allocating (so an
// incomplete 16 MiB frame costs a header parse, not a copy), then builds.
#ifndef CQ_CORE_RESP_H
#define CQ_CORE_RESP_H

#include <string>

#include "cq.h"

namespace cq::resp {

// What a parse attempt found.
struct Parsed {
    long consumed = 0;         // > 0: bytes of one frame; 0: need more; < 0: error code
    cq_value *value = nullptr; // the frame (owned by the caller) when consumed > 0
    const char *message = "";  // why, when consumed < 0
};

// One reply of any RESP2 type (the client side).
Parsed parse_reply(const char *buf, size_t len, const cq_limits &limits);

// One command: an array of bulk strings, or an inline line such as "PING\r\n"
// (the server side). An empty inline line yields consumed > 0, value NULL.
Parsed parse_command(const char *buf, size_t len, const cq_limits &limits);

// Appends a command (an array of bulk strings).
void encode_command(std::string &out, size_t argc, const char *const *argv, const size_t *lens);

// Appends a value; returns CQ_E_INVALID (and appends nothing) when RESP cannot
// carry it: CR or LF inside a simple string or an error.
int encode_value(std::string &out, const cq_value &value);

// Appends "-<message>\r\n".
void encode_error(std::string &out, const char *message);

} // namespace cq::resp

#endif // CQ_CORE_RESP_H
