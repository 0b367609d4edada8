// Hand-built Arrow arrays and C Streams for tests, from the specification's layouts: an arena
// that owns every buffer and struct (release callbacks count their calls), and a C Stream
// producer over prepared batches. Shared by the Arrow importer and Arrow reader tests.
#pragma once
#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "ecostat/host/arrow_c.hpp"

namespace ecostat::testing {

// A producer's release: releases the children and the dictionary (as the specification asks
// of a base structure's callback), counts the call and marks the struct released.
inline void release_array(ArrowArray* a) {
  for (int64_t i = 0; i < a->n_children; ++i)
    if (a->children[i]->release) a->children[i]->release(a->children[i]);
  if (a->dictionary && a->dictionary->release) a->dictionary->release(a->dictionary);
  ++*static_cast<int*>(a->private_data);
  a->release = nullptr;
}

inline void release_schema(ArrowSchema* s) {
  for (int64_t i = 0; i < s->n_children; ++i)
    if (s->children[i]->release) s->children[i]->release(s->children[i]);
  if (s->dictionary && s->dictionary->release) s->dictionary->release(s->dictionary);
  ++*static_cast<int*>(s->private_data);
  s->release = nullptr;
}

// Owns every buffer and struct of the arrays a test builds; deques keep addresses stable.
class Arena {
 public:
  template <class T>
  const void* buffer(const std::vector<T>& values) {
    auto& b = bytes_.emplace_back(values.size() * sizeof(T) + 1);  // +1: never a null data()
    if (!values.empty()) std::memcpy(b.data(), values.data(), values.size() * sizeof(T));
    return b.data();
  }
  // Validity bitmap, least significant bit first.
  const void* bitmap(const std::vector<bool>& valid) {
    std::vector<uint8_t> bits((valid.size() + 7) / 8, 0);
    for (size_t i = 0; i < valid.size(); ++i)
      if (valid[i]) bits[i / 8] |= uint8_t(1u << (i % 8));
    return buffer(bits);
  }

  ArrowArray* array(int64_t length, int64_t null_count, std::vector<const void*> buffers,
                    std::vector<ArrowArray*> children = {}, ArrowArray* dictionary = nullptr) {
    auto& bufs = buffer_lists_.emplace_back(std::move(buffers));
    auto& kids = array_children_.emplace_back(std::move(children));
    ArrowArray& a = arrays_.emplace_back();
    a.length = length;
    a.null_count = null_count;
    a.offset = 0;
    a.n_buffers = static_cast<int64_t>(bufs.size());
    a.n_children = static_cast<int64_t>(kids.size());
    a.buffers = bufs.data();
    a.children = kids.empty() ? nullptr : kids.data();
    a.dictionary = dictionary;
    a.release = release_array;
    a.private_data = &array_releases.emplace_back(0);
    return &a;
  }

  ArrowSchema* schema(const char* format, const char* name, std::vector<ArrowSchema*> children = {},
                      ArrowSchema* dictionary = nullptr) {
    auto& kids = schema_children_.emplace_back(std::move(children));
    ArrowSchema& s = schemas_.emplace_back();
    s.format = strings_.emplace_back(format).c_str();
    s.name = name ? strings_.emplace_back(name).c_str() : nullptr;
    s.metadata = nullptr;
    s.flags = ARROW_FLAG_NULLABLE;
    s.n_children = static_cast<int64_t>(kids.size());
    s.children = kids.empty() ? nullptr : kids.data();
    s.dictionary = dictionary;
    s.release = release_schema;
    s.private_data = &schema_releases.emplace_back(0);
    return &s;
  }

  // utf8 ('u', int32 offsets) or large_utf8 ('U', int64 offsets); nullopt is a null.
  template <class Offset = int32_t>
  ArrowArray* strings(const std::vector<std::optional<std::string>>& values) {
    std::vector<Offset> offsets{0};
    std::string data;
    std::vector<bool> valid;
    int64_t nulls = 0;
    for (const auto& v : values) {
      if (v) data += *v;
      offsets.push_back(static_cast<Offset>(data.size()));
      valid.push_back(v.has_value());
      nulls += !v;
    }
    return array(static_cast<int64_t>(values.size()), nulls,
                 {nulls ? bitmap(valid) : nullptr, buffer(offsets), buffer(std::vector<char>(data.begin(), data.end()))});
  }

  // string_view ('vu'): strings of up to 12 bytes inline, longer ones alternately in two
  // variadic data buffers (so the buffer index matters), then the int64 sizes buffer.
  ArrowArray* string_views(const std::vector<std::optional<std::string>>& values) {
    std::vector<uint8_t> views(16 * values.size(), 0);
    std::vector<char> data[2];
    std::vector<bool> valid;
    int64_t nulls = 0, long_ones = 0;
    for (size_t i = 0; i < values.size(); ++i) {
      valid.push_back(values[i].has_value());
      nulls += !values[i];
      if (!values[i]) continue;
      const std::string& s = *values[i];
      uint8_t* v = &views[16 * i];
      const int32_t len = static_cast<int32_t>(s.size());
      std::memcpy(v, &len, 4);
      if (s.size() <= 12) {
        std::memcpy(v + 4, s.data(), s.size());
        continue;
      }
      const int32_t which = static_cast<int32_t>(long_ones++ % 2);
      const int32_t at = static_cast<int32_t>(data[which].size());
      data[which].insert(data[which].end(), s.begin(), s.end());
      std::memcpy(v + 4, s.data(), 4);  // prefix
      std::memcpy(v + 8, &which, 4);
      std::memcpy(v + 12, &at, 4);
    }
    const std::vector<int64_t> sizes{static_cast<int64_t>(data[0].size()), static_cast<int64_t>(data[1].size())};
    return array(static_cast<int64_t>(values.size()), nulls,
                 {nulls ? bitmap(valid) : nullptr, buffer(views), buffer(data[0]), buffer(data[1]), buffer(sizes)});
  }

  template <class T>
  ArrowArray* primitive(const std::vector<std::optional<T>>& values) {
    std::vector<T> v;
    std::vector<bool> valid;
    int64_t nulls = 0;
    for (const auto& x : values) {
      v.push_back(x.value_or(T{}));
      valid.push_back(x.has_value());
      nulls += !x;
    }
    return array(static_cast<int64_t>(values.size()), nulls, {nulls ? bitmap(valid) : nullptr, buffer(v)});
  }

  // A record batch: a struct array over `columns`, all `length` rows long.
  ArrowArray* batch(int64_t length, std::vector<ArrowArray*> columns) {
    return array(length, 0, {nullptr}, std::move(columns));
  }

  std::deque<int> array_releases, schema_releases;

 private:
  std::deque<std::vector<uint8_t>> bytes_;
  std::deque<std::vector<const void*>> buffer_lists_;
  std::deque<std::vector<ArrowArray*>> array_children_;
  std::deque<std::vector<ArrowSchema*>> schema_children_;
  std::deque<ArrowArray> arrays_;
  std::deque<ArrowSchema> schemas_;
  std::deque<std::string> strings_;
};

// A C Stream producer over prepared batches: get_next moves each one out; the stream's release
// releases the batches it never handed out.
struct TestStream {
  ArrowSchema* schema = nullptr;
  std::vector<ArrowArray*> batches;
  size_t next = 0;
  int fail_next_at = -1;  // the get_next call that fails (0-based)
  bool fail_schema = false;
  std::string last_error;
  int releases = 0;
  int calls = 0;
};

inline int stream_get_schema(ArrowArrayStream* s, ArrowSchema* out) {
  auto* t = static_cast<TestStream*>(s->private_data);
  if (t->fail_schema) {
    t->last_error = "schema unavailable: bucket gone";
    return EINVAL;
  }
  *out = *t->schema;
  t->schema->release = nullptr;
  return 0;
}

inline int stream_get_next(ArrowArrayStream* s, ArrowArray* out) {
  auto* t = static_cast<TestStream*>(s->private_data);
  if (t->calls++ == t->fail_next_at) {
    t->last_error = "row group 2: checksum mismatch";
    return EIO;
  }
  if (t->next == t->batches.size()) {
    out->release = nullptr;  // end of stream
    return 0;
  }
  *out = *t->batches[t->next];
  t->batches[t->next++]->release = nullptr;
  return 0;
}

inline const char* stream_last_error(ArrowArrayStream* s) {
  return static_cast<TestStream*>(s->private_data)->last_error.c_str();
}

inline void stream_release(ArrowArrayStream* s) {
  auto* t = static_cast<TestStream*>(s->private_data);
  for (size_t i = t->next; i < t->batches.size(); ++i)
    if (t->batches[i]->release) t->batches[i]->release(t->batches[i]);
  if (t->schema->release) t->schema->release(t->schema);
  ++t->releases;
  s->release = nullptr;
}

inline ArrowArrayStream make_stream(TestStream* t) {
  ArrowArrayStream s{};
  s.get_schema = stream_get_schema;
  s.get_next = stream_get_next;
  s.get_last_error = stream_last_error;
  s.release = stream_release;
  s.private_data = t;
  return s;
}

// Every struct the arena built was released exactly once (children through their parent).
inline void check_all_released_once(const Arena& ar) {
  for (int n : ar.array_releases) CHECK(n == 1);
  for (int n : ar.schema_releases) CHECK(n == 1);
}


}  // namespace ecostat::testing
