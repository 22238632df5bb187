// resp.h: the RESP codec, independent of sockets and of the queue.
//
// Parsing is resumable: a Parser keeps the frame it is building between
// calls and takes bytes off the front of the caller's buffer as soon as a
// line or a bulk string is complete, so a large frame that arrives in small
// pieces costs each byte once (the way redis keeps multibulklen and argv in
// its client struct), never a re-scan from the frame's start.
#ifndef CQ_CORE_RESP_H
#define CQ_CORE_RESP_H

#include <cstdint>
#include <string>
#include <vector>

#include "cq.h"

namespace cq::resp {

class Parser {
  public:
    enum class Mode {
        Command, // an array of bulk strings, or an inline line such as "PING\r\n"
        Reply    // any RESP2 value
    };

    // What one call found.
    struct Step {
        size_t consumed = 0;       // bytes to drop from the front of the buffer, whatever status
        int status = 0;            // 1: a frame is complete; 0: need more bytes; < 0: error code
        cq_value *value = nullptr; // status 1: the frame, owned by the caller (NULL for an
                                   // empty command such as "\r\n" or "*0\r\n")
        const char *message = "";  // status < 0: why, for the peer
    };

    explicit Parser(Mode mode) : mode_(mode) {}
    ~Parser();
    Parser(const Parser &) = delete;
    Parser &operator=(const Parser &) = delete;

    // Parses from the front of buf until one frame completes, the bytes run
    // out or an error. After an error the parser must not be fed again.
    Step feed(const char *buf, size_t len, const cq_limits &limits);

  private:
    struct Level {
        cq_value *array; // its items fill up from 0 to `expected`
        size_t expected;
        size_t capacity;
    };

    cq_value *target();
    int grow(Level &level);
    int item_done(); // 1 when that completed the frame
    int parse_line(const char *buf, size_t len, size_t *pos, const cq_limits &limits,
                   const char **message);
    void reset();

    Mode mode_;
    cq_value *root_ = nullptr; // the frame being built
    std::vector<Level> stack_; // open arrays, outermost first
    bool in_bulk_ = false;     // a bulk header was read, its body is awaited
    int64_t bulk_len_ = 0;
    size_t frame_bytes_ = 0; // bytes of the current frame taken so far
};

// Appends a command (an array of bulk strings).
void encode_command(std::string &out, size_t argc, const char *const *argv, const size_t *lens);

// True when RESP can carry value: no CR or LF inside a simple string or error.
bool encodable(const cq_value &value);

// Appends an encodable value; with resp3 a nil is "_\r\n" (RESP3's null).
void encode_value(std::string &out, const cq_value &value, bool resp3 = false);

// Appends "-<message>\r\n".
void encode_error(std::string &out, const char *message);

} // namespace cq::resp

#endif // CQ_CORE_RESP_H
