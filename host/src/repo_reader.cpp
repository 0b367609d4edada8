// Repository records: Hub JSON Lines (camelCase and snake_case), or a CSV whose `metadata`
// column holds each record as JSON. See docs/input-formats.md for the rules implemented here.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "csv.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/host/readers.hpp"
#include "json_array.hpp"
#include "repo_record.hpp"
#include "text.hpp"

namespace ecostat::host {

namespace {

using json = nlohmann::json;
using detail::trim;

using detail::Fail;
using detail::ParentRef;
using detail::RepoRecord;
using detail::Window;

// Top-level keys the reader uses; every other key's value is discarded while parsing.
bool wanted_key(const std::string& k) {
  static const std::unordered_set<std::string> keys = {
      "id", "modelId", "model_id", "author", "kind", "repoType", "repo_type", "type",
      "createdAt", "created_at", "likes", "downloads", "downloadsAllTime", "downloads_all_time",
      "pipeline_tag", "pipelineTag", "library_name", "libraryName", "tags", "safetensors",
      "baseModels", "base_models", "card_data", "cardData"};
  return keys.count(k) != 0;
}

// The first of names present with a non-null value, else nullptr; *which gets its name.
const json* field(const json& obj, std::initializer_list<const char*> names, const char** which) {
  for (const char* n : names) {
    auto it = obj.find(n);
    if (it != obj.end() && !it->is_null()) {
      *which = n;
      return &*it;
    }
  }
  *which = *names.begin();
  return nullptr;
}

// A non-negative integer that fits u64. Integral floats (123.0, as pandas writes an int column
// holding nulls) are accepted; a string holding digits is not (wrong type).
bool json_u64(const json& v, uint64_t* out, std::string* why) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer()) {  // nlohmann stores non-negative integers as unsigned
    *why = "negative";
    return false;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isnan(d)) {
      *why = "not a number";
      return false;
    }
    if (d < 0) {
      *why = "negative";
      return false;
    }
    if (d >= 18446744073709551616.0) {
      *why = "overflows 64 bits";
      return false;
    }
    if (d != std::floor(d)) {
      *why = "not an integer";
      return false;
    }
    if (d >= 9007199254740992.0) {  // 2^53: above it a double no longer holds every integer
      *why = "not exact: a float above 2^53 (write the count as an integer)";
      return false;
    }
    *out = static_cast<uint64_t>(d);
    return true;
  }
  *why = std::string("wrong type: ") + v.type_name() + ", expected a non-negative integer";
  return false;
}

// A parser message without its "[json.exception.parse_error.101] " prefix, printable and short
// (the parser quotes the input).
std::string json_error_text(const json::exception& e) {
  std::string msg = e.what();
  const size_t p = msg.find("] ");
  if (p != std::string::npos) msg = msg.substr(p + 2);
  return detail::printable(msg, 300);
}

// A nested field (an object or a list) given as JSON text, as pandas or a CSV round trip
// writes it: the text is parsed into *holder and v points there. Blank text and "null" leave
// the field absent (v = nullptr); text that is not JSON is a reject naming the field.
std::optional<Fail> unwrap_json_text(const json*& v, const char* name, json* holder) {
  if (!v->is_string()) return std::nullopt;
  const std::string_view s = trim(v->get_ref<const std::string&>());
  if (s.empty()) {
    v = nullptr;
    return std::nullopt;
  }
  if (std::memchr(s.data(), 0, s.size()) != nullptr) return Fail{name, "invalid JSON text: NUL byte"};
  try {
    *holder = json::parse(s.begin(), s.end());
  } catch (const json::exception& e) {
    return Fail{name, "invalid JSON text: " + json_error_text(e)};
  }
  v = holder->is_null() ? nullptr : holder;
  return std::nullopt;
}

// Lists up to this size are searched linearly (no allocation); longer ones get a hash index,
// so a record with 70,000 parents or 200,000 tags costs linear time, not quadratic.
constexpr size_t kLinearSearchMax = 16;

class ParentList {
 public:
  explicit ParentList(std::vector<ParentRef>* out) : out_(out) {}
  // Adds a parent; an id already listed keeps its place and takes the relation when it had
  // none (so `base_model:X` + `base_model:finetune:X` is one edge, relation finetune).
  void add(std::string_view raw, Relation rel) {
    std::string id = detail::normalise_repo_ref(raw);
    if (detail::repo_id_problem(id)) return;  // free text in a card, not an id
    if (ParentRef* p = find(id)) {
      if (p->relation == Relation::unknown) p->relation = rel;
      return;
    }
    out_->push_back(ParentRef{std::move(id), rel});
    if (!index_.empty()) index_.emplace(out_->back().id, out_->size() - 1);
  }

 private:
  ParentRef* find(const std::string& id) {
    if (out_->size() <= kLinearSearchMax) {
      for (auto& p : *out_)
        if (p.id == id) return &p;
      return nullptr;
    }
    if (index_.empty()) {  // the list just outgrew a linear search: index it once
      index_.reserve(out_->size() * 2);
      for (size_t i = 0; i < out_->size(); ++i) index_.emplace((*out_)[i].id, i);
    }
    auto it = index_.find(id);
    return it == index_.end() ? nullptr : &(*out_)[it->second];
  }

  std::vector<ParentRef>* out_;
  std::unordered_map<std::string, size_t> index_;  // id -> position, once the list is long
};

// Removes repeated and empty tags, keeping each tag's first occurrence in listed order.
void dedup_tags(std::vector<std::string>* tags) {
  size_t kept = 0;
  if (tags->size() <= kLinearSearchMax) {
    for (size_t i = 0; i < tags->size(); ++i) {
      std::string& t = (*tags)[i];
      bool seen = t.empty();
      for (size_t k = 0; k < kept && !seen; ++k) seen = (*tags)[k] == t;
      if (seen) continue;
      if (kept != i) (*tags)[kept] = std::move(t);  // never a self-move: it may empty the string
      ++kept;
    }
  } else {
    std::unordered_set<std::string> seen;
    seen.reserve(tags->size() * 2);
    for (size_t i = 0; i < tags->size(); ++i) {
      std::string& t = (*tags)[i];
      if (t.empty() || !seen.insert(t).second) continue;
      if (kept != i) (*tags)[kept] = std::move(t);
      ++kept;
    }
  }
  tags->resize(kept);
}

// The relation `other` gives a parent id, or unknown. Indexed when `other` is long.
class RelationLookup {
 public:
  explicit RelationLookup(const std::vector<ParentRef>& other) : other_(other) {}
  Relation of(const std::string& id) {
    if (other_.size() <= kLinearSearchMax) {
      for (const auto& q : other_)
        if (q.id == id) return q.relation;
      return Relation::unknown;
    }
    if (index_.empty()) {
      index_.reserve(other_.size() * 2);
      for (const auto& q : other_) index_.emplace(q.id, q.relation);  // ids are unique in a ParentList
    }
    auto it = index_.find(id);
    return it == index_.end() ? Relation::unknown : it->second;
  }

 private:
  const std::vector<ParentRef>& other_;
  std::unordered_map<std::string_view, Relation> index_;
};

// A JSON list of strings given as text; false when it is not one.
bool json_string_list(std::string_view s, std::vector<std::string>* out) {
  if (std::memchr(s.data(), 0, s.size()) != nullptr) return false;
  json j;
  try {
    j = json::parse(s.begin(), s.end());
  } catch (const json::exception&) {
    return false;
  }
  if (!j.is_array()) return false;
  std::vector<std::string> got;
  for (const auto& e : j) {
    if (!e.is_string()) return false;
    got.push_back(e.get<std::string>());
  }
  *out = std::move(got);
  return true;
}

std::optional<Fail> read_base_models(const json& v, const char* name, ParentList* parents) {
  auto one = [&](const json& o) -> std::optional<Fail> {
    if (!o.is_object()) return Fail{name, "wrong type: expected an object {relation, models}"};
    Relation rel = Relation::unknown;
    auto r = o.find("relation");
    if (r != o.end() && !r->is_null()) {
      if (!r->is_string()) return Fail{std::string(name) + ".relation", "wrong type: expected a string"};
      rel = parse_relation(r->get_ref<const std::string&>());
    }
    auto m = o.find("models");
    if (m == o.end() || m->is_null()) return std::nullopt;
    if (!m->is_array()) return Fail{std::string(name) + ".models", "wrong type: expected a list"};
    for (const auto& e : *m) {
      if (e.is_string()) {
        parents->add(e.get_ref<const std::string&>(), rel);
      } else if (e.is_object()) {
        auto id = e.find("id");
        if (id == e.end() || !id->is_string())
          return Fail{std::string(name) + ".models", "model entry without a string id"};
        parents->add(id->get_ref<const std::string&>(), rel);
      } else {
        return Fail{std::string(name) + ".models", "wrong type: expected {id} objects"};
      }
    }
    return std::nullopt;
  };
  if (v.is_array()) {
    for (const auto& o : v)
      if (auto f = one(o)) return f;
    return std::nullopt;
  }
  return one(v);
}

// card_data: a JSON object or the card's YAML text. Free-form user text: what does not look
// like a base model id is ignored, never a reason to reject the record.
void read_card(const json& v, ParentList* parents) {
  std::vector<std::string> ids;
  std::string relation;
  if (v.is_string()) {
    detail::yaml_base_models(v.get_ref<const std::string&>(), &ids, &relation);
  } else if (v.is_object()) {
    auto b = v.find("base_model");
    if (b != v.end()) {
      if (b->is_string()) ids.push_back(b->get<std::string>());
      else if (b->is_array())
        for (const auto& e : *b)
          if (e.is_string()) ids.push_back(e.get<std::string>());
    }
    auto r = v.find("base_model_relation");
    if (r != v.end() && r->is_string()) relation = r->get<std::string>();
  }
  const Relation rel = relation.empty() ? Relation::unknown : parse_relation(relation);
  for (const auto& id : ids) parents->add(id, rel);
}

// A string field's value, checked as text (a tag decoded from a Python-repr escape may hold
// what a JSON string cannot: a NUL byte).
std::optional<Fail> text_field(const char* name, std::string_view value) {
  if (const char* why = detail::text_problem(value)) return Fail{name, why};
  return std::nullopt;
}

Fail wrong_type(const char* name, const json& v, const char* expected) {
  return Fail{name, std::string("wrong type: ") + v.type_name() + ", expected " + expected};
}

}  // namespace

// ---- Field rules shared by every repository producer (repo_record.hpp).

namespace detail {

std::optional<Fail> set_repo_id(std::string_view id, const char* name, RepoRecord* rec) {
  if (id.empty()) return Fail{name, "empty id"};
  if (const char* why = repo_id_problem(id)) return Fail{name, std::string("invalid id: ") + why};
  rec->id.assign(id.data(), id.size());
  return std::nullopt;
}

std::optional<Fail> set_author(std::string_view author, const char* name, RepoRecord* rec) {
  if (auto f = text_field(name, author)) return f;
  rec->author.assign(author.data(), author.size());
  return std::nullopt;
}

std::optional<Fail> set_kind(std::string_view kind, const char* name, RepoRecord* rec) {
  bool ok = false;
  rec->kind = parse_repo_kind(std::string(kind), &ok);
  if (!ok) return Fail{name, "unknown repository kind: '" + std::string(kind) + "'"};
  return std::nullopt;
}

// createdAt: an ISO date string, or epoch milliseconds (pandas' to_json default) as a number or
// a string of digits. A number is always milliseconds, never seconds.
std::optional<Fail> set_created_text(std::string_view s, const char* name, const Window& w, RepoRecord* rec) {
  const auto st = parse_day(s, w.min_day, w.max_day, &rec->created_day);
  if (st == DateStatus::ok) return std::nullopt;
  // Outside the window the whole record is rejected, as for any bad field: keeping it
  // without its date would change the creation-year figures silently.
  if (st == DateStatus::out_of_range) return Fail{name, date_out_of_range(s, w.min_day, w.max_day)};
  int64_t ms = 0;
  if (!parse_epoch_ms(s, &ms)) return Fail{name, "unparseable date: '" + printable(s) + "'"};
  return set_created_epoch_ms(ms, s, name, w, rec);
}

std::optional<Fail> set_created_epoch_ms(int64_t ms, std::string_view text, const char* name, const Window& w,
                                         RepoRecord* rec) {
  if (day_from_epoch_ms(ms, w.min_day, w.max_day, &rec->created_day) == DateStatus::ok) return std::nullopt;
  return Fail{name, epoch_ms_out_of_range(text, ms, w.min_day, w.max_day)};
}

std::optional<Fail> set_created_day(int32_t day, const char* name, const Window& w, RepoRecord* rec) {
  if (day < w.min_day || day > w.max_day) return Fail{name, date_out_of_range(day_label(day), w.min_day, w.max_day)};
  rec->created_day = day;
  return std::nullopt;
}

std::optional<Fail> set_optional_text(std::string_view text, const char* name, std::string* out) {
  if (text.empty()) return std::nullopt;
  if (auto f = text_field(name, text)) return f;
  out->assign(text.data(), text.size());
  return std::nullopt;
}

std::optional<Fail> set_tags(std::vector<std::string> tags, const char* name, RepoRecord* rec) {
  rec->tags = std::move(tags);
  return check_tags(name, rec);
}

std::optional<Fail> check_tags(const char* name, RepoRecord* rec) {
  for (const auto& t : rec->tags)
    if (auto f = text_field(name, t)) return f;
  dedup_tags(&rec->tags);  // a tag listed twice counts once
  return std::nullopt;
}

// Tags as one string: a Python-repr list, JSON text (with escapes the repr parser does not
// take), or one tag.
std::optional<Fail> set_tags_text(std::string_view text, const char* name, RepoRecord* rec) {
  const std::string_view s = trim(text);
  std::vector<std::string> tags;
  if (!s.empty() && s.front() == '[') {
    if (!parse_python_string_list(s, &tags) && !json_string_list(s, &tags)) return Fail{name, "unparseable tag list"};
  } else if (!s.empty()) {
    tags.emplace_back(s);
  }
  return set_tags(std::move(tags), name, rec);
}

std::optional<Fail> set_safetensors(const json& value, const char* name, RepoRecord* rec) {
  json from_text;
  const json* v = &value;
  if (auto f = unwrap_json_text(v, name, &from_text)) return f;
  if (!v) return std::nullopt;
  if (!v->is_object()) return wrong_type(name, *v, "an object");
  auto t = v->find("total");
  std::string why;
  if (t != v->end() && !t->is_null() && !json_u64(*t, &rec->parameters, &why))
    return Fail{"safetensors.total", "bad count: " + why};
  return std::nullopt;
}

// Base models. Three sources, each in listed order: `baseModels` (the Hub's resolved
// lineage), `base_model:` tags (also resolved by the Hub) and the card's `base_model` (what
// the author wrote). The first source that names any parent decides the parents and their
// order; the others only supply a relation for a parent it left unknown. (A card may list a
// parent the Hub did not resolve: the real lineage extract has one such record.)
namespace {

// The tags' base_model: entries, and the merge of the three sources (see set_parents).
std::optional<Fail> merge_parents(std::vector<ParentRef> from_base_models, std::vector<ParentRef> from_card,
                                  RepoRecord* rec) {
  std::vector<ParentRef> from_tags;
  {
    ParentList list(&from_tags);
    for (const auto& t : rec->tags) {
      if (t.size() < 11 || std::memcmp(t.data(), "base_model:", 11) != 0) continue;  // inlined, not a call
      std::string_view rest(t);
      rest.remove_prefix(11);
      const size_t colon = rest.find(':');
      if (colon == std::string_view::npos) {
        list.add(rest, Relation::unknown);
      } else {
        // Hub ids hold no ':', so base_model:<relation>:<id>; an unrecognised relation is unknown.
        list.add(rest.substr(colon + 1), parse_relation(std::string(rest.substr(0, colon))));
      }
    }
  }
  std::vector<ParentRef>* sources[] = {&from_base_models, &from_tags, &from_card};
  for (auto* primary : sources) {
    if (primary->empty()) continue;
    rec->parents = std::move(*primary);
    for (auto* other : sources) {
      if (other == primary || other->empty()) continue;
      RelationLookup lookup(*other);
      for (auto& p : rec->parents)
        if (p.relation == Relation::unknown) p.relation = lookup.of(p.id);
    }
    break;
  }
  if (rec->parents.size() > 0xffff) return Fail{"base_model", "more than 65535 base models"};
  return std::nullopt;
}

}  // namespace

std::optional<Fail> set_parents(const json* base_models, const char* base_name, const json* card,
                                const char* card_name, RepoRecord* rec) {
  json from_text;  // a nested field given as JSON text, parsed
  std::vector<ParentRef> from_base_models, from_card;
  if (const json* v = base_models) {
    if (auto f = unwrap_json_text(v, base_name, &from_text)) return f;
    ParentList list(&from_base_models);
    if (v)
      if (auto f = read_base_models(*v, base_name, &list)) return f;
  }
  if (const json* v = card) {
    // A string is the card's YAML text, unless it opens with '{': then it is the card data
    // object as JSON text.
    if (v->is_string() && !trim(v->get_ref<const std::string&>()).empty() &&
        trim(v->get_ref<const std::string&>()).front() == '{')
      if (auto f = unwrap_json_text(v, card_name, &from_text)) return f;
    ParentList list(&from_card);
    if (v) read_card(*v, &list);
  }
  return merge_parents(std::move(from_base_models), std::move(from_card), rec);
}

std::optional<Fail> set_parents_listed(const std::vector<ListedParent>& base_models,
                                       const std::vector<ListedParent>& card, RepoRecord* rec) {
  std::vector<ParentRef> from_base_models, from_card;
  {
    ParentList list(&from_base_models);
    for (const auto& p : base_models) list.add(p.id, p.relation);
  }
  {
    ParentList list(&from_card);
    for (const auto& p : card) list.add(p.id, p.relation);
  }
  return merge_parents(std::move(from_base_models), std::move(from_card), rec);
}

}  // namespace detail

namespace {

// One JSON record, field by field through the shared rules.
std::optional<Fail> read_record(const json& j, const Window& window, RepoRecord* rec) {
  if (!j.is_object()) return Fail{"", std::string("not a JSON object: ") + j.type_name()};
  const char* name = nullptr;

  const json* v = field(j, {"id", "modelId", "model_id"}, &name);
  if (!v) return Fail{"id", "missing id"};
  if (!v->is_string()) return wrong_type(name, *v, "a string");
  if (auto f = detail::set_repo_id(v->get_ref<const std::string&>(), name, rec)) return f;

  if ((v = field(j, {"author"}, &name))) {
    if (!v->is_string()) return wrong_type(name, *v, "a string");
    if (auto f = detail::set_author(v->get_ref<const std::string&>(), name, rec)) return f;
  }
  if ((v = field(j, {"kind", "repoType", "repo_type", "type"}, &name))) {
    if (!v->is_string()) return wrong_type(name, *v, "a string");
    if (auto f = detail::set_kind(v->get_ref<const std::string&>(), name, rec)) return f;
  }
  if ((v = field(j, {"createdAt", "created_at"}, &name))) {
    if (v->is_string()) {
      if (auto f = detail::set_created_text(v->get_ref<const std::string&>(), name, window, rec)) return f;
    } else if (v->is_number_integer() && !v->is_number_unsigned()) {
      if (auto f = detail::set_created_epoch_ms(v->get<int64_t>(), v->dump(), name, window, rec)) return f;
    } else if (v->is_number()) {  // unsigned, or a float (floored to the millisecond)
      const double d = v->get<double>();
      const std::string text = v->dump();
      if (!(d > -9.2e18 && d < 9.2e18)) return Fail{name, "date out of range: '" + text + "' as epoch milliseconds"};
      const int64_t ms =
          v->is_number_unsigned() ? static_cast<int64_t>(v->get<uint64_t>()) : static_cast<int64_t>(std::floor(d));
      if (auto f = detail::set_created_epoch_ms(ms, text, name, window, rec)) return f;
    } else {
      return wrong_type(name, *v, "a date string or epoch milliseconds");
    }
  }
  std::string why;
  if ((v = field(j, {"likes"}, &name)) && !json_u64(*v, &rec->likes, &why)) return Fail{name, "bad count: " + why};
  if ((v = field(j, {"downloads"}, &name)) && !json_u64(*v, &rec->downloads, &why))
    return Fail{name, "bad count: " + why};
  if ((v = field(j, {"downloadsAllTime", "downloads_all_time"}, &name))) {
    if (!json_u64(*v, &rec->all_time, &why)) return Fail{name, "bad count: " + why};
    rec->has_all_time = true;
  }
  if ((v = field(j, {"pipeline_tag", "pipelineTag"}, &name))) {
    if (!v->is_string()) return wrong_type(name, *v, "a string");
    if (auto f = detail::set_optional_text(v->get_ref<const std::string&>(), name, &rec->pipeline_tag)) return f;
  }
  if ((v = field(j, {"library_name", "libraryName"}, &name))) {
    if (!v->is_string()) return wrong_type(name, *v, "a string");
    if (auto f = detail::set_optional_text(v->get_ref<const std::string&>(), name, &rec->library)) return f;
  }
  if ((v = field(j, {"safetensors"}, &name)))
    if (auto f = detail::set_safetensors(*v, name, rec)) return f;

  // Tags: a JSON list of strings, or a string holding a Python-repr list, or one tag.
  if ((v = field(j, {"tags"}, &name))) {
    if (v->is_array()) {
      std::vector<std::string> tags;
      tags.reserve(v->size());
      for (const auto& t : *v) {
        if (!t.is_string()) return Fail{name, "wrong type: expected a list of strings"};
        tags.push_back(t.get<std::string>());
      }
      if (auto f = detail::set_tags(std::move(tags), name, rec)) return f;
    } else if (v->is_string()) {
      if (auto f = detail::set_tags_text(v->get_ref<const std::string&>(), name, rec)) return f;
    } else {
      return wrong_type(name, *v, "a list of strings");
    }
  }

  const char* base_name = nullptr;
  const char* card_name = nullptr;
  const json* base_models = field(j, {"baseModels", "base_models"}, &base_name);
  const json* card = field(j, {"card_data", "cardData"}, &card_name);
  return detail::set_parents(base_models, base_name, card, card_name, rec);
}

// JSON text to records: parses each record (keeping only the keys the reader uses) and hands
// it to the table writer.
class RepoReader {
 public:
  RepoReader(RepoTable& repos, RejectLog& rejects, ReadStats& stats, const ReadOptions& options)
      : writer_(repos, rejects, stats, options) {}

  void reject(uint64_t line, const std::string& field, const std::string& reason) {
    writer_.reject(line, field, reason);
  }

  void record(std::string_view text, uint64_t line) {
    rec_.clear();
    if (auto f = detail::parse_repo_json(text, writer_.window(), &rec_)) {
      reject(line, f->field, f->reason);
      return;
    }
    writer_.add(rec_, line);
  }

  void finish() { writer_.finish(); }

 private:
  detail::RepoTableWriter writer_;
  RepoRecord rec_;  // one record parsed into over and over (its storage kept)
};

}  // namespace

namespace detail {

std::optional<Fail> parse_repo_json(std::string_view text, const Window& window, RepoRecord* rec) {
  if (!parse_repo_json_fast(text, window, rec)) {
    *rec = RepoRecord{};  // whatever the fast path filled before it gave up
    if (auto fail = parse_repo_json_dom(text, window, rec)) return fail;
  }
  hash_fields(rec);
  return std::nullopt;
}

void hash_fields(RepoRecord* rec) {
  auto hash = [](std::string_view s) { return s.empty() ? 0 : Dictionary::hash(s); };
  rec->id_hash = Dictionary::hash(rec->id);
  rec->author_hash = hash(author_of(*rec));
  rec->pipeline_hash = hash(rec->pipeline_tag);
  rec->library_hash = hash(rec->library);
  rec->tag_hashes.clear();
  for (const auto& tag : rec->tags) rec->tag_hashes.push_back(Dictionary::hash(tag));
  for (auto& p : rec->parents) p.id_hash = Dictionary::hash(p.id);
  rec->hashed = true;
}

std::optional<Fail> parse_repo_json_dom(std::string_view text, const Window& window, RepoRecord* rec) {
  // The JSON parser takes a NUL for the end of input: what follows it would vanish unseen.
  if (std::memchr(text.data(), 0, text.size()) != nullptr) return Fail{"", "NUL byte in line"};
  // Invalid UTF-8 (even inside a key the reader skips) is a reject, never text in an output.
  if (const size_t at = detail::utf8_error_at(text); at != std::string_view::npos)
    return Fail{"", "invalid UTF-8 at byte " + std::to_string(at + 1)};
  // Only the keys the record reads are kept (the Hub's records carry large siblings lists).
  static const json::parser_callback_t filter = [](int depth, json::parse_event_t ev, json& parsed) {
    if (depth == 1 && ev == json::parse_event_t::key) return wanted_key(parsed.get_ref<const std::string&>());
    return true;
  };
  json j;
  try {
    j = json::parse(text.begin(), text.end(), filter);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers like 1e400
    return Fail{"", "invalid JSON: " + json_error_text(e)};
  }
  return read_record(j, window, rec);
}

}  // namespace detail

// ---- RepoTableWriter (repo_record.hpp)

namespace detail {

RepoTableWriter::RepoTableWriter(RepoTable& repos, RejectLog& rejects, ReadStats& stats, const ReadOptions& options)
    : repos_(repos),
      rejects_(rejects),
      stats_(stats),
      window_{std::max(options.min_day, kFirstDay), std::min(options.max_day, kLastDay)} {
  // Records read before (an earlier input of the job) count towards the same sums.
  for (uint32_t u = 0; u < repos_.size(); ++u) {
    sum_30d_ += repos_.downloads_30d[u];  // within u64: each input kept it so
    sum_all_time_ += repos_.downloads_all_time[u];
  }
}

RepoTableWriter::~RepoTableWriter() {
  try {
    finish();
  } catch (...) {
  }
}

void RepoTableWriter::reject(uint64_t line, const std::string& field, const std::string& reason) {
  ++stats_.rejected;
  rejects_.add(stats_.file, line, field, reason);
}

void RepoTableWriter::prefetch(const RepoRecord& rec) const {
  repos_.ids.prefetch(rec.id_hash);
  if (rec.author_hash != 0) repos_.authors.prefetch(rec.author_hash);
}

void RepoTableWriter::expect(size_t n) { repos_.reserve(size_t(repos_.size()) + n); }

void RepoTableWriter::add(const RepoRecord& rec, uint64_t line) {
  if (!rec.hashed) {  // a producer that did not hash on its own thread (none of ours)
    RepoRecord hashed = rec;
    hash_fields(&hashed);
    return add(hashed, line);
  }
  RepoTable& t = repos_;
  if (rec.downloads > ~uint64_t{0} - sum_30d_ || rec.all_time > ~uint64_t{0} - sum_all_time_) {
    // A sum would pass 2^64-1: a duplicate is still only a reject, anything else ends the input.
    const uint32_t existing = t.ids.find(rec.id, rec.id_hash);
    if (existing != kNone && !t.placeholder[existing]) return reject_duplicate(rec, line);
    add_to_sum(&sum_30d_, rec.downloads, line, "downloads");  // one of the two throws
    add_to_sum(&sum_all_time_, rec.all_time, line, "downloads_all_time");
  }
  // One probe finds the id or adds it (the sums cannot fail past this point).
  bool added = false;
  const uint32_t u = t.ids.intern(rec.id, rec.id_hash, &added);
  if (added) {
    t.push_defaults();
  } else if (!t.placeholder[u]) {
    return reject_duplicate(rec, line);
  }
  sum_30d_ += rec.downloads;
  sum_all_time_ += rec.all_time;
  commit(rec, u, !added);
  ++stats_.accepted;
}

void RepoTableWriter::reject_duplicate(const RepoRecord& rec, uint64_t line) {
  reject(line, "id", "duplicate id: '" + rec.id + "' (the first record is kept)");
}

void RepoTableWriter::finish() {
  if (late_tags_.empty()) return;
  std::vector<uint32_t> offsets{0}, ids;
  offsets.reserve(repos_.size() + 1);
  ids.reserve(repos_.tag_ids.size() + late_count_);
  size_t next = 0;
  for (uint32_t u = 0; u < repos_.size(); ++u) {
    if (next < late_tags_.size() && late_tags_[next].first == u) {
      ids.insert(ids.end(), late_tags_[next].second.begin(), late_tags_[next].second.end());
      ++next;
    } else {
      ids.insert(ids.end(), repos_.tag_ids.begin() + repos_.tag_offsets[u],
                 repos_.tag_ids.begin() + repos_.tag_offsets[u + 1]);
    }
    offsets.push_back(static_cast<uint32_t>(ids.size()));
  }
  repos_.tag_offsets.swap(offsets);
  repos_.tag_ids.swap(ids);
  late_tags_.clear();
}

// Sums over all records must stay exact in u64 (every total the engine forms is a subset sum).
void RepoTableWriter::add_to_sum(uint64_t* sum, uint64_t value, uint64_t line, const char* field) {
  if (value > ~uint64_t{0} - *sum)
    throw InputError(stats_.file, line, field, "download counts sum past 2^64-1: totals would not be exact");
  *sum += value;
}

// late: u is a placeholder (named before as a parent or by downloads) that gets its record now.
void RepoTableWriter::commit(const RepoRecord& rec, uint32_t u, bool late) {
  RepoTable& t = repos_;
  t.placeholder[u] = 0;
  t.in_downloads_only[u] = 0;
  const std::string_view author = author_of(rec);
  t.author[u] = author.empty() ? kNone : t.authors.intern(author, rec.author_hash);
  t.kind[u] = rec.kind;
  t.created_day[u] = rec.created_day;
  t.likes[u] = rec.likes;
  t.downloads_30d[u] = rec.downloads;
  t.downloads_all_time[u] = rec.all_time;
  t.has_all_time[u] = rec.has_all_time ? 1 : 0;
  t.parameters[u] = rec.parameters;
  t.pipeline_tag[u] = rec.pipeline_tag.empty() ? kNone : t.pipeline_tags.intern(rec.pipeline_tag, rec.pipeline_hash);
  t.library[u] = rec.library.empty() ? kNone : t.libraries.intern(rec.library, rec.library_hash);
  if (!late) {
    // u is the last row: its tags go at the end of the CSR.
    for (size_t i = 0; i < rec.tags.size(); ++i) t.tag_ids.push_back(t.tags.intern(rec.tags[i], rec.tag_hashes[i]));
    t.tag_offsets[u + 1] = static_cast<uint32_t>(t.tag_ids.size());
  } else if (!rec.tags.empty()) {
    std::vector<uint32_t> ids;
    ids.reserve(rec.tags.size());
    for (size_t i = 0; i < rec.tags.size(); ++i) ids.push_back(t.tags.intern(rec.tags[i], rec.tag_hashes[i]));
    late_count_ += ids.size();
    insert_late(u, std::move(ids));
  }
  // Parents after the row's tags: a new placeholder row appends after u.
  for (size_t i = 0; i < rec.parents.size(); ++i) {
    const uint32_t p = t.ensure(rec.parents[i].id, rec.parents[i].id_hash, false);
    t.edges.push_back(BaseEdge{u, p, rec.parents[i].relation, static_cast<uint16_t>(i)});
  }
}

void RepoTableWriter::insert_late(uint32_t u, std::vector<uint32_t> ids) {
  // Kept sorted by unit; records usually fill placeholders in increasing order.
  auto pos = late_tags_.end();
  while (pos != late_tags_.begin() && (pos - 1)->first > u) --pos;
  late_tags_.insert(pos, {u, std::move(ids)});
}

}  // namespace detail

namespace {

std::string_view strip_bom(std::string_view s) {
  if (s.size() >= 3 && std::memcmp(s.data(), "\xEF\xBB\xBF", 3) == 0) s.remove_prefix(3);
  return s;
}

}  // namespace

ReadStats read_repositories(ByteSource& src, RepoTable& repos, RejectLog& rejects, const ProgressFn& progress) {
  return read_repositories(src, repos, rejects, progress, ReadOptions{});
}

namespace {

// The first byte that is not blank (after a UTF-8 BOM), looking at most `limit` bytes ahead
// without consuming anything; 0 when there is none that close.
char first_significant_byte(DecodedSource& in, size_t limit) {
  for (size_t want = 4096;; want = std::min(want * 4, limit)) {
    const std::string_view head = in.peek(want);
    const std::string_view rest = trim(strip_bom(head));
    if (!rest.empty()) return rest.front();
    if (head.size() < want || want >= limit) return 0;  // the input ended, or only blanks so far
  }
}

// A top-level JSON array of repository objects (the Hub API's response), element by element.
ReadStats read_json_array(DecodedSource& in, RepoReader& reader, ReadStats& stats, const ProgressFn& progress,
                          const ReadOptions& options) {
  using Status = detail::JsonArraySplitter::Status;
  detail::JsonArraySplitter elements(in, options.max_line);
  const uint64_t total = in.size_hint();
  auto done = [&] { return in.compressed() ? in.input_consumed() : elements.bytes_consumed(); };
  uint64_t next_progress = options.progress_every;
  std::string_view text;
  Status st;
  while (elements.next(&text, &st)) {
    ++stats.read;
    const uint64_t at = elements.line();
    switch (st) {
      case Status::ok: reader.record(text, at); break;
      case Status::too_long:
        reader.reject(at, "", "array element too long: over " + std::to_string(options.max_line) + " bytes");
        break;
      case Status::empty: reader.reject(at, "", "invalid JSON: empty array element (a stray ',')"); break;
      case Status::truncated:
        reader.reject(at, "", "truncated JSON array: the input ends before the array's closing ']'");
        break;
      case Status::trailing:
        reader.reject(at, "", "invalid JSON: text after the array's closing ']' (the rest of the input is not read)");
        break;
    }
    if (progress && done() >= next_progress) {
      progress(done(), total);
      next_progress = done() + options.progress_every;
    }
  }
  reader.finish();
  stats.bytes = elements.bytes_consumed();
  if (progress) progress(done(), total);
  return stats;
}

}  // namespace

ReadStats read_repositories(ByteSource& src, RepoTable& repos, RejectLog& rejects, const ProgressFn& progress,
                            const ReadOptions& options) {
  ReadStats stats;
  stats.file = src.name();
  // gzip/zstd are decoded here; the first significant byte decides JSON array or lines.
  std::unique_ptr<DecodedSource> own;
  DecodedSource* in = src.decoded() ? dynamic_cast<DecodedSource*>(&src) : nullptr;
  if (!in) {
    own = std::make_unique<DecodedSource>(src);
    in = own.get();
  }
  RepoReader reader(repos, rejects, stats, options);
  if (first_significant_byte(*in, 1u << 20) == '[') return read_json_array(*in, reader, stats, progress, options);
  LineReader lines(*in, options.max_line);
  const uint64_t total = in->size_hint();
  uint64_t next_progress = options.progress_every;
  auto tick = [&](uint64_t done) {
    if (progress && done >= next_progress) {
      progress(done, total);
      next_progress = done + options.progress_every;
    }
  };
  auto too_long = [&](uint64_t line) {
    ++stats.read;
    reader.reject(line, "", "line too long: over " + std::to_string(options.max_line) + " bytes");
  };

  // The first non-blank line decides the form: a JSON object starts JSON Lines; a CSV header
  // with a `metadata` column starts the CSV form; anything else is read as JSON Lines (and
  // rejected line by line when it is not JSON).
  std::string_view line;
  bool long_line = false;
  bool have_first = false;
  while (lines.next(&line, &long_line)) {
    if (long_line) {
      too_long(lines.line_number());
      continue;
    }
    line = trim(strip_bom(line));
    if (line.empty()) continue;
    have_first = true;
    break;
  }
  if (have_first && line.front() != '{') {
    std::vector<std::string_view> cells;
    std::string scratch;
    const char* err = nullptr;
    int meta = -1;
    std::vector<std::string> header;
    if (detail::split_csv(line, &cells, &scratch, &err)) {
      for (auto c : cells) header.push_back(detail::normalise_header(c));
      meta = detail::find_column(header, {"metadata"});
    }
    if (meta >= 0) {
      detail::CsvRecordReader records(lines, options.max_record);
      std::string_view rec;
      detail::CsvRecordReader::Status st;
      while (records.next(&rec, &st)) {
        ++stats.read;
        const uint64_t at = records.first_line();
        if (std::string why = detail::csv_cells_or_problem(rec, st, options.max_line, header.size(), &cells, &scratch);
            !why.empty()) {
          reader.reject(at, "", why);
        } else if (trim(cells[meta]).empty()) {
          reader.reject(at, "metadata", "empty metadata");
        } else {
          reader.record(cells[meta], at);
        }
        tick(lines.progress_bytes());
      }
      reader.finish();
      stats.bytes = lines.bytes_consumed();
      if (progress) progress(lines.progress_bytes(), total);
      return stats;
    }
  }
  // JSON Lines.
  if (have_first) {
    ++stats.read;
    reader.record(line, lines.line_number());
  }
  while (lines.next(&line, &long_line)) {
    if (long_line) {
      too_long(lines.line_number());
      continue;
    }
    line = trim(line);
    if (line.empty()) continue;
    ++stats.read;
    reader.record(line, lines.line_number());
    tick(lines.progress_bytes());
  }
  reader.finish();
  stats.bytes = lines.bytes_consumed();
  if (progress) progress(lines.progress_bytes(), total);
  return stats;
}

}  // namespace ecostat::host
