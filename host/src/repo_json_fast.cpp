// The fast path of parse_repo_json (repo_record.hpp): one repository record through simdjson's
// On-Demand API, for the records as the Hub and pandas write them. It takes a record only when
// it can prove the DOM path (parse_repo_json_dom) would give the same record: the whole line is
// valid JSON (every value is walked and checked, the keys the reader skips included), each field
// the reader uses has its usual type, no such key is repeated (the DOM keeps the last, this path
// would see the first) and every field rule passes. Anything else returns false and the DOM path
// decides, so each reject is written by one code path only. Built with ECOSTAT_SIMDJSON
// (cmake/EcostatSimdjson.cmake); without it the fast path declines every record.
#include <algorithm>
#include <cstring>
#include <iterator>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

#include "repo_record.hpp"

#if ECOSTAT_HAVE_SIMDJSON
#include <dlfcn.h>

#include <simdjson.h>
#endif

namespace ecostat::host::detail {

#if !ECOSTAT_HAVE_SIMDJSON

bool repo_json_fast_compiled() { return false; }
bool repo_json_fast_enabled() { return false; }
bool parse_repo_json_fast(std::string_view, const Window&, RepoRecord*) { return false; }

#else

bool repo_json_fast_compiled() { return true; }

namespace {

// pyarrow's libparquet and libarrow (the Parquet reader) carry their own, newer simdjson and
// export five of the symbols this file calls into libsimdjson. The build links libsimdjson
// ahead of them so that the dynamic linker binds these calls to it; should another library
// still come first (a consumer's own link order), the fast path stays off instead of mixing
// two simdjson versions (seen to crash), and the DOM path reads every record.
bool simdjson_bound_to_libsimdjson() {
  static const bool ours = [] {
    void* sym = ::dlsym(RTLD_DEFAULT, "_ZN8simdjson25get_active_implementationEv");
    if (sym == nullptr) sym = reinterpret_cast<void*>(&simdjson::get_active_implementation);
    Dl_info info{};
    return ::dladdr(sym, &info) != 0 && info.dli_fname != nullptr &&
           std::strstr(info.dli_fname, "libsimdjson") != nullptr;
  }();
  return ours;
}

namespace od = simdjson::ondemand;

// Longer lines go to the DOM path: a per-thread parser sized for them would stay that large.
constexpr size_t kMaxFastLine = size_t{1} << 20;
// Deeper values go to the DOM path too (simdjson's own limit is 1024; the walk recurses).
constexpr int kMaxDepth = 256;

// The top-level keys the reader uses, one slot each; aliases of one field are adjacent.
enum Slot : int {
  kId, kModelId, kModelIdSnake,
  kAuthor,
  kKind, kRepoType, kRepoTypeSnake, kType,
  kCreatedAt, kCreatedAtSnake,
  kLikes, kDownloads, kAllTime, kAllTimeSnake,
  kPipelineTag, kPipelineTagCamel, kLibraryName, kLibraryNameCamel,
  kTags, kSafetensors,
  kBaseModels, kBaseModelsSnake, kCardDataSnake, kCardData,
  kSlots, kUnused = -1
};

constexpr std::string_view kSlotNames[kSlots] = {
    "id", "modelId", "model_id", "author", "kind", "repoType", "repo_type", "type",
    "createdAt", "created_at", "likes", "downloads", "downloadsAllTime", "downloads_all_time",
    "pipeline_tag", "pipelineTag", "library_name", "libraryName", "tags", "safetensors",
    "baseModels", "base_models", "card_data", "cardData"};

// Length and first byte before the bytes: a record's dozen keys each meet 24 names, and a
// memcmp call per name of the same length was a few percent of the parse.
int slot_of(std::string_view key) {
  if (key.empty()) return kUnused;
  for (int i = 0; i < kSlots; ++i) {
    const std::string_view name = kSlotNames[i];
    if (name.size() == key.size() && name[0] == key[0] && std::memcmp(name.data(), key.data(), key.size()) == 0)
      return i;
  }
  return kUnused;
}

// A key as written, when it holds no escape (then it is the key itself): no copy into
// simdjson's string buffer, which unescaped_key() makes of every key. A key with an escape is
// false: the DOM path decides. The line is NUL-free and its padding zeros, and stage 1 checked
// that the key's string ends, so the scan for its closing quote stops within the line; an
// escaped quote comes after a backslash, which the check finds.
bool plain_key(const od::field& field, std::string_view* key) {
  const char* const p = field.key().raw();
  const char* const q = std::strchr(p, '"');
  if (q == nullptr) return false;
  *key = std::string_view(p, size_t(q - p));
  return std::memchr(p, '\\', key->size()) == nullptr;
}

// Walks a value the reader does not use, checking it is valid JSON (the DOM path parses it too).
bool skip_checked(od::value v, int depth) {
  if (depth > kMaxDepth) return false;
  od::json_type type;
  if (v.type().get(type)) return false;
  switch (type) {
    case od::json_type::object: {
      od::object obj;
      if (v.get_object().get(obj)) return false;
      for (auto f : obj) {
        od::field field;
        std::string_view key;
        if (std::move(f).get(field) || !plain_key(field, &key)) return false;
        if (!skip_checked(field.value(), depth + 1)) return false;
      }
      return true;
    }
    case od::json_type::array: {
      od::array arr;
      if (v.get_array().get(arr)) return false;
      for (auto e : arr) {
        od::value element;
        if (std::move(e).get(element) || !skip_checked(element, depth + 1)) return false;
      }
      return true;
    }
    case od::json_type::string: {
      std::string_view s;
      return !v.get_string().get(s);
    }
    case od::json_type::number: {
      od::number n;
      return !v.get_number().get(n);
    }
    case od::json_type::boolean: {
      bool b;
      return !v.get_bool().get(b);
    }
    case od::json_type::null: {
      bool is_null = false;
      return !v.is_null().get(is_null) && is_null;
    }
  }
  return false;
}

// What the record's fields hold, as read; applied through the field rules once the object ends.
// A list of tags is read straight into the record's own list (whose storage the caller keeps).
// One per thread, cleared per record: its lists keep their storage too.
struct Fields {
  bool seen[kSlots];
  bool present[kSlots];  // seen and not null
  std::string_view text[kSlots];
  uint64_t count[kSlots];
  bool created_is_number[kSlots];
  bool tags_are_text;
  uint64_t parameters;
  std::vector<ListedParent> base_models, card;

  void clear() {
    std::fill(std::begin(seen), std::end(seen), false);
    std::fill(std::begin(present), std::end(present), false);
    std::fill(std::begin(count), std::end(count), uint64_t{0});
    std::fill(std::begin(created_is_number), std::end(created_is_number), false);
    tags_are_text = false;
    parameters = 0;
    base_models.clear();
    card.clear();
  }
};

// A value that may be null: true (and the value consumed) when it is.
bool take_null(od::value& v, bool* null) {
  od::json_type type;
  if (v.type().get(type)) return false;
  *null = type == od::json_type::null;
  if (!*null) return true;
  bool is_null = false;
  return !v.is_null().get(is_null) && is_null;
}

// A count as the DOM path takes it without question: plain digits within u64 (a sign, a
// fraction or an exponent: the DOM path's rules).
bool read_count(od::value& v, uint64_t* out) {
  od::json_type type;
  if (v.type().get(type) || type != od::json_type::number) return false;
  return !v.get_uint64().get(*out);
}

bool read_text(od::value& v, std::string_view* out) {
  od::json_type type;
  if (v.type().get(type) || type != od::json_type::string) return false;
  return !v.get_string().get(*out);
}

// safetensors: an object whose `total` is a count or null.
bool read_safetensors(od::value& v, Fields* f) {
  od::object obj;
  if (v.get_object().get(obj)) return false;
  bool total_seen = false;
  for (auto r : obj) {
    od::field field;
    std::string_view key;
    if (std::move(r).get(field) || !plain_key(field, &key)) return false;
    od::value value = field.value();
    if (key != "total") {
      if (!skip_checked(value, 2)) return false;
      continue;
    }
    if (total_seen) return false;
    total_seen = true;
    bool null = false;
    if (!take_null(value, &null)) return false;
    if (!null && !read_count(value, &f->parameters)) return false;
  }
  return true;
}

bool read_tags(od::value& v, Fields* f, std::vector<std::string>* tags) {
  od::json_type type;
  if (v.type().get(type)) return false;
  if (type == od::json_type::string) {
    f->tags_are_text = true;
    return !v.get_string().get(f->text[kTags]);
  }
  if (type != od::json_type::array) return false;
  od::array arr;
  if (v.get_array().get(arr)) return false;
  for (auto e : arr) {
    od::value element;
    std::string_view s;
    if (std::move(e).get(element) || !read_text(element, &s)) return false;
    tags->emplace_back(s);
  }
  return true;
}

// One baseModels object {relation, models: [id or {id}]}; its ids join *out in listed order.
bool read_base_model_object(od::value& v, std::vector<ListedParent>* out) {
  od::object obj;
  if (v.get_object().get(obj)) return false;
  bool relation_seen = false, models_seen = false;
  Relation relation = Relation::unknown;
  const size_t first = out->size();
  for (auto r : obj) {
    od::field field;
    std::string_view key;
    if (std::move(r).get(field) || !plain_key(field, &key)) return false;
    od::value value = field.value();
    if (key == "relation") {
      if (relation_seen) return false;
      relation_seen = true;
      bool null = false;
      if (!take_null(value, &null)) return false;
      std::string_view s;
      if (!null) {
        if (!read_text(value, &s)) return false;
        relation = parse_relation(std::string(s));
      }
    } else if (key == "models") {
      if (models_seen) return false;
      models_seen = true;
      bool null = false;
      if (!take_null(value, &null)) return false;
      if (null) continue;
      od::array arr;
      if (value.get_array().get(arr)) return false;
      for (auto e : arr) {
        od::value model;
        od::json_type type;
        if (std::move(e).get(model) || model.type().get(type)) return false;
        std::string_view id;
        if (type == od::json_type::string) {
          if (model.get_string().get(id)) return false;
        } else if (type == od::json_type::object) {
          od::object entry;
          if (model.get_object().get(entry)) return false;
          bool id_seen = false;
          for (auto er : entry) {
            od::field ef;
            std::string_view ekey;
            if (std::move(er).get(ef) || !plain_key(ef, &ekey)) return false;
            od::value ev = ef.value();
            if (ekey == "id") {
              if (id_seen || !read_text(ev, &id)) return false;
              id_seen = true;
            } else if (!skip_checked(ev, 5)) {
              return false;
            }
          }
          if (!id_seen) return false;
        } else {
          return false;
        }
        out->push_back(ListedParent{id, Relation::unknown});
      }
    } else if (!skip_checked(value, 3)) {
      return false;
    }
  }
  for (size_t i = first; i < out->size(); ++i) (*out)[i].relation = relation;
  return true;
}

// baseModels: one object or a list of them.
bool read_base_models(od::value& v, Fields* f) {
  od::json_type type;
  if (v.type().get(type)) return false;
  if (type == od::json_type::object) return read_base_model_object(v, &f->base_models);
  if (type != od::json_type::array) return false;
  od::array arr;
  if (v.get_array().get(arr)) return false;
  for (auto e : arr) {
    od::value element;
    if (std::move(e).get(element) || !read_base_model_object(element, &f->base_models)) return false;
  }
  return true;
}

// card data as an object: base_model (a string or a list; other entries ignored, as the DOM
// path does) and base_model_relation (a string, else ignored).
bool read_card(od::value& v, Fields* f) {
  od::object obj;
  if (v.get_object().get(obj)) return false;
  bool base_seen = false, relation_seen = false;
  std::string_view relation;
  for (auto r : obj) {
    od::field field;
    std::string_view key;
    if (std::move(r).get(field) || !plain_key(field, &key)) return false;
    od::value value = field.value();
    od::json_type type;
    if (key == "base_model") {
      if (base_seen || value.type().get(type)) return false;
      base_seen = true;
      if (type == od::json_type::string) {
        std::string_view s;
        if (value.get_string().get(s)) return false;
        f->card.push_back(ListedParent{s, Relation::unknown});
      } else if (type == od::json_type::array) {
        od::array arr;
        if (value.get_array().get(arr)) return false;
        for (auto e : arr) {
          od::value element;
          od::json_type etype;
          if (std::move(e).get(element) || element.type().get(etype)) return false;
          std::string_view s;
          if (etype != od::json_type::string) {
            if (!skip_checked(element, 4)) return false;
          } else if (element.get_string().get(s)) {
            return false;
          } else {
            f->card.push_back(ListedParent{s, Relation::unknown});
          }
        }
      } else if (!skip_checked(value, 3)) {
        return false;
      }
    } else if (key == "base_model_relation") {
      if (relation_seen || value.type().get(type)) return false;
      relation_seen = true;
      if (type == od::json_type::string) {
        if (value.get_string().get(relation)) return false;
      } else if (!skip_checked(value, 3)) {
        return false;
      }
    } else if (!skip_checked(value, 3)) {
      return false;
    }
  }
  const Relation rel = relation.empty() ? Relation::unknown : parse_relation(std::string(relation));
  for (auto& p : f->card) p.relation = rel;
  return true;
}

// One used top-level field's value into *f (a list of tags into rec->tags); false: the DOM
// path decides.
bool read_slot(int slot, od::value& v, Fields* f, RepoRecord* rec) {
  switch (slot) {
    case kLikes: case kDownloads: case kAllTime: case kAllTimeSnake:
      return read_count(v, &f->count[slot]);
    case kCreatedAt: case kCreatedAtSnake: {
      od::json_type type;
      if (v.type().get(type)) return false;
      if (type == od::json_type::string) return !v.get_string().get(f->text[slot]);
      f->created_is_number[slot] = true;
      return read_count(v, &f->count[slot]);
    }
    case kSafetensors: return read_safetensors(v, f);
    case kTags: return read_tags(v, f, &rec->tags);
    case kBaseModels: case kBaseModelsSnake: return read_base_models(v, f);
    case kCardData: case kCardDataSnake: {
      od::json_type type;
      if (v.type().get(type) || type != od::json_type::object) return false;  // YAML text and the rest: DOM
      return read_card(v, f);
    }
    default: return read_text(v, &f->text[slot]);
  }
}

// The first of the slots [first, last] present (not null), as the DOM path's field() picks;
// -1 when none is.
int pick(const Fields& f, int first, int last) {
  for (int s = first; s <= last; ++s)
    if (f.present[s]) return s;
  return -1;
}

bool ok(const std::optional<Fail>& fail) { return !fail; }

// The field rules, in the DOM path's order (all pass, or the DOM path decides).
bool apply(Fields& f, const Window& window, RepoRecord* rec) {
  auto name = [](int slot) { return kSlotNames[slot].data(); };  // NUL-terminated literals
  int s = pick(f, kId, kModelIdSnake);
  if (s < 0 || !ok(set_repo_id(f.text[s], name(s), rec))) return false;
  if ((s = pick(f, kAuthor, kAuthor)) >= 0 && !ok(set_author(f.text[s], name(s), rec))) return false;
  if ((s = pick(f, kKind, kType)) >= 0 && !ok(set_kind(f.text[s], name(s), rec))) return false;
  if ((s = pick(f, kCreatedAt, kCreatedAtSnake)) >= 0) {
    if (!f.created_is_number[s]) {
      if (!ok(set_created_text(f.text[s], name(s), window, rec))) return false;
    } else {
      // The DOM path reads an unsigned number as a double first: at 9.2e18 and above it rejects.
      if (static_cast<double>(f.count[s]) >= 9.2e18) return false;
      if (!ok(set_created_epoch_ms(static_cast<int64_t>(f.count[s]), std::to_string(f.count[s]), name(s), window,
                                   rec)))
        return false;
    }
  }
  if (f.present[kLikes]) rec->likes = f.count[kLikes];
  if (f.present[kDownloads]) rec->downloads = f.count[kDownloads];
  if ((s = pick(f, kAllTime, kAllTimeSnake)) >= 0) {
    rec->all_time = f.count[s];
    rec->has_all_time = true;
  }
  if ((s = pick(f, kPipelineTag, kPipelineTagCamel)) >= 0 &&
      !ok(set_optional_text(f.text[s], name(s), &rec->pipeline_tag)))
    return false;
  if ((s = pick(f, kLibraryName, kLibraryNameCamel)) >= 0 && !ok(set_optional_text(f.text[s], name(s), &rec->library)))
    return false;
  if (f.present[kSafetensors]) rec->parameters = f.parameters;
  if (f.present[kTags]) {
    if (f.tags_are_text ? !ok(set_tags_text(f.text[kTags], "tags", rec)) : !ok(check_tags("tags", rec)))
      return false;
  }
  return ok(set_parents_listed(f.base_models, f.card, rec));
}

// The line, padded as simdjson needs, in a per-thread buffer (a line's copy costs little next
// to its parse, and the caller's buffer may end right after the line).
const char* padded_copy(std::string_view text, size_t* capacity) {
  thread_local std::vector<char> buffer;
  const size_t need = text.size() + simdjson::SIMDJSON_PADDING;
  if (buffer.size() < need) buffer.resize(need);
  std::memcpy(buffer.data(), text.data(), text.size());
  std::memset(buffer.data() + text.size(), 0, simdjson::SIMDJSON_PADDING);
  *capacity = buffer.size();
  return buffer.data();
}

}  // namespace

bool repo_json_fast_enabled() { return simdjson_bound_to_libsimdjson(); }

bool parse_repo_json_fast(std::string_view text, const Window& window, RepoRecord* rec) {
  if (!simdjson_bound_to_libsimdjson()) return false;
  if (text.size() > kMaxFastLine || text.empty() || text.front() != '{') return false;
  // A NUL is a reject of its own in the DOM path (its parser takes it for the end of input).
  if (std::memchr(text.data(), 0, text.size()) != nullptr) return false;
  thread_local od::parser parser;
  size_t capacity = 0;
  const char* data = padded_copy(text, &capacity);
  od::document doc;
  // simdjson checks the whole line's UTF-8 before anything is read.
  if (parser.iterate(data, text.size(), capacity).get(doc)) return false;
  od::object obj;
  if (doc.get_object().get(obj)) return false;
  thread_local Fields f;
  f.clear();
  rec->tags.clear();  // read_slot appends a list of tags here
  for (auto r : obj) {
    od::field field;
    std::string_view key;
    if (std::move(r).get(field) || !plain_key(field, &key)) return false;
    od::value value = field.value();
    const int slot = slot_of(key);
    if (slot == kUnused) {
      if (!skip_checked(value, 1)) return false;
      continue;
    }
    if (f.seen[slot]) return false;  // a repeated key: the DOM keeps the last one
    f.seen[slot] = true;
    bool null = false;
    if (!take_null(value, &null)) return false;
    if (null) continue;
    f.present[slot] = true;
    if (!read_slot(slot, value, &f, rec)) return false;
  }
  // Nothing after the object (the iterator is at the end of the line, and alive).
  const char* after = nullptr;
  if (doc.current_location().get(after) != simdjson::OUT_OF_BOUNDS) return false;
  // Both aliases of a nested field given: the DOM path ignores the second, this path read both.
  if (f.present[kBaseModels] && f.present[kBaseModelsSnake]) return false;
  if (f.present[kCardData] && f.present[kCardDataSnake]) return false;
  return apply(f, window, rec);
}

#endif

}  // namespace ecostat::host::detail
