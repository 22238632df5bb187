// resp.cc: RESP parsing and encoding (see resp.h).
#include "resp.h"

#include <charconv>
#include <cstdlib>
#include <cstring>

namespace cq::resp {
namespace {

// A header or inline line longer than this is an attack or a bug, not a
// command: redis-server uses the same 64 KiB bound (PROTO_INLINE_MAX_SIZE).
constexpr size_t kMaxLine = 64 * 1024;

// A strict signed decimal: no spaces, no '+', no overflow.
bool
parse_int(const char *first, const char *last, int64_t *out)
{
    if (first == last)
        return false;
    auto [ptr, ec] = std::from_chars(first, last, *out);
    return ec == std::errc() && ptr == last;
}

// Bytes that can never start an inline command: control characters. A TLS
// record (0x15 alert, 0x16 handshake) sent to a plain-text port is refused at
// once instead of waiting for a newline that never comes.
bool
bad_inline_start(unsigned char c)
{
    return (c < 0x20 && c != '\r' && c != '\n' && c != '\t') || c == 0x7f;
}

bool
is_space(char c)
{
    return c == ' ' || c == '\t';
}

// An inline command: one line of words separated by spaces (what telnet and
// redis-benchmark's PING_INLINE send). A bare LF ends the line too.
// 1: parsed (*out is an array, or left CQ_NIL for an empty line); 0: need more.
int
parse_inline(const char *buf, size_t len, size_t *pos, cq_value *out, const char **message)
{
    size_t avail = len - *pos;
    size_t window = avail < kMaxLine + 1 ? avail : kMaxLine + 1;
    const char *first = buf + *pos;
    const void *lf = std::memchr(first, '\n', window);
    if (lf == nullptr) {
        if (avail > kMaxLine) {
            *message = "Protocol error: too big inline request";
            return CQ_E_TOO_LARGE;
        }
        return 0;
    }
    const char *last = static_cast<const char *>(lf);
    size_t next = static_cast<size_t>(last - buf) + 1;
    if (last > first && last[-1] == '\r')
        last--;
    size_t words = 0;
    for (const char *p = first; p < last;) {
        while (p < last && is_space(*p))
            p++;
        if (p == last)
            break;
        words++;
        while (p < last && !is_space(*p))
            p++;
    }
    if (words) {
        if (cq_value_set_array(out, words) != CQ_OK)
            goto nomem;
        size_t i = 0;
        for (const char *p = first; p < last;) {
            while (p < last && is_space(*p))
                p++;
            if (p == last)
                break;
            const char *word = p;
            while (p < last && !is_space(*p))
                p++;
            if (cq_value_set_string(&out->items[i++], CQ_BULK, word, p - word) != CQ_OK)
                goto nomem;
        }
    }
    *pos = next;
    return 1;
nomem:
    *message = "out of memory";
    return CQ_E_NOMEM;
}

} // namespace

Parser::~Parser()
{
    reset();
}

void
Parser::reset()
{
    cq_value_free(root_);
    root_ = nullptr;
    stack_.clear();
    in_bulk_ = false;
    frame_bytes_ = 0;
}

// The slot of the item whose first line is being parsed: the root, or the
// next item of the innermost open array. Counting it in the array at once
// (before it is complete) means cq_value_free() always finds it.
cq_value *
Parser::target()
{
    if (stack_.empty())
        return root_;
    Level &top = stack_.back();
    if (top.array->count == top.capacity && grow(top) != CQ_OK)
        return nullptr;
    cq_value *slot = &top.array->items[top.array->count++];
    std::memset(slot, 0, sizeof *slot);
    return slot;
}

// Items are allocated as they arrive, not all at once from the header: a
// peer that announces a million elements and sends none costs nothing.
int
Parser::grow(Level &level)
{
    size_t capacity = level.capacity ? level.capacity * 2 : 16;
    if (capacity > level.expected)
        capacity = level.expected;
    void *items = std::realloc(level.array->items, capacity * sizeof(cq_value));
    if (items == nullptr)
        return CQ_E_NOMEM;
    level.array->items = static_cast<cq_value *>(items);
    level.capacity = capacity;
    return CQ_OK;
}

// One item was completed: closes every array that it completed in turn.
int
Parser::item_done()
{
    while (!stack_.empty()) {
        const Level &top = stack_.back();
        if (top.array->count < top.expected)
            return 0;
        stack_.pop_back(); // that array is complete: it was its parent's last item
    }
    return 1;
}

// Parses the line at *pos. 2: that completed the frame; 1: progress; 0: need
// more bytes (nothing taken); < 0: an error code, *message says why.
int
Parser::parse_line(const char *buf, size_t len, size_t *pos, const cq_limits &limits,
                   const char **message)
{
    const char type = buf[*pos];
    const bool top = root_ == nullptr;
    // The type byte is checked before looking for the end of its line: a
    // peer that is not speaking RESP is refused now, as hiredis does.
    if (mode_ == Mode::Command) {
        if (top && type != '*') {
            if (bad_inline_start(static_cast<unsigned char>(type))) {
                *message = "Protocol error: unexpected control byte";
                return CQ_E_PROTOCOL;
            }
            cq_value *value = cq_value_new();
            if (value == nullptr) {
                *message = "out of memory";
                return CQ_E_NOMEM;
            }
            root_ = value;
            int r = parse_inline(buf, len, pos, root_, message);
            if (r == 0) { // nothing kept: the line is parsed whole once it is there
                cq_value_free(root_);
                root_ = nullptr;
            }
            return r == 1 ? 2 : r;
        }
        if (!top && type != '$') {
            *message = "Protocol error: expected '$'";
            return CQ_E_PROTOCOL;
        }
    } else if (type != '+' && type != '-' && type != ':' && type != '$' && type != '*') {
        *message = "Protocol error: invalid type byte";
        return CQ_E_PROTOCOL;
    }

    size_t avail = len - *pos;
    size_t window = avail < kMaxLine + 2 ? avail : kMaxLine + 2;
    const void *lf = std::memchr(buf + *pos, '\n', window);
    if (lf == nullptr) {
        if (avail > kMaxLine) {
            *message = "Protocol error: too big line";
            return CQ_E_TOO_LARGE;
        }
        return 0;
    }
    size_t at = static_cast<size_t>(static_cast<const char *>(lf) - buf);
    if (at == *pos || buf[at - 1] != '\r') {
        *message = "Protocol error: line not terminated by CRLF";
        return CQ_E_PROTOCOL;
    }
    const char *line = buf + *pos + 1;
    const char *line_end = buf + at - 1;
    const size_t line_bytes = at + 1 - *pos;
    if (frame_bytes_ + line_bytes > limits.max_frame) {
        *message = "Protocol error: frame larger than the size limit";
        return CQ_E_TOO_LARGE;
    }
    int64_t n = 0;
    if ((type == ':' || type == '$' || type == '*') && !parse_int(line, line_end, &n)) {
        *message = type == ':'   ? "Protocol error: invalid integer"
                   : type == '$' ? "Protocol error: invalid bulk length"
                                 : "Protocol error: invalid multibulk length";
        return CQ_E_PROTOCOL;
    }
    if ((type == '$' || type == '*') && n < (mode_ == Mode::Command && type == '$' ? 0 : -1)) {
        *message = type == '$' ? "Protocol error: invalid bulk length"
                               : "Protocol error: invalid multibulk length";
        return CQ_E_PROTOCOL;
    }
    if (type == '*' && n > 0 && static_cast<uint64_t>(n) > limits.max_elements) {
        *message = mode_ == Mode::Command ? "Protocol error: invalid multibulk length"
                                          : "Protocol error: too many array elements";
        return CQ_E_TOO_LARGE;
    }
    if (type == '*' && n > 0 && stack_.size() + 1 > limits.max_depth) {
        *message = "Protocol error: arrays nested too deeply";
        return CQ_E_TOO_LARGE;
    }
    if (type == '$' && n >= 0 &&
        (static_cast<uint64_t>(n) > limits.max_frame ||
         frame_bytes_ + line_bytes + static_cast<uint64_t>(n) + 2 > limits.max_frame)) {
        *message = "Protocol error: frame larger than the size limit";
        return CQ_E_TOO_LARGE;
    }

    if (top) {
        root_ = cq_value_new();
        if (root_ == nullptr) {
            *message = "out of memory";
            return CQ_E_NOMEM;
        }
    }
    if (mode_ == Mode::Command && top && n <= 0) {
        // "*0" and "*-1" are empty commands, as in redis-server: root_ stays nil.
        *pos = at + 1;
        return 2;
    }
    cq_value *slot = target();
    if (slot == nullptr) {
        *message = "out of memory";
        return CQ_E_NOMEM;
    }
    *pos = at + 1;
    frame_bytes_ += line_bytes;
    switch (type) {
    case '+':
    case '-':
        if (cq_value_set_string(slot, type == '+' ? CQ_SIMPLE : CQ_ERROR, line, line_end - line) !=
            CQ_OK) {
            *message = "out of memory";
            return CQ_E_NOMEM;
        }
        break;
    case ':':
        cq_value_set_integer(slot, n);
        break;
    case '$':
        if (n == -1)
            break; // the RESP2 nil: the slot stays CQ_NIL
        in_bulk_ = true;
        bulk_len_ = n;
        return 1;
    default: // '*'
        // -1: a nil array.
        if (n == -1)
            break;
        cq_value_set_array(slot, 0); // items are added as they arrive
        if (n == 0)
            break;
        stack_.push_back(Level{slot, static_cast<size_t>(n), 0});
        return 1;
    }
    return item_done() ? 2 : 1;
}

Parser::Step
Parser::feed(const char *buf, size_t len, const cq_limits &limits)
{
    Step step;
    size_t pos = 0;
    int r = 0;
    while (pos < len) {
        if (in_bulk_) {
            // The body is not scanned while it arrives: waiting costs nothing.
            size_t need = static_cast<size_t>(bulk_len_) + 2;
            if (len - pos < need)
                break;
            const char *body = buf + pos;
            if (body[bulk_len_] != '\r' || body[bulk_len_ + 1] != '\n') {
                step.message = "Protocol error: bulk string not terminated by CRLF";
                r = CQ_E_PROTOCOL;
                break;
            }
            // The slot is the last item of the innermost array, or the root.
            cq_value *slot = stack_.empty()
                                 ? root_
                                 : &stack_.back().array->items[stack_.back().array->count - 1];
            if (cq_value_set_string(slot, CQ_BULK, body, static_cast<size_t>(bulk_len_)) != CQ_OK) {
                step.message = "out of memory";
                r = CQ_E_NOMEM;
                break;
            }
            in_bulk_ = false;
            pos += need;
            frame_bytes_ += need;
            r = item_done() ? 2 : 1;
        } else {
            r = parse_line(buf, len, &pos, limits, &step.message);
        }
        if (r <= 0 || r == 2)
            break;
    }
    step.consumed = pos;
    if (r < 0) {
        reset();
        step.status = r;
        return step;
    }
    if (r == 2) {
        cq_value *value = root_;
        root_ = nullptr;
        reset();
        if (mode_ == Mode::Command && (value->type != CQ_ARRAY || value->count == 0)) {
            cq_value_free(value); // an empty command: consumed and ignored
            value = nullptr;
        }
        step.status = 1;
        step.value = value;
    }
    return step;
}

namespace {

void
append_header(std::string &out, char type, int64_t n)
{
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
    (void)ec;
    out.push_back(type);
    out.append(digits, end);
    out.append("\r\n", 2);
}

bool
has_newline(const cq_value &v)
{
    return std::memchr(v.data, '\r', v.len) != nullptr ||
           std::memchr(v.data, '\n', v.len) != nullptr;
}

void
append_value(std::string &out, const cq_value &v, bool resp3)
{
    switch (v.type) {
    case CQ_NIL:
        if (resp3)
            out.append("_\r\n", 3);
        else
            out.append("$-1\r\n", 5);
        break;
    case CQ_SIMPLE:
    case CQ_ERROR:
        out.push_back(v.type == CQ_SIMPLE ? '+' : '-');
        out.append(v.data, v.len);
        out.append("\r\n", 2);
        break;
    case CQ_INTEGER:
        append_header(out, ':', v.integer);
        break;
    case CQ_BULK:
        append_header(out, '$', static_cast<int64_t>(v.len));
        out.append(v.data, v.len);
        out.append("\r\n", 2);
        break;
    case CQ_ARRAY:
        append_header(out, '*', static_cast<int64_t>(v.count));
        for (size_t i = 0; i < v.count; i++)
            append_value(out, v.items[i], resp3);
        break;
    }
}

} // namespace

bool
encodable(const cq_value &v)
{
    switch (v.type) {
    case CQ_SIMPLE:
    case CQ_ERROR:
        return !has_newline(v);
    case CQ_ARRAY:
        for (size_t i = 0; i < v.count; i++)
            if (!encodable(v.items[i]))
                return false;
        return true;
    default:
        return true;
    }
}

void
encode_command(std::string &out, size_t argc, const char *const *argv, const size_t *lens)
{
    append_header(out, '*', static_cast<int64_t>(argc));
    for (size_t i = 0; i < argc; i++) {
        append_header(out, '$', static_cast<int64_t>(lens[i]));
        out.append(argv[i], lens[i]);
        out.append("\r\n", 2);
    }
}

void
encode_value(std::string &out, const cq_value &value, bool resp3)
{
    append_value(out, value, resp3);
}

void
encode_error(std::string &out, const char *message)
{
    out.push_back('-');
    out.append(message);
    out.append("\r\n", 2);
}

} // namespace cq::resp
