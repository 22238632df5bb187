// value.cc: allocation and release of cq_value trees.
#include <cstdlib>
#include <cstring>

#include "cq.h"

extern "C" {

cq_value *
cq_value_new(void) noexcept
{
    return static_cast<cq_value *>(std::calloc(1, sizeof(cq_value)));
}

void
cq_value_clear(cq_value *value) noexcept
{
    if (value == nullptr)
        return;
    for (size_t i = 0; i < value->count; i++)
        cq_value_clear(&value->items[i]);
    std::free(value->items);
    std::free(value->data);
    std::memset(value, 0, sizeof *value);
}

void
cq_value_free(cq_value *value) noexcept
{
    cq_value_clear(value);
    std::free(value);
}

int
cq_value_set_string(cq_value *value, cq_value_type type, const char *data, size_t len) noexcept
{
    if (type != CQ_SIMPLE && type != CQ_ERROR && type != CQ_BULK)
        return CQ_E_INVALID;
    // One extra byte so that every string is also a C string, for messages.
    char *copy = static_cast<char *>(std::malloc(len + 1));
    if (copy == nullptr)
        return CQ_E_NOMEM;
    if (len)
        std::memcpy(copy, data, len);
    copy[len] = '\0';
    cq_value_clear(value);
    value->type = type;
    value->data = copy;
    value->len = len;
    return CQ_OK;
}

void
cq_value_set_integer(cq_value *value, int64_t integer) noexcept
{
    cq_value_clear(value);
    value->type = CQ_INTEGER;
    value->integer = integer;
}

int
cq_value_set_array(cq_value *value, size_t count) noexcept
{
    cq_value *items = nullptr;
    if (count) {
        items = static_cast<cq_value *>(std::calloc(count, sizeof(cq_value)));
        if (items == nullptr)
            return CQ_E_NOMEM;
    }
    cq_value_clear(value);
    value->type = CQ_ARRAY;
    value->items = items;
    value->count = count;
    return CQ_OK;
}

} // extern "C"
