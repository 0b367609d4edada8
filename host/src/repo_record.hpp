// One repository record and the rules for each of its fields, shared by every producer of
// repository records (JSON Lines / JSON array / CSV-with-metadata, and Arrow columns): each
// field is validated by one function whatever form it came in, and one writer adds the record
// to the RepoTable (duplicate ids, exact sums, placeholders filled late). Internal to the host
// readers; the rules are docs/input-formats.md's.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ecostat/host/readers.hpp"
#include "ecostat/records.hpp"

namespace ecostat::host::detail {

// Why a record is rejected: the field (may be empty) and the reason.
struct Fail {
  std::string field, reason;
};

struct ParentRef {
  std::string id;
  Relation relation;
  uint64_t id_hash = 0;  // Dictionary::hash(id), set by hash_fields
};

// One validated record, not yet in the table.
struct RepoRecord {
  std::string id;
  uint64_t id_hash = 0;  // Dictionary::hash(id): set by hash_fields, with the hashes below
  std::string author;  // empty: from the id prefix
  RepoKind kind = RepoKind::model;
  int32_t created_day = kNoDay;
  uint64_t likes = 0, downloads = 0, all_time = 0, parameters = 0;
  bool has_all_time = false;
  std::string pipeline_tag, library;  // empty: absent (empty text is never a value)
  std::vector<std::string> tags;
  std::vector<ParentRef> parents;
  // Dictionary::hash of the author_of, pipeline_tag, library and each tag (0 for an absent
  // one), and of each parent's id: set by hash_fields on the parsing thread, so that the one
  // thread that adds records to the table only probes.
  uint64_t author_hash = 0, pipeline_hash = 0, library_hash = 0;
  std::vector<uint64_t> tag_hashes;
  bool hashed = false;

  // Back to a default record, keeping the strings' and lists' storage: a reader that parses
  // into the same records over and over allocates nothing for the usual record.
  void clear() {
    id.clear();
    id_hash = 0;
    author.clear();
    kind = RepoKind::model;
    created_day = kNoDay;
    likes = downloads = all_time = parameters = 0;
    has_all_time = false;
    pipeline_tag.clear();
    library.clear();
    tags.clear();
    parents.clear();
    author_hash = pipeline_hash = library_hash = 0;
    tag_hashes.clear();
    hashed = false;
  }
};

// The record's author: its own, else the one its id names (id_author); empty when neither.
inline std::string_view author_of(const RepoRecord& rec) {
  return rec.author.empty() ? id_author(rec.id) : std::string_view(rec.author);
}

// Sets the record's hashes (RepoRecord::hashed); a validated record's last step on its parsing
// thread (parse_repo_json does it).
void hash_fields(RepoRecord* rec);

// The plausible-date window a creation date must fall in (ReadOptions::min_day, max_day).
struct Window {
  int32_t min_day, max_day;
};

// ---- Field rules. `name` is the field as the input names it (for the reject).

std::optional<Fail> set_repo_id(std::string_view id, const char* name, RepoRecord* rec);
std::optional<Fail> set_author(std::string_view author, const char* name, RepoRecord* rec);
std::optional<Fail> set_kind(std::string_view kind, const char* name, RepoRecord* rec);
// createdAt as text: an ISO date, or epoch milliseconds written as digits.
std::optional<Fail> set_created_text(std::string_view text, const char* name, const Window& w, RepoRecord* rec);
// createdAt as epoch milliseconds (a number); text is how the input wrote it.
std::optional<Fail> set_created_epoch_ms(int64_t ms, std::string_view text, const char* name, const Window& w,
                                         RepoRecord* rec);
// createdAt as a day already (an Arrow date or timestamp): only the window applies.
std::optional<Fail> set_created_day(int32_t day, const char* name, const Window& w, RepoRecord* rec);
// pipeline_tag / library_name: empty text leaves the field absent (*out empty).
std::optional<Fail> set_optional_text(std::string_view text, const char* name, std::string* out);
// tags as one string: a Python-repr or JSON list, or a single tag.
std::optional<Fail> set_tags_text(std::string_view text, const char* name, RepoRecord* rec);
// tags as a list (each checked as text; repeated and empty tags dropped).
std::optional<Fail> set_tags(std::vector<std::string> tags, const char* name, RepoRecord* rec);
// The same for a list a reader put in rec->tags itself (no list moved in).
std::optional<Fail> check_tags(const char* name, RepoRecord* rec);
// safetensors: an object {total}, or the object as JSON text.
std::optional<Fail> set_safetensors(const nlohmann::json& v, const char* name, RepoRecord* rec);
// The parents from baseModels (may be null), the record's base_model: tags (set_tags first)
// and card data (may be null), each as the JSON reader takes them (JSON text included).
std::optional<Fail> set_parents(const nlohmann::json* base_models, const char* base_name, const nlohmann::json* card,
                                const char* card_name, RepoRecord* rec);
// A parent as a source lists it, before normalisation (the id as written).
struct ListedParent {
  std::string_view id;
  Relation relation;
};
// set_parents for sources already listed: the baseModels entries and the card's base_model
// ids, each in listed order (empty: the source is absent or names none).
std::optional<Fail> set_parents_listed(const std::vector<ListedParent>& base_models,
                                       const std::vector<ListedParent>& card, RepoRecord* rec);

// One repository record as JSON text (a line of JSON Lines, an array element, a metadata
// cell) -> *rec, or why it is rejected. Touches no shared state: safe from many threads.
// The fast path first; whatever it does not take, the DOM path. *rec must be a default record
// (new or cleared: the field rules set only the fields the text gives); an accepted record
// leaves with its hashes set (hash_fields).
std::optional<Fail> parse_repo_json(std::string_view text, const Window& window, RepoRecord* rec);
// The reference path: nlohmann's DOM (only the keys the reader uses kept), then the field rules.
// Every reject comes from here.
std::optional<Fail> parse_repo_json_dom(std::string_view text, const Window& window, RepoRecord* rec);
// The fast path (repo_json_fast.cpp, simdjson's On-Demand API): true with *rec filled for a
// well-formed record whose fields have the usual types and pass their rules. Anything else
// (invalid JSON, a reject, an unusual type or form, a repeated key) is false, *rec then
// unspecified: the DOM path decides, so results and rejects are the DOM path's exactly.
bool parse_repo_json_fast(std::string_view text, const Window& window, RepoRecord* rec);
// Whether this build has the fast path (ECOSTAT_SIMDJSON), and whether it is in use: compiled,
// and simdjson's calls bound to libsimdjson rather than to another library's copy (pyarrow's
// libparquet exports one). Otherwise parse_repo_json_fast is always false.
bool repo_json_fast_compiled();
bool repo_json_fast_enabled();

// ---- Adding records to the table.

class RepoTableWriter {
 public:
  RepoTableWriter(RepoTable& repos, RejectLog& rejects, ReadStats& stats, const ReadOptions& options);
  // When a strict RejectLog throws mid-input, the rows filled so far still get their tags.
  ~RepoTableWriter();
  RepoTableWriter(const RepoTableWriter&) = delete;
  RepoTableWriter& operator=(const RepoTableWriter&) = delete;

  const Window& window() const { return window_; }
  void reject(uint64_t line, const std::string& field, const std::string& reason);
  // A validated record: rejected as a duplicate id, or added (counted accepted). The sums of
  // downloads and of downloads_all_time over the table stay within 2^64-1 (InputError else).
  void add(const RepoRecord& rec, uint64_t line);
  // Fetches the id's and the author's slots of their dictionaries into the cache: a reader
  // calls it a few records before add(rec), so that the lookups do not wait on memory.
  void prefetch(const RepoRecord& rec) const;
  // Room for about n more repositories (a reader's estimate from the input's size).
  void expect(size_t n);
  // Rebuilds the tag CSR when rows that existed before (placeholders) received tags.
  void finish();

 private:
  void add_to_sum(uint64_t* sum, uint64_t value, uint64_t line, const char* field);
  void reject_duplicate(const RepoRecord& rec, uint64_t line);
  // The record's fields into row u (new: pushed with defaults already; late: a placeholder's).
  void commit(const RepoRecord& rec, uint32_t u, bool late);
  void insert_late(uint32_t u, std::vector<uint32_t> ids);

  RepoTable& repos_;
  RejectLog& rejects_;
  ReadStats& stats_;
  const Window window_;
  uint64_t sum_30d_ = 0, sum_all_time_ = 0;
  std::vector<std::pair<uint32_t, std::vector<uint32_t>>> late_tags_;
  size_t late_count_ = 0;
};

}  // namespace ecostat::host::detail
