// The data model: repository records (columnar, dense ids), base-model edges,
// attribution tables and download events.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ecostat/dictionary.hpp"
#include "ecostat/types.hpp"

namespace ecostat {

// child -> parent edge as listed in the child's record; `order` 0 is the primary parent.
struct BaseEdge {
  uint32_t child;
  uint32_t parent;
  Relation relation;
  uint16_t order;
};

// The author a repository id names: its prefix before the first '/' ("org/model" -> "org");
// empty when it has none (no '/', or a leading one). A row without an author of its own gets it.
inline std::string_view id_author(std::string_view id) {
  const size_t slash = id.find('/');
  return slash != std::string_view::npos && slash > 0 ? id.substr(0, slash) : std::string_view();
}

// Every repository the job knows about, one row per dense id (the "unit").
// Rows come from repository records; a repo id named only by a download record or only as
// a base model gets a row too (placeholder = true), so no count is ever dropped.
struct RepoTable {
  Dictionary ids;          // "org/name" -> unit id
  Dictionary authors;      // author handle -> author id
  Dictionary pipeline_tags;
  Dictionary libraries;
  Dictionary tags;

  std::vector<uint32_t> author;          // author id (record's author, else id prefix); kNone if neither
  std::vector<RepoKind> kind;
  std::vector<int32_t> created_day;      // kNoDay when absent
  std::vector<uint64_t> likes;
  std::vector<uint64_t> downloads_30d;   // the Hub's `downloads`
  std::vector<uint64_t> downloads_all_time;
  std::vector<uint8_t> has_all_time;     // 1 when downloads_all_time was given
  std::vector<uint64_t> parameters;      // safetensors.total; 0 = unknown
  std::vector<uint32_t> pipeline_tag;    // kNone when absent
  std::vector<uint32_t> library;         // kNone when absent
  std::vector<uint32_t> tag_offsets{0};  // CSR: tags of unit u are tag_ids[tag_offsets[u] .. tag_offsets[u+1])
  std::vector<uint32_t> tag_ids;
  std::vector<uint8_t> placeholder;      // 1: no repository record (named by downloads or as a parent)
  std::vector<uint8_t> in_downloads_only;// 1: placeholder created by a download record
  std::vector<BaseEdge> edges;           // in record order

  uint32_t size() const { return ids.size(); }
  // Adds a placeholder row for id when unknown; returns the unit id either way.
  uint32_t ensure(std::string_view id, bool from_downloads) { return ensure(id, Dictionary::hash(id), from_downloads); }
  // The same with h = Dictionary::hash(id) computed ahead.
  uint32_t ensure(std::string_view id, uint64_t h, bool from_downloads);
  // Appends default column values for a new unit (used by ensure and by readers).
  void push_defaults();
  // Room in every per-unit column for n units in all (a reader that can estimate its count:
  // the columns then grow without copying themselves over and over).
  void reserve(size_t n);
};

// Attribution: author handle -> parent organisation, country, region, org type.
struct AttributionTable {
  Dictionary handles;         // row per handle
  Dictionary organisations;   // parent organisation names
  Dictionary countries;
  Dictionary regions;
  Dictionary org_types;
  std::vector<uint32_t> organisation;  // per handle; kNone when the row leaves it empty
  std::vector<uint32_t> country;
  std::vector<uint32_t> region;
  std::vector<uint32_t> org_type;
};

// Parameter counts by model id (a parameters table, e.g. the tracked-models project's
// model_parameters.csv): what the study's size classes use for models without safetensors.total.
struct ParameterTable {
  Dictionary ids;
  std::vector<uint64_t> total;
  std::vector<uint64_t> active;  // 0 when not given
};

// A download record whose count does not fit in u32 (rare in real data). It travels beside the
// batch's u32 columns and is added exactly on the host by the engine, so a count of 2^64-1
// costs one entry, not 2^32 events. Backends' accumulators never see it.
struct WideEvent {
  uint32_t unit;
  Month month;
  uint64_t count;
};

// Download events in columnar form: what streams to a backend. Counts that fit in u32 go in the
// columns; larger ones go in `wide` (see WideEvent), so sums stay exact at no per-unit cost.
struct EventBatch {
  std::vector<uint32_t> unit;
  std::vector<Month> month;
  std::vector<uint32_t> count;
  std::vector<WideEvent> wide;      // counts above u32; not part of size()
  uint32_t unit_bound = 0;          // every unit id in the batch is < unit_bound
  Month month_min = 0xffff, month_max = 0;  // range of months in the batch (min > max when empty)

  size_t size() const { return unit.size(); }
  void clear();
  // Inline: readers push every accepted row.
  void push(uint32_t u, Month m, uint32_t c) {
    unit.push_back(u);
    month.push_back(m);
    count.push_back(c);
    if (u >= unit_bound) unit_bound = u + 1;
    if (m < month_min) month_min = m;
    if (m > month_max) month_max = m;
  }
  void push_wide(uint32_t u, Month m, uint64_t c);  // for c > u32 max; updates bounds too
};

}  // namespace ecostat
