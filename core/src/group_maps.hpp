// Unit -> group maps for every share group, with the group keys and the explicit `unknown`
// group that unattributed units fall into. Built on demand and cached.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ecostat/backend.hpp"
#include "ecostat/dictionary.hpp"
#include "ecostat/lineage.hpp"

namespace ecostat {

// Names of a group's ids. Ids past the named ones (at most one) are the `unknown` group.
class GroupKeys {
 public:
  GroupKeys(const Dictionary* names, uint32_t unknown_id) : names_(names), unknown_(unknown_id) {}
  // A view into the names' dictionary (valid while nothing is interned into it).
  std::string_view key(uint32_t g) const;
  // The id of the unknown group; kNone for groups that have none (model, family). Whether any
  // unit falls in it is GroupMapBuilder::has_member's answer.
  uint32_t unknown_id() const { return unknown_; }

 private:
  const Dictionary* names_;
  uint32_t unknown_;
};

class GroupMapBuilder {
 public:
  GroupMapBuilder(const RepoTable& repos, const AttributionTable& attribution, const std::vector<uint32_t>& family_root,
                  const std::vector<uint64_t>& size_bucket_edges);
  const GroupMap& map(const std::string& group);
  const GroupKeys& keys(const std::string& group);
  // has_member(group)[g] = 1 when at least one unit maps to g (size n_groups). A group exists
  // only then: share tables, share_info.<group>.groups and concentration.<group> all count
  // these groups only (a non-root under `family`, an organisation of the orgs table with no
  // repository, an `unknown` group nobody falls in are not groups).
  const std::vector<uint8_t>& has_member(const std::string& group);
  static std::vector<std::string> size_bucket_labels(const std::vector<uint64_t>& edges);
  // Option (docs/study-attribution-time.md): in the attribution maps (organisation, country,
  // region, org_type) a unit whose own value is unknown takes the value of its nearest
  // ancestor along primary parents (the first listed parent in the acyclic `graph`) that has
  // one. Set before the first map() call; nullptr turns it off. The graph must outlive this.
  void inherit_attribution(const LineageGraph* graph) { inherit_graph_ = graph; }
  // Units of `group` that took an ancestor's value (0 unless inheriting).
  uint64_t inherited(const std::string& group) { return build(group).inherited; }

 private:
  struct Entry {
    GroupMap map;
    std::unique_ptr<GroupKeys> keys;
    Dictionary own_names;  // for groups whose names are not a dictionary's
    uint64_t inherited = 0;              // units whose value came from an ancestor
    std::vector<uint8_t> has_member;     // filled by has_member() on first use
  };
  Entry& build(const std::string& group);
  // Maps units through their author's attribution row to one attribution column.
  void attribution_map(Entry& e, const std::vector<uint32_t>& column, const Dictionary& names);
  void inherit_from_ancestors(Entry& e, uint32_t unknown);

  const RepoTable& repos_;
  const AttributionTable& attribution_;
  const std::vector<uint32_t>& family_root_;
  std::vector<uint64_t> size_edges_;
  std::map<std::string, Entry> cache_;
  const LineageGraph* inherit_graph_ = nullptr;
};

}  // namespace ecostat
