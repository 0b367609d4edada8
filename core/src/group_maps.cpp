#include "group_maps.hpp"

#include <cctype>
#include <cstdio>

#include "ecostat/errors.hpp"

namespace ecostat {

static constexpr std::string_view kUnknown = "unknown";

std::string_view GroupKeys::key(uint32_t g) const { return g < names_->size() ? names_->at(g) : kUnknown; }

GroupMapBuilder::GroupMapBuilder(const RepoTable& repos, const AttributionTable& attribution,
                                 const std::vector<uint32_t>& family_root, const std::vector<uint64_t>& size_bucket_edges)
    : repos_(repos), attribution_(attribution), family_root_(family_root), size_edges_(size_bucket_edges) {}

const GroupMap& GroupMapBuilder::map(const std::string& group) { return build(group).map; }
const GroupKeys& GroupMapBuilder::keys(const std::string& group) { return *build(group).keys; }

const std::vector<uint8_t>& GroupMapBuilder::has_member(const std::string& group) {
  Entry& e = build(group);
  if (e.has_member.size() != e.map.n_groups) {
    const bool identity = e.map.group_of_unit.empty();  // every unit its own group
    e.has_member.assign(e.map.n_groups, identity ? 1 : 0);
    for (uint32_t g : e.map.group_of_unit) e.has_member[g] = 1;
  }
  return e.has_member;
}

static std::string human_count(uint64_t v) {
  char buf[32];
  if (v % 1000000000000ull == 0 && v) std::snprintf(buf, sizeof buf, "%lluT", (unsigned long long)(v / 1000000000000ull));
  else if (v % 1000000000ull == 0 && v) std::snprintf(buf, sizeof buf, "%lluB", (unsigned long long)(v / 1000000000ull));
  else if (v % 1000000ull == 0 && v) std::snprintf(buf, sizeof buf, "%lluM", (unsigned long long)(v / 1000000ull));
  else std::snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
  return buf;
}

// Default edges 1B, 10B, 100B give "<1B", "1-9B", "10-99B", ">=100B" as PRODUCT.md names them.
std::vector<std::string> GroupMapBuilder::size_bucket_labels(const std::vector<uint64_t>& edges) {
  std::vector<std::string> labels;
  if (edges.empty()) return {"all"};
  labels.push_back("<" + human_count(edges.front()));
  const uint64_t B = 1000000000ull;
  for (size_t i = 0; i + 1 < edges.size(); ++i) {
    const uint64_t a = edges[i], b = edges[i + 1];
    if (a % B == 0 && b % B == 0)
      labels.push_back(std::to_string(a / B) + "-" + std::to_string(b / B - 1) + "B");
    else
      labels.push_back(human_count(a) + "-" + human_count(b));
  }
  labels.push_back(">=" + human_count(edges.back()));
  return labels;
}

static bool is_unknown_value(std::string_view v) {
  if (v.size() != kUnknown.size()) return false;
  for (size_t i = 0; i < v.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(v[i])) != kUnknown[i]) return false;
  return true;
}

void GroupMapBuilder::attribution_map(Entry& e, const std::vector<uint32_t>& column, const Dictionary& names) {
  const uint32_t unknown = names.size();
  // author id -> group, resolved once per author rather than per unit
  std::vector<uint32_t> by_author(repos_.authors.size(), unknown);
  for (uint32_t a = 0; a < by_author.size(); ++a) {
    const uint32_t row = attribution_.handles.find(repos_.authors.at(a));
    // a value spelled "unknown" in the table (tracked-models regions have it) is unattributed
    // too: it joins the one explicit unknown group rather than forming a second one
    if (row != kNone && column[row] != kNone && !is_unknown_value(names.at(column[row]))) by_author[a] = column[row];
  }
  e.map.n_groups = unknown + 1;
  e.map.group_of_unit.resize(repos_.size());
  for (uint32_t u = 0; u < repos_.size(); ++u)
    e.map.group_of_unit[u] = repos_.author[u] == kNone ? unknown : by_author[repos_.author[u]];
  e.keys = std::make_unique<GroupKeys>(&names, unknown);
  if (inherit_graph_) inherit_from_ancestors(e, unknown);
}

// Walks primary parents from each unit still unknown to the first resolved ancestor; every
// unit on the way takes that ancestor's value (or stays unknown). Each unit is resolved once,
// so the pass is linear; the graph is acyclic, so every walk ends.
void GroupMapBuilder::inherit_from_ancestors(Entry& e, uint32_t unknown) {
  const LineageGraph& g = *inherit_graph_;
  std::vector<uint32_t>& group = e.map.group_of_unit;
  const uint32_t n = static_cast<uint32_t>(group.size());
  if (g.n_nodes != n) throw Error("attribution inheritance: lineage graph and repository table differ in size");
  // (a value spelled "unknown" was already mapped to the unknown group by attribution_map)
  auto attributed = [&](uint32_t g) { return g != unknown; };
  std::vector<uint8_t> done(n, 0);
  for (uint32_t u = 0; u < n; ++u) done[u] = attributed(group[u]);
  std::vector<uint32_t> chain;
  for (uint32_t u = 0; u < n; ++u) {
    if (done[u]) continue;
    chain.clear();
    uint32_t v = u;
    while (!done[v]) {
      chain.push_back(v);
      if (g.parent_offsets[v] == g.parent_offsets[v + 1]) break;  // a root
      v = g.parents[g.parent_offsets[v]];
    }
    const uint32_t value = done[v] ? group[v] : unknown;
    for (uint32_t c : chain) {
      if (attributed(value)) {
        group[c] = value;
        ++e.inherited;
      }
      done[c] = 1;
    }
  }
}

GroupMapBuilder::Entry& GroupMapBuilder::build(const std::string& group) {
  auto it = cache_.find(group);
  if (it != cache_.end()) return it->second;
  Entry& e = cache_[group];
  e.map.name = group;
  const uint32_t n = repos_.size();
  // A value spelled "unknown" (a pipeline tag old Hub snapshots store literally) is no value:
  // it joins the explicit unknown group, so the key `unknown` names one group, not two.
  auto dictionary_map = [&](const std::vector<uint32_t>& ids, const Dictionary& dict) {
    const uint32_t unknown = dict.size();
    std::vector<uint8_t> spelled_unknown(dict.size());
    for (uint32_t v = 0; v < dict.size(); ++v) spelled_unknown[v] = is_unknown_value(dict.at(v));
    e.map.n_groups = unknown + 1;
    e.map.group_of_unit.resize(n);
    for (uint32_t u = 0; u < n; ++u)
      e.map.group_of_unit[u] = ids[u] == kNone || spelled_unknown[ids[u]] ? unknown : ids[u];
    e.keys = std::make_unique<GroupKeys>(&dict, unknown);
  };
  if (group == "model") {
    e.map.n_groups = n;  // identity
    e.keys = std::make_unique<GroupKeys>(&repos_.ids, kNone);
  } else if (group == "author") {
    dictionary_map(repos_.author, repos_.authors);
  } else if (group == "organisation") {
    attribution_map(e, attribution_.organisation, attribution_.organisations);
  } else if (group == "country") {
    attribution_map(e, attribution_.country, attribution_.countries);
  } else if (group == "region") {
    attribution_map(e, attribution_.region, attribution_.regions);
  } else if (group == "org_type") {
    attribution_map(e, attribution_.org_type, attribution_.org_types);
  } else if (group == "family") {
    e.map.n_groups = n;
    e.map.group_of_unit = family_root_;
    e.keys = std::make_unique<GroupKeys>(&repos_.ids, kNone);
  } else if (group == "size_bucket") {
    for (const std::string& label : size_bucket_labels(size_edges_)) e.own_names.intern(label);
    const uint32_t unknown = e.own_names.size();
    e.map.n_groups = unknown + 1;
    e.map.group_of_unit.resize(n);
    for (uint32_t u = 0; u < n; ++u) {
      const uint64_t p = repos_.parameters[u];
      uint32_t b = 0;
      while (b < size_edges_.size() && p >= size_edges_[b]) ++b;
      e.map.group_of_unit[u] = p == 0 ? unknown : b;
    }
    e.keys = std::make_unique<GroupKeys>(&e.own_names, unknown);
  } else if (group == "pipeline_tag") {
    dictionary_map(repos_.pipeline_tag, repos_.pipeline_tags);
  } else if (group == "library") {
    dictionary_map(repos_.library, repos_.libraries);
  } else if (group == "kind") {
    for (const char* kind : {"model", "dataset", "space"}) e.own_names.intern(kind);
    e.map.n_groups = 4;
    e.map.group_of_unit.resize(n);
    // An id named only by download records has no repository record: its kind is not known.
    for (uint32_t u = 0; u < n; ++u)
      e.map.group_of_unit[u] = repos_.in_downloads_only[u] ? 3 : static_cast<uint32_t>(repos_.kind[u]);
    e.keys = std::make_unique<GroupKeys>(&e.own_names, 3);
  } else {
    cache_.erase(group);
    throw UsageError("unknown group '" + group + "'");
  }
  return e;
}

}  // namespace ecostat
