// The host-side driver: opens each input a JobSpec names (files, stdin, the embedded sample,
// Parquet files) and each Arrow stream given, runs the matching producer into one Session, and
// ends with finish() or to_partial().
#include "ecostat/job.hpp"

#include <algorithm>
#include <cstdint>
#include <thread>

#include "ecostat/errors.hpp"
#include "ecostat/host/arrow_readers.hpp"
#include "ecostat/host/parquet.hpp"
#include "ecostat/host/readers.hpp"
#include "ecostat/host/sample.hpp"
#include "ecostat/session.hpp"
#include "download_reader_parallel.hpp"
#include "repo_reader_parallel.hpp"

namespace ecostat {

namespace {

// One input of a role: text bytes (a file, stdin, a sample file) or an Arrow stream (given by the
// caller, or a Parquet file opened as one). Releases a stream nobody took, also on errors.
struct Input {
  std::unique_ptr<host::ByteSource> bytes;
  ArrowArrayStream stream{};
  std::string name;
  Input() = default;
  Input(Input&& o) noexcept : bytes(std::move(o.bytes)), stream(o.stream), name(std::move(o.name)) {
    o.stream.release = nullptr;
  }
  Input(const Input&) = delete;
  ~Input() {
    if (stream.release) stream.release(&stream);
  }
};

// The inputs of one role: the path given (a Parquet file becomes a stream), else (sample mode)
// the embedded sample's files; then the caller's streams.
std::vector<Input> inputs_of(const std::string& path, std::vector<StreamInput>& streams, bool sample,
                             const std::vector<std::string>& sample_files, unsigned threads,
                             const DownloadSlice& slice = {}) {
  std::vector<Input> out;
  if (!path.empty()) {
    Input in;
    in.name = path;
    const bool parquet = host::is_parquet_file(path);
    if (parquet && slice.row_groups)  // row groups [begin, end) of the file
      host::open_parquet_stream(path, threads, &in.stream, int(std::min<uint64_t>(slice.begin, INT32_MAX)),
                                int(std::min<uint64_t>(slice.end, INT32_MAX)));
    else if (parquet) host::open_parquet_stream(path, threads, &in.stream);
    else in.bytes = host::open_source(path);
    out.push_back(std::move(in));
  } else if (sample) {
    for (const auto& name : sample_files) {
      Input in;
      in.name = name;
      in.bytes = host::open_sample_file(name);
      out.push_back(std::move(in));
    }
  }
  for (StreamInput& s : streams) {
    Input in;
    in.name = s.name;
    in.stream = s.stream;
    s.stream.release = nullptr;  // moved: the Input releases it
    out.push_back(std::move(in));
  }
  return out;
}

host::DownloadFormat parse_format(const std::string& s) {
  if (s == "per_period") return host::DownloadFormat::per_period;
  if (s == "cumulative") return host::DownloadFormat::cumulative;
  return host::DownloadFormat::detect;
}

// The readers' options a job sets: the plausible-date window and the duplicate-row policy.
host::ReadOptions read_options_of(const JobSpec& spec) {
  host::ReadOptions o;
  o.min_day = parse_window_day(spec.min_date, "min date");
  o.max_day = parse_window_day(spec.max_date, "max date");
  o.duplicates = spec.duplicates == "reject" ? host::DuplicatePolicy::reject : host::DuplicatePolicy::count;
  o.threads = spec.threads ? spec.threads : std::max(1u, std::thread::hardware_concurrency());
  return o;
}

FileSummary summary_of(const char* role, const host::ReadStats& s) {
  return {role, s.file, s.read, s.accepted, s.rejected, s.bytes};
}

// Reads every input of the job into the session; rejects go to `rejects`.
void feed(Session& session, const JobSpec& spec, JobStreams& streams, host::RejectLog& rejects,
          host::DownloadJob& download_job) {
  // No input at all: the embedded sample (a parameters table alone still runs on the sample).
  const bool sample = spec.repos_path.empty() && spec.downloads_path.empty() && spec.orgs_path.empty() && streams.empty();
  const host::SampleInputs& samples = host::sample_inputs();
  const host::ReadOptions options = read_options_of(spec);
  InputSummary& input = session.input();
  auto progress_for = [&](const std::string& stage) -> host::ProgressFn {
    if (!spec.progress) return {};
    return [&spec, stage](uint64_t done, uint64_t total) { spec.progress(stage, done, total); };
  };

  // 1. Attribution, then repositories (all of them: they are millions, not billions).
  for (Input& in : inputs_of(spec.orgs_path, streams.orgs, sample, samples.attribution, spec.threads))
    input.files.push_back(summary_of(
        "orgs", in.bytes ? host::read_attribution(*in.bytes, session.attribution(), rejects, options)
                         : host::read_attribution_arrow(&in.stream, in.name, session.attribution(), rejects, options)));
  for (Input& in : inputs_of(spec.repos_path, streams.repos, sample, samples.repositories, spec.threads)) {
    host::ReadStats st;
    if (!in.bytes)
      st = host::read_repositories_arrow(&in.stream, in.name, session.repositories(), rejects, options);
    else if (!host::detail::read_repositories_parallel(in.name, session.repositories(), rejects,
                                                       progress_for("repositories"), options, options.threads, &st))
      st = host::read_repositories(*in.bytes, session.repositories(), rejects, progress_for("repositories"), options);
    input.repositories += st.accepted;
    input.files.push_back(summary_of("repos", st));
  }
  session.mark("read_repositories");

  // 2. Download records stream through the session in batches.
  const auto format = parse_format(spec.downloads_format);
  auto sink = [&session](const EventBatch& b) { session.add_downloads(b); };
  const DownloadSlice& slice = spec.downloads_slice;
  for (Input& in : inputs_of(spec.downloads_path, streams.downloads, sample, samples.downloads, spec.threads, slice)) {
    host::ReadStats st;
    const bool sliced = !slice.whole() && in.name == spec.downloads_path;
    if (!in.bytes) {
      host::ReadOptions stream_options = options;
      if (sliced && slice.row_groups) stream_options.rows_before = slice.line_base;  // the file's own row numbers
      st = host::read_downloads_arrow(&in.stream, in.name, format, session.repositories(), rejects,
                                      spec.batch_capacity, sink, stream_options, download_job);
    } else if (sliced && slice.row_groups)
      throw InputError(in.name, 0, "", "row groups asked of a file that is not Parquet (changed since it was cut?)");
    else if (sliced)
      st = host::detail::read_downloads_slice(in.name, slice, format, session.repositories(), rejects,
                                              spec.batch_capacity, sink, progress_for("downloads"), options,
                                              download_job, options.threads);
    else if (!host::detail::read_downloads_parallel(in.name, format, session.repositories(), rejects,
                                                    spec.batch_capacity, sink, progress_for("downloads"), options,
                                                    download_job, options.threads, &st))
      st = options.threads > 1  // stdin, a pipe, gzip, zstd, a small file
               ? host::detail::read_downloads_streamed(*in.bytes, format, session.repositories(), rejects,
                                                       spec.batch_capacity, sink, progress_for("downloads"),
                                                       options, download_job, options.threads)
               : host::read_downloads(*in.bytes, format, session.repositories(), rejects, spec.batch_capacity,
                                      sink, progress_for("downloads"), options, download_job);
    input.download_records += st.accepted;
    input.files.push_back(summary_of("downloads", st));
  }
  input.duplicate_download_rows += download_job.duplicate_rows();
  session.mark("read_and_accumulate_downloads");

  // 3. Parameter counts (the study's size classes).
  for (Input& in : inputs_of(spec.params_path, streams.params, sample, samples.parameters, spec.threads))
    input.files.push_back(summary_of(
        "params", in.bytes ? host::read_parameters(*in.bytes, session.parameters(), rejects, options)
                           : host::read_parameters_arrow(&in.stream, in.name, session.parameters(), rejects, options)));

  input.rejected += rejects.total();
  for (const auto& [reason, n] : rejects.by_reason()) input.rejected_by_reason[reason] += n;
  for (const auto& r : rejects.first()) input.first_rejects.push_back({r.file, r.line, r.field, r.reason});
}

// The (unit, day) pairs the job's download rows named, for merging with other slices of the
// same file (JobSpec::duplicate_scope). Unit ids are the session's, which its partial keeps.
Partial::DayMarks day_marks_of(host::DownloadJob& job, const std::string& scope) {
  Partial::DayMarks m;
  m.scope = scope;
  m.offsets.push_back(0);
  job.visit_marks([&m](uint32_t unit, int32_t first_word, const uint64_t* words, size_t n) {
    m.unit.push_back(unit);
    m.first_word.push_back(first_word);
    m.words.insert(m.words.end(), words, words + n);
    m.offsets.push_back(m.words.size());
  });
  return m;
}

// Releases every stream a job was given and did not reach (e.g. after an error).
struct StreamsGuard {
  JobStreams& streams;
  ~StreamsGuard() {
    for (auto* role : {&streams.repos, &streams.downloads, &streams.orgs, &streams.params})
      for (StreamInput& s : *role)
        if (s.stream.release) s.stream.release(&s.stream);
  }
};

}  // namespace

namespace {

// Feeds one session with the job's inputs, ends it with `end` (finish or to_partial); the rejects
// file replaces the previous one only once that succeeded.
template <class End>
auto drive(const JobSpec& spec, JobStreams& streams, Session::Ends ends, End&& end) {
  StreamsGuard guard{streams};
  Session session(spec, ends);
  host::RejectLog rejects(spec.strict, spec.rejects_path);
  host::DownloadJob download_job(spec.threads);  // the total and the duplicate check span every download file
  feed(session, spec, streams, rejects, download_job);
  auto out = end(session, download_job);
  rejects.finish();
  return out;
}

}  // namespace

Results run_job(const JobSpec& spec, JobStreams streams) {
  return drive(spec, streams, Session::Ends::finish_only, [](Session& s, host::DownloadJob&) { return s.finish(); });
}

Partial run_partial(const JobSpec& spec, JobStreams streams) {
  return drive(spec, streams, Session::Ends::finish_or_partial, [&spec](Session& s, host::DownloadJob& download_job) {
    Partial p = s.to_partial();
    if (!spec.duplicate_scope.empty()) p.day_marks.push_back(day_marks_of(download_job, spec.duplicate_scope));
    return p;
  });
}

}  // namespace ecostat
