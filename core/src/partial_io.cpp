// Partial::serialize / deserialize: a flat little-endian binary form. Every count and id read
// back is checked against what the blob holds, so a truncated, corrupt or foreign blob is an
// InputError("partial", ...) and never an out-of-bounds read.
#include <cstring>
#include <type_traits>

#include "ecostat/errors.hpp"
#include "ecostat/partial.hpp"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the partial format is little-endian");

namespace ecostat {

namespace {

constexpr char kMagic[8] = {'E', 'C', 'O', 'S', 'T', 'A', 'T', 'P'};
constexpr uint32_t kFormatVersion = 2;  // 2: day marks after the cells (1: none; still read)

class Writer {
 public:
  template <class T>
  void pod(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    out_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void str(std::string_view s) {
    pod<uint64_t>(s.size());
    out_ += s;
  }
  template <class T>
  void vec(const std::vector<T>& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    pod<uint64_t>(v.size());
    if (!v.empty()) out_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  void dict(const Dictionary& d) {
    pod<uint64_t>(d.size());
    for (uint32_t i = 0; i < d.size(); ++i) str(d.at(i));
  }
  void raw(const char* p, size_t n) { out_.append(p, n); }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

[[noreturn]] void bad(const std::string& field, const std::string& reason) {
  throw InputError("partial", 0, field, reason);
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  template <class T>
  T pod(const char* field) {
    T v;
    need(sizeof v, field);
    std::memcpy(&v, in_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }
  std::string str(const char* field) {
    const uint64_t n = pod<uint64_t>(field);
    need(n, field);
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  template <class T>
  std::vector<T> vec(const char* field) {
    const uint64_t n = pod<uint64_t>(field);
    if (n > (in_.size() - pos_) / sizeof(T)) bad(field, "truncated (" + std::to_string(n) + " items announced)");
    std::vector<T> v(n);
    if (n) std::memcpy(v.data(), in_.data() + pos_, n * sizeof(T));  // an empty vector's data() may be null
    pos_ += n * sizeof(T);
    return v;
  }
  void dict(Dictionary& d, const char* field) {
    const uint64_t n = pod<uint64_t>(field);
    if (n > in_.size() - pos_) bad(field, "truncated");
    for (uint64_t i = 0; i < n; ++i)
      if (d.intern(str(field)) != i) bad(field, "a string listed twice");
  }
  void expect_end() const {
    if (pos_ != in_.size()) bad("", std::to_string(in_.size() - pos_) + " bytes after the end of the partial");
  }
  size_t remaining() const { return in_.size() - pos_; }
  std::string_view bytes(size_t n, const char* field) {
    need(n, field);
    auto s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }

 private:
  void need(uint64_t n, const char* field) const {
    if (n > in_.size() - pos_) bad(field, "truncated");
  }
  std::string_view in_;
  size_t pos_ = 0;
};

// ---- Checks of what was read back.

template <class T>
void check_size(const std::vector<T>& v, uint64_t n, const char* field) {
  if (v.size() != n) bad(field, std::to_string(v.size()) + " values for " + std::to_string(n) + " rows");
}
void check_ids(const std::vector<uint32_t>& v, uint32_t bound, const char* field) {
  for (uint32_t id : v)
    if (id != kNone && id >= bound) bad(field, "id " + std::to_string(id) + " outside its dictionary of " + std::to_string(bound));
}
void check_flags(const std::vector<uint8_t>& v, const char* field) {
  for (uint8_t f : v)
    if (f > 1) bad(field, "a flag other than 0 or 1");
}

void write_repos(Writer& w, const RepoTable& r) {
  w.dict(r.ids);
  w.dict(r.authors);
  w.dict(r.pipeline_tags);
  w.dict(r.libraries);
  w.dict(r.tags);
  w.vec(r.author);
  w.vec(r.kind);
  w.vec(r.created_day);
  w.vec(r.likes);
  w.vec(r.downloads_30d);
  w.vec(r.downloads_all_time);
  w.vec(r.has_all_time);
  w.vec(r.parameters);
  w.vec(r.pipeline_tag);
  w.vec(r.library);
  w.vec(r.tag_offsets);
  w.vec(r.tag_ids);
  w.vec(r.placeholder);
  w.vec(r.in_downloads_only);
  w.pod<uint64_t>(r.edges.size());  // field by field: the structs have padding bytes
  for (const BaseEdge& e : r.edges) {
    w.pod(e.child);
    w.pod(e.parent);
    w.pod(static_cast<uint8_t>(e.relation));
    w.pod(e.order);
  }
}

void read_repos(Reader& in, RepoTable& r) {
  in.dict(r.ids, "repos.ids");
  in.dict(r.authors, "repos.authors");
  in.dict(r.pipeline_tags, "repos.pipeline_tags");
  in.dict(r.libraries, "repos.libraries");
  in.dict(r.tags, "repos.tags");
  const uint32_t n = r.ids.size();
  r.author = in.vec<uint32_t>("repos.author");
  r.kind = in.vec<RepoKind>("repos.kind");
  r.created_day = in.vec<int32_t>("repos.created_day");
  r.likes = in.vec<uint64_t>("repos.likes");
  r.downloads_30d = in.vec<uint64_t>("repos.downloads_30d");
  r.downloads_all_time = in.vec<uint64_t>("repos.downloads_all_time");
  r.has_all_time = in.vec<uint8_t>("repos.has_all_time");
  r.parameters = in.vec<uint64_t>("repos.parameters");
  r.pipeline_tag = in.vec<uint32_t>("repos.pipeline_tag");
  r.library = in.vec<uint32_t>("repos.library");
  r.tag_offsets = in.vec<uint32_t>("repos.tag_offsets");
  r.tag_ids = in.vec<uint32_t>("repos.tag_ids");
  r.placeholder = in.vec<uint8_t>("repos.placeholder");
  r.in_downloads_only = in.vec<uint8_t>("repos.in_downloads_only");
  const uint64_t n_edges = in.pod<uint64_t>("repos.edges");
  if (n_edges > in.remaining() / 11) bad("repos.edges", "truncated");
  r.edges.resize(n_edges);
  for (BaseEdge& e : r.edges) {
    e.child = in.pod<uint32_t>("repos.edges");
    e.parent = in.pod<uint32_t>("repos.edges");
    e.relation = static_cast<Relation>(in.pod<uint8_t>("repos.edges"));
    e.order = in.pod<uint16_t>("repos.edges");
  }
  check_size(r.author, n, "repos.author");
  check_size(r.kind, n, "repos.kind");
  check_size(r.created_day, n, "repos.created_day");
  check_size(r.likes, n, "repos.likes");
  check_size(r.downloads_30d, n, "repos.downloads_30d");
  check_size(r.downloads_all_time, n, "repos.downloads_all_time");
  check_size(r.has_all_time, n, "repos.has_all_time");
  check_size(r.parameters, n, "repos.parameters");
  check_size(r.pipeline_tag, n, "repos.pipeline_tag");
  check_size(r.library, n, "repos.library");
  check_size(r.tag_offsets, uint64_t(n) + 1, "repos.tag_offsets");
  check_size(r.placeholder, n, "repos.placeholder");
  check_size(r.in_downloads_only, n, "repos.in_downloads_only");
  check_ids(r.author, r.authors.size(), "repos.author");
  check_ids(r.pipeline_tag, r.pipeline_tags.size(), "repos.pipeline_tag");
  check_ids(r.library, r.libraries.size(), "repos.library");
  for (RepoKind k : r.kind)
    if (static_cast<uint8_t>(k) > static_cast<uint8_t>(RepoKind::unknown)) bad("repos.kind", "an unknown repository kind");
  check_flags(r.has_all_time, "repos.has_all_time");
  check_flags(r.placeholder, "repos.placeholder");
  check_flags(r.in_downloads_only, "repos.in_downloads_only");
  if (r.tag_offsets.front() != 0 || r.tag_offsets.back() != r.tag_ids.size())
    bad("repos.tag_offsets", "offsets do not span the tag list");
  for (uint32_t u = 0; u < n; ++u)
    if (r.tag_offsets[u] > r.tag_offsets[u + 1]) bad("repos.tag_offsets", "offsets decrease");
  for (uint32_t t : r.tag_ids)
    if (t >= r.tags.size()) bad("repos.tag_ids", "a tag id outside the tag dictionary");
  for (const BaseEdge& e : r.edges)
    if (e.child >= n || e.parent >= n || static_cast<int>(e.relation) >= kRelationCount)
      bad("repos.edges", "an edge naming a unit outside the table or an unknown relation");
}

void write_attribution(Writer& w, const AttributionTable& a) {
  w.dict(a.handles);
  w.dict(a.organisations);
  w.dict(a.countries);
  w.dict(a.regions);
  w.dict(a.org_types);
  w.vec(a.organisation);
  w.vec(a.country);
  w.vec(a.region);
  w.vec(a.org_type);
}

void read_attribution(Reader& in, AttributionTable& a) {
  in.dict(a.handles, "attribution.handles");
  in.dict(a.organisations, "attribution.organisations");
  in.dict(a.countries, "attribution.countries");
  in.dict(a.regions, "attribution.regions");
  in.dict(a.org_types, "attribution.org_types");
  a.organisation = in.vec<uint32_t>("attribution.organisation");
  a.country = in.vec<uint32_t>("attribution.country");
  a.region = in.vec<uint32_t>("attribution.region");
  a.org_type = in.vec<uint32_t>("attribution.org_type");
  const uint32_t n = a.handles.size();
  check_size(a.organisation, n, "attribution.organisation");
  check_size(a.country, n, "attribution.country");
  check_size(a.region, n, "attribution.region");
  check_size(a.org_type, n, "attribution.org_type");
  check_ids(a.organisation, a.organisations.size(), "attribution.organisation");
  check_ids(a.country, a.countries.size(), "attribution.country");
  check_ids(a.region, a.regions.size(), "attribution.region");
  check_ids(a.org_type, a.org_types.size(), "attribution.org_type");
}

void write_input(Writer& w, const InputSummary& s) {
  w.pod<uint64_t>(s.files.size());
  for (const auto& f : s.files) {
    w.str(f.role);
    w.str(f.file);
    for (uint64_t v : {f.read, f.accepted, f.rejected, f.bytes}) w.pod(v);
  }
  for (uint64_t v : {s.repositories, s.download_records, s.duplicate_download_rows, s.rejected}) w.pod(v);
  w.pod<uint64_t>(s.rejected_by_reason.size());
  for (const auto& [reason, n] : s.rejected_by_reason) {
    w.str(reason);
    w.pod(n);
  }
  w.pod<uint64_t>(s.first_rejects.size());
  for (const auto& r : s.first_rejects) {
    w.str(r.file);
    w.pod(r.line);
    w.str(r.field);
    w.str(r.reason);
  }
}

void read_input(Reader& in, InputSummary& s) {
  const uint64_t files = in.pod<uint64_t>("input.files");
  for (uint64_t i = 0; i < files; ++i) {
    FileSummary f;
    f.role = in.str("input.files");
    f.file = in.str("input.files");
    f.read = in.pod<uint64_t>("input.files");
    f.accepted = in.pod<uint64_t>("input.files");
    f.rejected = in.pod<uint64_t>("input.files");
    f.bytes = in.pod<uint64_t>("input.files");
    s.files.push_back(std::move(f));
  }
  s.repositories = in.pod<uint64_t>("input.repositories");
  s.download_records = in.pod<uint64_t>("input.download_records");
  s.duplicate_download_rows = in.pod<uint64_t>("input.duplicate_download_rows");
  s.rejected = in.pod<uint64_t>("input.rejected");
  const uint64_t reasons = in.pod<uint64_t>("input.rejected_by_reason");
  for (uint64_t i = 0; i < reasons; ++i) {
    std::string reason = in.str("input.rejected_by_reason");
    s.rejected_by_reason[reason] = in.pod<uint64_t>("input.rejected_by_reason");
  }
  const uint64_t first = in.pod<uint64_t>("input.first_rejects");
  for (uint64_t i = 0; i < first; ++i) {
    InputSummary::Rejected r;
    r.file = in.str("input.first_rejects");
    r.line = in.pod<uint64_t>("input.first_rejects");
    r.field = in.str("input.first_rejects");
    r.reason = in.str("input.first_rejects");
    s.first_rejects.push_back(std::move(r));
  }
}

void read_day_marks(Reader& in, Partial& p) {
  const uint64_t scopes = in.pod<uint64_t>("day_marks");
  if (scopes > in.remaining() / 40) bad("day_marks", "truncated");
  for (uint64_t k = 0; k < scopes; ++k) {
    Partial::DayMarks m;
    m.scope = in.str("day_marks.scope");
    m.unit = in.vec<uint32_t>("day_marks.unit");
    m.first_word = in.vec<int32_t>("day_marks.first_word");
    m.offsets = in.vec<uint64_t>("day_marks.offsets");
    m.words = in.vec<uint64_t>("day_marks.words");
    if (!p.day_marks.empty() && !(p.day_marks.back().scope < m.scope)) bad("day_marks.scope", "scopes not ascending");
    if (m.first_word.size() != m.unit.size() || m.offsets.size() != m.unit.size() + 1 || m.offsets.front() != 0 ||
        m.offsets.back() != m.words.size())
      bad("day_marks", "entry counts do not match");
    for (size_t e = 0; e < m.unit.size(); ++e)
      if (m.unit[e] >= p.repos.size() || m.offsets[e] > m.offsets[e + 1] || m.first_word[e] < 0)
        bad("day_marks", "a unit or a word outside the partial");
    p.day_marks.push_back(std::move(m));
  }
}

}  // namespace

std::string Partial::serialize() const {
  Writer w;
  w.raw(kMagic, sizeof kMagic);
  w.pod(kFormatVersion);
  write_repos(w, repos);
  write_attribution(w, attribution);
  w.dict(params.ids);
  w.vec(params.total);
  w.vec(params.active);
  write_input(w, input);
  w.pod<uint8_t>(have_downloads);
  w.vec(unit_total);
  w.pod(month_first);
  w.pod(n_months);
  w.pod(events);
  w.pod<uint64_t>(unit_month.size());
  for (const UnitMonth& c : unit_month) {
    w.pod(c.unit);
    w.pod(c.month);
    w.pod(c.downloads);
  }
  w.pod<uint64_t>(day_marks.size());
  for (const DayMarks& m : day_marks) {
    w.str(m.scope);
    w.vec(m.unit);
    w.vec(m.first_word);
    w.vec(m.offsets);
    w.vec(m.words);
  }
  return w.take();
}

Partial Partial::deserialize(std::string_view bytes) {
  Reader in(bytes);
  if (in.bytes(sizeof kMagic, "magic") != std::string_view(kMagic, sizeof kMagic))
    bad("magic", "not an ecostat partial (the first bytes are not ECOSTATP)");
  const auto version = in.pod<uint32_t>("version");
  if (version != kFormatVersion && version != 1)
    bad("version", "partial format " + std::to_string(version) + " (this ecostat reads format " +
                       std::to_string(kFormatVersion) + ")");
  Partial p;
  read_repos(in, p.repos);
  read_attribution(in, p.attribution);
  in.dict(p.params.ids, "params.ids");
  p.params.total = in.vec<uint64_t>("params.total");
  p.params.active = in.vec<uint64_t>("params.active");
  check_size(p.params.total, p.params.ids.size(), "params.total");
  check_size(p.params.active, p.params.ids.size(), "params.active");
  read_input(in, p.input);
  const auto have = in.pod<uint8_t>("have_downloads");
  if (have > 1) bad("have_downloads", "a flag other than 0 or 1");
  p.have_downloads = have;
  p.unit_total = in.vec<uint64_t>("unit_total");
  check_size(p.unit_total, p.repos.size(), "unit_total");
  p.month_first = in.pod<Month>("month_first");
  p.n_months = in.pod<uint32_t>("n_months");
  if (p.n_months > 0xffffu - p.month_first) bad("n_months", "the month range passes the last month");
  p.events = in.pod<uint64_t>("events");
  const uint64_t cells = in.pod<uint64_t>("unit_month");
  if (cells > in.remaining() / 14) bad("unit_month", "truncated");
  p.unit_month.resize(cells);
  for (UnitMonth& c : p.unit_month) {
    c.unit = in.pod<uint32_t>("unit_month");
    c.month = in.pod<Month>("unit_month");
    c.downloads = in.pod<uint64_t>("unit_month");
  }
  for (size_t i = 0; i < p.unit_month.size(); ++i) {
    const UnitMonth& c = p.unit_month[i];
    if (c.unit >= p.repos.size() || c.month < p.month_first || uint32_t(c.month - p.month_first) >= p.n_months)
      bad("unit_month", "a cell outside the units or the month range");
    if (i > 0) {
      const UnitMonth& b = p.unit_month[i - 1];
      if (b.unit > c.unit || (b.unit == c.unit && b.month >= c.month)) bad("unit_month", "cells out of order");
    }
  }
  if (version >= 2) read_day_marks(in, p);
  in.expect_end();
  return p;
}

}  // namespace ecostat
