// The host-side driver: runs a job from the inputs a JobSpec names (files, stdin, the embedded
// sample) and from Arrow C streams, feeding one Session. The CLI and the Python module call it.
#pragma once
#include <string>
#include <vector>

#include "ecostat/engine.hpp"
#include "ecostat/host/arrow_c.hpp"
#include "ecostat/partial.hpp"

namespace ecostat {

// An Arrow C stream for one input role. The job takes it: it is released (exactly once) when
// the job has read it, also when the job fails. `name` names it in messages and rejects
// ("arrow:<name>").
struct StreamInput {
  ArrowArrayStream stream{};
  std::string name;
};

// Streams per role, read after the role's file (if any). A job with any stream does not fall
// back to the embedded sample.
struct JobStreams {
  std::vector<StreamInput> repos, downloads, orgs, params;
  bool empty() const { return repos.empty() && downloads.empty() && orgs.empty() && params.empty(); }
};

// Runs a job end to end. Throws InputError (strict mode, unreadable file, malformed stream),
// UsageError, or a backend error.
Results run_job(const JobSpec& spec, JobStreams streams = {});

// The same inputs, stopped before the reduction (see ecostat/partial.hpp).
Partial run_partial(const JobSpec& spec, JobStreams streams = {});

}  // namespace ecostat
