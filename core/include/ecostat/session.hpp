// The engine as a push-style session: producers (the file readers, the Arrow importer, the
// Python module, any library caller) fill the repository, attribution and parameter tables and
// push download batches; finish() reduces everything into Results. A session can also stop
// before the reduction and hand out its Partial state, which merges with other sessions'
// (ecostat/partial.hpp): the base of scale-out. docs/library.md has the contract.
#pragma once
#include <memory>

#include "ecostat/engine.hpp"
#include "ecostat/partial.hpp"
#include "ecostat/records.hpp"

namespace ecostat {

class Session {
 public:
  // How the session will end. finish_only lets it keep only what the options' tables need (no
  // unit x month table when no month table is asked: month_groups empty and no study part that
  // uses one); to_partial() then throws UsageError, since a partial needs that table.
  enum class Ends { finish_or_partial, finish_only };
  // Validates the options (UsageError) and selects the backend (options.backend, options.threads).
  explicit Session(const EngineOptions& options, Ends ends = Ends::finish_or_partial);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const EngineOptions& options() const;
  const BackendInfo& backend() const;

  // The tables producers fill. Repository records (and the placeholders RepoTable::ensure adds)
  // may be added at any time before finish; a download batch names units of repositories().
  RepoTable& repositories();
  AttributionTable& attribution();
  ParameterTable& parameters();
  // What producers read: per-file summaries (role repos | downloads | orgs | params; a
  // `downloads` file, even an empty one, makes the month tables exist), accepted record
  // counts, duplicate rows and rejects. finish() fills units, placeholders and events.
  InputSummary& input();

  // Records a timing stage: the wall time since the previous mark (or since the session began).
  void mark(const std::string& stage);

  // Streams one batch of download events into the backend (counts above u32 in batch.wide are
  // kept and added exactly at the end). Throws Error when a unit id is outside repositories().
  void add_downloads(const EventBatch& batch);

  // The results of everything added. The session is spent afterwards (a second call throws).
  Results finish();
  // The unreduced state instead of results (the session is spent afterwards).
  Partial to_partial();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace ecostat
