// resp.cc: RESP2 parsing and encoding (see resp.h).
#include "resp.h"

#include <charconv>
#include <cstring>

namespace cq::resp {
namespace {

// A header or inline line longer than this is an attack or a bug, not a
// command: redis-server uses the same 64 KiB bound (PROTO_INLINE_MAX_SIZE).
constexpr size_t kMaxLine = 64 * 1024;

struct Cursor {
    const char *buf;
    size_t len;
    size_t pos;
    size_t start;
    const cq_limits &limits;
    const char *message;
};

int
fail(Cursor &c, int code, const char *message)
{
    c.message = message;
    return code;
}

// Finds the CRLF that ends the line at c.pos. 1: found (*eol is the index of
// '\r'); 0: need more bytes; < 0: error.
int
find_line(Cursor &c, size_t *eol)
{
    size_t avail = c.len - c.pos;
    size_t window = avail < kMaxLine + 2 ? avail : kMaxLine + 2;
    const void *lf = std::memchr(c.buf + c.pos, '\n', window);
    if (lf == nullptr) {
        if (avail > kMaxLine)
            return fail(c, CQ_E_TOO_LARGE, "Protocol error: too big line");
        return 0;
    }
    size_t at = static_cast<size_t>(static_cast<const char *>(lf) - c.buf);
    if (at == c.pos || c.buf[at - 1] != '\r')
        return fail(c, CQ_E_PROTOCOL, "Protocol error: line not terminated by CRLF");
    *eol = at - 1;
    return 1;
}

// A strict signed decimal: no spaces, no '+', no overflow.
bool
parse_int(const char *first, const char *last, int64_t *out)
{
    if (first == last)
        return false;
    auto [ptr, ec] = std::from_chars(first, last, *out);
    return ec == std::errc() && ptr == last;
}

int parse_any(Cursor &c, unsigned depth, cq_value *out);

int
parse_bulk_body(Cursor &c, int64_t n, size_t body, cq_value *out)
{
    if (static_cast<uint64_t>(n) > c.limits.max_frame ||
        body + n + 2 - c.start > c.limits.max_frame)
        return fail(c, CQ_E_TOO_LARGE, "Protocol error: frame larger than the size limit");
    if (c.len < body + n + 2)
        return 0;
    if (c.buf[body + n] != '\r' || c.buf[body + n + 1] != '\n')
        return fail(c, CQ_E_PROTOCOL, "Protocol error: bulk string not terminated by CRLF");
    if (out && cq_value_set_string(out, CQ_BULK, c.buf + body, n) != CQ_OK)
        return fail(c, CQ_E_NOMEM, "out of memory");
    c.pos = body + n + 2;
    return 1;
}

int
parse_any(Cursor &c, unsigned depth, cq_value *out)
{
    if (c.pos >= c.len)
        return 0;
    size_t eol = 0;
    int found = find_line(c, &eol);
    if (found <= 0)
        return found;
    const char type = c.buf[c.pos];
    const char *line = c.buf + c.pos + 1;
    const char *line_end = c.buf + eol;
    const size_t next = eol + 2;
    int64_t n = 0;
    switch (type) {
    case '+':
    case '-':
        if (out && cq_value_set_string(out, type == '+' ? CQ_SIMPLE : CQ_ERROR, line,
                                       line_end - line) != CQ_OK)
            return fail(c, CQ_E_NOMEM, "out of memory");
        c.pos = next;
        return 1;
    case ':':
        if (!parse_int(line, line_end, &n))
            return fail(c, CQ_E_PROTOCOL, "Protocol error: invalid integer");
        if (out)
            cq_value_set_integer(out, n);
        c.pos = next;
        return 1;
    case '$':
        if (!parse_int(line, line_end, &n) || n < -1)
            return fail(c, CQ_E_PROTOCOL, "Protocol error: invalid bulk length");
        if (n == -1) { // the RESP2 nil
            c.pos = next;
            return 1;
        }
        return parse_bulk_body(c, n, next, out);
    case '*': {
        if (!parse_int(line, line_end, &n) || n < -1)
            return fail(c, CQ_E_PROTOCOL, "Protocol error: invalid multibulk length");
        if (n == -1) { // a nil array
            c.pos = next;
            return 1;
        }
        if (static_cast<uint64_t>(n) > c.limits.max_elements)
            return fail(c, CQ_E_TOO_LARGE, "Protocol error: too many array elements");
        if (depth + 1 > c.limits.max_depth)
            return fail(c, CQ_E_TOO_LARGE, "Protocol error: arrays nested too deeply");
        if (out && cq_value_set_array(out, static_cast<size_t>(n)) != CQ_OK)
            return fail(c, CQ_E_NOMEM, "out of memory");
        c.pos = next;
        for (int64_t i = 0; i < n; i++) {
            int r = parse_any(c, depth + 1, out ? &out->items[i] : nullptr);
            if (r <= 0)
                return r;
            if (c.pos - c.start > c.limits.max_frame)
                return fail(c, CQ_E_TOO_LARGE, "Protocol error: frame larger than the size limit");
        }
        return 1;
    }
    default:
        return fail(c, CQ_E_PROTOCOL, "Protocol error: unknown type byte");
    }
}

// A multibulk command: every element must be a bulk string.
int
parse_multibulk(Cursor &c, cq_value *out)
{
    size_t eol = 0;
    int found = find_line(c, &eol);
    if (found <= 0)
        return found;
    int64_t n = 0;
    if (!parse_int(c.buf + c.pos + 1, c.buf + eol, &n))
        return fail(c, CQ_E_PROTOCOL, "Protocol error: invalid multibulk length");
    if (n > 0 && static_cast<uint64_t>(n) > c.limits.max_elements)
        return fail(c, CQ_E_TOO_LARGE, "Protocol error: invalid multibulk length");
    c.pos = eol + 2;
    if (n <= 0)
        return 1; // "*0" and "*-1" are empty commands, as in redis-server
    if (out && cq_value_set_array(out, static_cast<size_t>(n)) != CQ_OK)
        return fail(c, CQ_E_NOMEM, "out of memory");
    for (int64_t i = 0; i < n; i++) {
        if (c.pos >= c.len)
            return 0;
        if (c.buf[c.pos] != '$')
            return fail(c, CQ_E_PROTOCOL, "Protocol error: expected '$'");
        found = find_line(c, &eol);
        if (found <= 0)
            return found;
        int64_t len = 0;
        if (!parse_int(c.buf + c.pos + 1, c.buf + eol, &len) || len < 0)
            return fail(c, CQ_E_PROTOCOL, "Protocol error: invalid bulk length");
        int r = parse_bulk_body(c, len, eol + 2, out ? &out->items[i] : nullptr);
        if (r <= 0)
            return r;
    }
    return 1;
}

// An inline command: one line of words separated by spaces (what telnet and
// redis-benchmark's PING_INLINE send). A bare LF ends the line too.
int
parse_inline(Cursor &c, cq_value *out)
{
    size_t avail = c.len - c.pos;
    size_t window = avail < kMaxLine + 1 ? avail : kMaxLine + 1;
    const void *lf = std::memchr(c.buf + c.pos, '\n', window);
    if (lf == nullptr) {
        if (avail > kMaxLine)
            return fail(c, CQ_E_TOO_LARGE, "Protocol error: too big inline request");
        return 0;
    }
    const char *first = c.buf + c.pos;
    const char *last = static_cast<const char *>(lf);
    size_t next = static_cast<size_t>(last - c.buf) + 1;
    if (last > first && last[-1] == '\r')
        last--;
    size_t words = 0;
    for (const char *p = first; p < last;) {
        while (p < last && (*p == ' ' || *p == '\t'))
            p++;
        if (p == last)
            break;
        words++;
        while (p < last && *p != ' ' && *p != '\t')
            p++;
    }
    if (out && words) {
        if (cq_value_set_array(out, words) != CQ_OK)
            return fail(c, CQ_E_NOMEM, "out of memory");
        size_t i = 0;
        for (const char *p = first; p < last;) {
            while (p < last && (*p == ' ' || *p == '\t'))
                p++;
            if (p == last)
                break;
            const char *word = p;
            while (p < last && *p != ' ' && *p != '\t')
                p++;
            if (cq_value_set_string(&out->items[i++], CQ_BULK, word, p - word) != CQ_OK)
                return fail(c, CQ_E_NOMEM, "out of memory");
        }
    }
    c.pos = next;
    return 1;
}

// Scan first (no allocation), build only a complete frame.
template <typename Fn>
Parsed
run(const char *buf, size_t len, const cq_limits &limits, Fn parse)
{
    Parsed result;
    Cursor scan{buf, len, 0, 0, limits, ""};
    int r = parse(scan, nullptr);
    if (r <= 0) {
        result.consumed = r;
        result.message = scan.message;
        return result;
    }
    cq_value *value = cq_value_new();
    if (value == nullptr) {
        result.consumed = CQ_E_NOMEM;
        result.message = "out of memory";
        return result;
    }
    Cursor build{buf, len, 0, 0, limits, ""};
    r = parse(build, value);
    if (r <= 0) {
        cq_value_free(value);
        result.consumed = r < 0 ? r : CQ_E_PROTOCOL;
        result.message = build.message;
        return result;
    }
    result.consumed = static_cast<long>(build.pos);
    result.value = value;
    return result;
}

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
append_value(std::string &out, const cq_value &v)
{
    switch (v.type) {
    case CQ_NIL:
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
            append_value(out, v.items[i]);
        break;
    }
}

} // namespace

Parsed
parse_reply(const char *buf, size_t len, const cq_limits &limits)
{
    return run(buf, len, limits, [](Cursor &c, cq_value *out) { return parse_any(c, 0, out); });
}

Parsed
parse_command(const char *buf, size_t len, const cq_limits &limits)
{
    Parsed result;
    if (len == 0)
        return result;
    result = run(buf, len, limits, [](Cursor &c, cq_value *out) {
        return c.buf[0] == '*' ? parse_multibulk(c, out) : parse_inline(c, out);
    });
    // An empty command ("\r\n", "*0\r\n") is consumed and ignored.
    if (result.value != nullptr && result.value->type != CQ_ARRAY) {
        cq_value_free(result.value);
        result.value = nullptr;
    }
    return result;
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

int
encode_value(std::string &out, const cq_value &value)
{
    if (!encodable(value))
        return CQ_E_INVALID;
    append_value(out, value);
    return CQ_OK;
}

void
encode_error(std::string &out, const char *message)
{
    out.push_back('-');
    out.append(message);
    out.append("\r\n", 2);
}

} // namespace cq::resp
