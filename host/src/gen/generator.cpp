// The Hub-shaped data generator: the model population (lineage, authors, attribution) and the
// download records. See docs/generator.md for the model and its parameters.
//
// Randomness is counter based: value i of stream s is mix64(key[s] ^ i * odd), so every record
// and every model attribute is a pure function of (seed, index). Per-model tables (O(models))
// are built once; records are generated on demand, in any order, by any number of threads.
#include "gen_internal.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <thread>

#include "ecostat/errors.hpp"

namespace ecostat::host {

using namespace gen;

namespace {

int32_t parse_day_or_throw(const std::string& s, const char* what) {
  int32_t d;
  if (!parse_date(s.data(), s.size(), &d)) throw UsageError(std::string(what) + ": not a YYYY-MM-DD date: '" + s + "'");
  return d;
}

const char* const kSyllables[] = {"ka", "ve", "lo", "ri", "ta", "no", "mi", "zu", "sa", "te", "ra", "ko",
                                  "na", "li", "do", "pe", "ga", "yo", "be", "shi", "qu", "fa", "xo", "ne",
                                  "ha", "vi", "mo", "ze", "lu", "ti", "ba", "ro"};
constexpr int kSyl = sizeof(kSyllables) / sizeof(kSyllables[0]);

std::string word_of(uint64_t h, int min_syl, int max_syl) {
  const int n = min_syl + int(h % uint64_t(max_syl - min_syl + 1));
  h /= uint64_t(max_syl - min_syl + 1);
  std::string w;
  for (int i = 0; i < n; ++i) {
    w += kSyllables[h % kSyl];
    h /= kSyl;
  }
  return w;
}

std::string base36(uint64_t v) {
  char buf[16];
  int n = 0;
  do {
    const int d = int(v % 36);
    buf[n++] = char(d < 10 ? '0' + d : 'a' + d - 10);
    v /= 36;
  } while (v);
  std::string s(buf, n);
  std::reverse(s.begin(), s.end());
  return s;
}

struct Weighted {
  const char* name;
  double w;
};
// Published-ish mixes (docs/generator.md); each sums to 1.
const Weighted kCountries[] = {{"US", .40}, {"CN", .18}, {"FR", .06}, {"DE", .05}, {"GB", .05}, {"KR", .03},
                               {"JP", .03}, {"CA", .03}, {"IN", .03}, {"IL", .02}, {"AE", .02}, {"SG", .02},
                               {"CH", .02}, {"NL", .02}, {"SE", .02}, {"AU", .02}};
const char* region_of_country(const std::string& c) {
  if (c == "US" || c == "CA") return "north_america";
  if (c == "CN") return "china";
  if (c == "FR" || c == "DE" || c == "CH" || c == "NL" || c == "SE") return "europe";
  if (c == "GB") return "uk";
  if (c == "IL" || c == "AE") return "middle_east";
  if (c == "AU") return "oceania";
  return "asia";
}
const Weighted kOrgTypes[] = {{"industry", .45},  {"academic", .15},   {"non-profit", .08},
                              {"government", .02}, {"individual", .25}, {"unaffiliated", .05}};
const Weighted kPipelines[] = {{"text-generation", .30},       {"text-classification", .10},
                               {"automatic-speech-recognition", .05}, {"feature-extraction", .06},
                               {"sentence-similarity", .05},   {"image-classification", .06},
                               {"text-to-image", .06},         {"token-classification", .05},
                               {"fill-mask", .04},             {"reinforcement-learning", .05},
                               {"image-text-to-text", .04},    {"translation", .03},
                               {"question-answering", .03},    {"", .08}};
const char* const kFamilyTags[] = {"llama", "qwen",     "mistral", "gemma", "qwen2", "llama", "phi",  "qwen3",
                                   "gemma2", "deepseek", "bert",    "gpt2",  "t5",    "falcon", "phi3", "gemma3"};
constexpr int kFamilyTagCount = sizeof(kFamilyTags) / sizeof(kFamilyTags[0]);

template <size_t N>
int pick(const Weighted (&table)[N], double u) {
  double acc = 0;
  for (size_t i = 0; i < N; ++i) {
    acc += table[i].w;
    if (u < acc) return int(i);
  }
  return int(N - 1);
}

// Parameter classes (safetensors.total): <1B, 1-9B, 10-99B, >=100B.
const double kSizeClassMix[] = {0.55, 0.35, 0.09, 0.01};

}  // namespace

void GenSpec::validate() const {
  if (models == 0) throw UsageError("gen: --models must be at least 1");
  if (models > 0xfffffff0u) throw UsageError("gen: --models must be below 2^32 - 16");
  if (!(derivative_fraction >= 0 && derivative_fraction < 1)) throw UsageError("gen: derivative fraction must be in [0, 1)");
  double s = 0;
  for (double w : relation_mix) {
    if (!(w >= 0)) throw UsageError("gen: relation mix weights must be >= 0");
    s += w;
  }
  if (!(s > 0)) throw UsageError("gen: relation mix must have a positive weight");
  if (!(nested >= 0 && nested < 1)) throw UsageError("gen: nested must be in [0, 1)");
  if (!(family_exponent > 0) || !(author_exponent > 0)) throw UsageError("gen: exponents must be positive");
  if (!(record_skew > 0 && record_skew <= 1)) throw UsageError("gen: record skew must be in (0, 1]");
  if (!(download_exponent >= 0)) throw UsageError("gen: download exponent must be >= 0");
  if (!(median_downloads > 0)) throw UsageError("gen: median downloads must be positive");
  const int32_t a = parse_day_or_throw(first_day, "gen: first day"), b = parse_day_or_throw(last_day, "gen: last day");
  const int32_t h = parse_day_or_throw(hub_start, "gen: hub start");
  if (b < a) throw UsageError("gen: last day before first day");
  if (h > b) throw UsageError("gen: hub start after last day");
}

// ------------------------------------------------------------------------------------------
Generator::Generator(GenSpec spec) : spec_(std::move(spec)) {
  spec_.validate();
  threads_ = spec_.threads ? spec_.threads : std::max(1u, std::thread::hardware_concurrency());
  impl_ = new Impl();
  Impl& I = *impl_;
  const uint32_t M = spec_.models;
  for (int s = 0; s < kStreams; ++s) I.key[s] = mix64(spec_.seed * 0x9E3779B97F4A7C15ull + uint64_t(s) * 0xA24BAED4963EE407ull);
  I.first_day = parse_day_or_throw(spec_.first_day, "first day");
  I.last_day = parse_day_or_throw(spec_.last_day, "last day");
  I.hub_start = parse_day_or_throw(spec_.hub_start, "hub start");
  I.inv_skew = 1.0 / spec_.record_skew;
  I.inv_skew_int = 0;
  for (int n = 1; n <= 8; ++n)
    if (std::fabs(I.inv_skew - n) < 1e-12) I.inv_skew_int = n;

  // Days: labels and months for the record window.
  const int32_t nd = I.last_day - I.first_day + 1;
  I.day_month.resize(nd);
  I.day_label.resize(size_t(nd) * 10);
  for (int32_t d = 0; d < nd; ++d) {
    I.day_month[d] = month_of_day(I.first_day + d);
    const std::string l = day_string(I.first_day + d);
    std::memcpy(&I.day_label[size_t(d) * 10], l.data(), 10);
  }

  // --- lineage levels ---------------------------------------------------------------------
  uint64_t D = uint64_t(std::llround(spec_.derivative_fraction * M));
  if (D >= M) D = M - 1;
  double W = 0, w[kLevels] = {0};
  for (int L = 1; L < kLevels; ++L) W += (w[L] = std::pow(spec_.nested, L - 1));
  uint64_t rest = 0;
  I.level_size[0] = uint32_t(M - D);
  for (int L = 2; L < kLevels; ++L) {
    I.level_size[L] = uint32_t(std::llround(double(D) * w[L] / W));
    rest += I.level_size[L];
  }
  if (rest > D) rest = D;
  I.level_size[1] = uint32_t(D - rest);
  for (int L = 2; L < kLevels; ++L)
    if (I.level_size[L - 1] == 0 && I.level_size[L] != 0) {
      I.level_size[1] += I.level_size[L];
      I.level_size[L] = 0;
    }
  I.level_start[0] = 0;
  for (int L = 1; L <= kLevels; ++L) I.level_start[L] = I.level_start[L - 1] + (L - 1 < kLevels ? I.level_size[L - 1] : 0);
  for (int L = 0; L < kLevels; ++L) I.level_perm[L] = make_perm(I.level_size[L], I.rnd(kStreamPerm, 100 + L));

  // --- authors ----------------------------------------------------------------------------
  n_authors_ = spec_.authors ? spec_.authors : std::max<uint32_t>(1, M / 6);
  I.author_perm = make_perm(n_authors_, I.rnd(kStreamPerm, 1));
  I.download_perm = make_perm(M, I.rnd(kStreamPerm, 2));

  // --- per-unit tables, level by level (a level depends only on the one above) ----------
  I.parent0.assign(M, kNone);
  I.parent1.assign(M, kNone);
  I.relation.assign(M, uint8_t(Relation::unknown));
  I.root.resize(M);
  I.created.resize(M);
  I.author.resize(M);
  I.family_tag.assign(M, 0xff);
  I.size_class.resize(M);
  I.pipeline.resize(M);
  I.library.resize(M);
  double cum_mix[4], mix_total = 0;
  for (int r = 0; r < 4; ++r) mix_total += spec_.relation_mix[r];
  {
    double acc = 0;
    for (int r = 0; r < 4; ++r) cum_mix[r] = (acc += spec_.relation_mix[r] / mix_total);
  }
  const double grow = std::log(2.0) / 365.0;  // creations double every year
  const double hub_span = double(I.last_day - I.hub_start + 1);
  const double grow_total = std::expm1(grow * hub_span);
  auto draw_created = [&](uint32_t u) {
    const double x = std::log1p(uniform(I.rnd(kStreamCreated, u)) * grow_total) / grow;
    return std::min<int32_t>(I.last_day, I.hub_start + int32_t(x));
  };
  for (int L = 0; L < kLevels; ++L) {
    const uint32_t b = I.level_start[L], e = b + I.level_size[L];
    parallel_for(e - b, threads_, [&](uint64_t lo, uint64_t hi) {
      for (uint64_t k = lo; k < hi; ++k) {
        const uint32_t u = uint32_t(b + k);
        I.author[u] = I.author_perm.apply(zipf(n_authors_, spec_.author_exponent, uniform(I.rnd(kStreamAuthor, u))));
        const uint64_t ha = I.rnd(kStreamAttr, u);
        if (L == 0) {
          I.root[u] = u;
          I.created[u] = draw_created(u);
          double us = uniform(ha);
          int c = 0;
          while (c < 3 && us >= kSizeClassMix[c]) us -= kSizeClassMix[c++];
          I.size_class[u] = uint8_t(c);
          I.pipeline[u] = uint8_t(pick(kPipelines, uniform(mix64(ha ^ 1))));
          const double ul = uniform(mix64(ha ^ 2));
          I.library[u] = uint8_t(ul < .70 ? 0 : ul < .80 ? 3 : ul < .88 ? 4 : ul < .92 ? 5 : ul < .94 ? 6 : 0xff);
          continue;
        }
        const Level& up = I.level_perm[L - 1];
        const uint32_t ub = I.level_start[L - 1], un = I.level_size[L - 1];
        const double ur = uniform(I.rnd(kStreamRelation, u));
        int rel = 0;
        while (rel < 3 && ur >= cum_mix[rel]) ++rel;
        const uint32_t p0 = ub + up.apply(zipf(un, spec_.family_exponent, uniform(I.rnd(kStreamParent, u))));
        I.parent0[u] = p0;
        I.relation[u] = uint8_t(rel);
        int32_t created = std::max(I.created[p0], draw_created(u));
        if (Relation(rel) == Relation::merge && un >= 2) {
          uint32_t p1 = ub + up.apply(zipf(un, spec_.family_exponent, uniform(I.rnd(kStreamParent2, u))));
          if (p1 == p0) p1 = ub + (p0 - ub + 1) % un;
          I.parent1[u] = p1;
          created = std::max(created, I.created[p1]);
        }
        I.created[u] = created;
        I.root[u] = I.root[p0];
        I.size_class[u] = I.size_class[p0];
        I.pipeline[u] = uniform(mix64(ha ^ 1)) < 0.9 ? I.pipeline[p0] : uint8_t(pick(kPipelines, uniform(mix64(ha ^ 3))));
        const double ul = uniform(mix64(ha ^ 2));
        switch (Relation(rel)) {
          case Relation::adapter: I.library[u] = 1; break;                  // peft
          case Relation::quantized: I.library[u] = ul < 0.6 ? 2 : 0; break;  // gguf / transformers
          default: I.library[u] = ul < 0.85 ? 0 : 3; break;
        }
      }
    });
  }
  // Family tags and official owners: the most popular bases (parent rank among roots) carry a
  // family tag, which their derivatives inherit, and belong to the most prolific authors (the
  // attributed organisations), so that derivatives per organisation is meaningful.
  const uint32_t R = I.level_size[0];
  for (uint32_t r = 0; r < std::min<uint32_t>(R, 256); ++r) {
    const uint32_t u = I.level_perm[0].apply(r);
    I.author[u] = I.author_perm.apply(r % std::min<uint32_t>(n_authors_, 64));
    if (r < uint32_t(kFamilyTagCount)) I.family_tag[u] = uint8_t(r);
  }
  for (uint32_t u = R; u < M; ++u) I.family_tag[u] = I.family_tag[I.root[u]];

  // --- downloads: popularity rank -> unit, expected totals, per-record mean counts ---------
  const double N = double(std::max<uint64_t>(spec_.records, 1));
  const double alpha = spec_.download_exponent, gamma = spec_.record_skew;
  I.total_scale = spec_.median_downloads * std::pow(double(M / 2) + 1.0, alpha);
  I.rank.resize(M);
  I.unit_rank.resize(M);
  parallel_for(M, threads_, [&](uint64_t lo, uint64_t hi) {
    for (uint64_t k = lo; k < hi; ++k) {
      RankInfo& ri = I.rank[k];
      const uint32_t u = I.download_perm.apply(uint32_t(k));
      ri.unit = u;
      I.unit_rank[u] = uint32_t(k);
      const int32_t lo_day = std::max(I.created[u], I.first_day);
      ri.lo = lo_day - I.first_day;
      ri.span = uint32_t(I.last_day - lo_day + 1);
      const double p = std::pow((double(k) + 1) / M, gamma) - std::pow(double(k) / M, gamma);
      const double T = I.total_scale * std::pow(double(k) + 1, -alpha);
      ri.mu = float(T / (N * p));
    }
  });

  // --- names ------------------------------------------------------------------------------
  I.handles.resize(n_authors_);
  parallel_for(n_authors_, threads_, [&](uint64_t lo, uint64_t hi) {
    for (uint64_t a = lo; a < hi; ++a) I.handles[a] = word_of(I.rnd(kStreamName, 1ull << 40 | a), 2, 3) + base36(a);
  });
  std::vector<std::string> names(M);
  parallel_for(M, threads_, [&](uint64_t lo, uint64_t hi) {
    for (uint64_t k = lo; k < hi; ++k) {
      const uint32_t u = uint32_t(k);
      const uint32_t r = I.root[u];
      const uint64_t hr = I.rnd(kStreamName, r);
      std::string s = I.handles[I.author[u]];
      s += '/';
      s += I.family_tag[u] != 0xff ? std::string(kFamilyTags[I.family_tag[u]]) + word_of(hr, 1, 1) : word_of(hr, 2, 3);
      // size label from the class
      static const char* const kSizeLabel[] = {"350m", "7b", "32b", "235b"};
      s += '-';
      s += kSizeLabel[I.size_class[u]];
      if (u != r) {
        static const char* const kSuffix[4][4] = {{"instruct", "chat", "sft", "dpo"},
                                                  {"lora", "qlora", "adapter", "lora"},
                                                  {"GGUF", "AWQ", "GPTQ", "4bit"},
                                                  {"merge", "slerp", "ties", "dare"}};
        s += '-';
        s += kSuffix[I.relation[u] & 3][I.rnd(kStreamName, u) & 3];
      }
      s += '-';
      s += base36(u);
      names[u] = std::move(s);
    }
  });
  I.name_off.resize(size_t(M) + 1);
  I.name_off[0] = 0;
  size_t max_len = 0;
  for (uint32_t u = 0; u < M; ++u) {
    I.name_off[u + 1] = I.name_off[u] + names[u].size();
    max_len = std::max(max_len, names[u].size());
  }
  I.max_name = max_len;
  I.names.resize(I.name_off[M]);
  parallel_for(M, threads_, [&](uint64_t lo, uint64_t hi) {
    for (uint64_t u = lo; u < hi; ++u) std::memcpy(&I.names[I.name_off[u]], names[u].data(), names[u].size());
  });
  names.clear();
  names.shrink_to_fit();

  // --- attribution: the most prolific authors (author rank < attributed) ------------------
  const uint32_t K = std::min(n_authors_, spec_.attributed ? spec_.attributed : std::min<uint32_t>(n_authors_, 5000));
  I.attributed_of_author.assign(n_authors_, kNone);
  Intern orgs, countries, regions, types;
  for (uint32_t rank = 0; rank < K; ++rank) {
    const uint32_t a = I.author_perm.apply(rank);
    const uint64_t h = I.rnd(kStreamOrg, rank);
    AttrRow row;
    row.author = a;
    uint32_t owner = rank;
    if (rank > 0 && uniform(h) < 0.15) owner = uint32_t(mix64(h) % rank);  // a handle of an earlier organisation
    if (owner != rank) {
      const AttrRow& o = I.attr_rows[owner];
      row.org = o.org, row.country = o.country, row.region = o.region, row.type = o.type;
    } else {
      const std::string& handle = I.handles[a];
      std::string org = handle;
      org[0] = char(std::toupper(static_cast<unsigned char>(org[0])));
      row.org = orgs.id(org);
      const std::string c = kCountries[pick(kCountries, uniform(mix64(h ^ 7)))].name;
      row.country = countries.id(c);
      row.region = regions.id(region_of_country(c));
      row.type = types.id(kOrgTypes[pick(kOrgTypes, uniform(mix64(h ^ 9)))].name);
    }
    I.attributed_of_author[a] = uint32_t(I.attr_rows.size());
    I.attr_rows.push_back(row);
  }
  I.org_names = std::move(orgs.names);
  I.country_names = std::move(countries.names);
  I.region_names = std::move(regions.names);
  I.type_names = std::move(types.names);
  // Author ids in order of first appearance among units (as the engine's dictionary assigns them).
  I.author_dense.assign(n_authors_, kNone);
  for (uint32_t u = 0; u < M; ++u)
    if (I.author_dense[I.author[u]] == kNone) {
      I.author_dense[I.author[u]] = uint32_t(I.author_order.size());
      I.author_order.push_back(I.author[u]);
    }
}

Generator::~Generator() { delete impl_; }

// ------------------------------------------------------------------------------------------
Generator::Record Generator::record(uint64_t i) const { return impl_->record(i, spec_.models); }

void Generator::events(uint64_t begin, uint64_t end, EventBatch& batch) const {
  batch.clear();
  const size_t n = size_t(end - begin);
  batch.unit.resize(n);
  batch.month.resize(n);
  batch.count.resize(n);
  uint32_t ub = 0;
  Month mlo = 0xffff, mhi = 0;
  const Impl& I = *impl_;
  const uint32_t M = spec_.models;
  for (size_t j = 0; j < n; ++j) {
    const Record r = I.record(begin + j, M);
    const Month m = I.day_month[r.day - I.first_day];
    batch.unit[j] = r.unit;
    batch.month[j] = m;
    batch.count[j] = r.count;
    ub = std::max(ub, r.unit + 1);
    mlo = std::min(mlo, m);
    mhi = std::max(mhi, m);
  }
  batch.unit_bound = ub;
  batch.month_min = mlo;
  batch.month_max = mhi;
}

void Generator::for_each_batch(size_t capacity, const std::function<void(const EventBatch&)>& sink) const {
  if (capacity == 0) capacity = 1;
  const uint64_t N = spec_.records;
  const uint64_t n_chunks = (N + capacity - 1) / capacity;
  std::vector<EventBatch> slots(2 * size_t(threads_));
  ordered_parallel(
      n_chunks, threads_,
      [&](uint64_t c, size_t slot) { events(c * capacity, std::min<uint64_t>(N, (c + 1) * capacity), slots[slot]); },
      [&](uint64_t, size_t slot) { sink(slots[slot]); }, slots.size());
}

// ------------------------------------------------------------------------------------------
std::string Generator::repo_id(uint32_t u) const {
  const Impl& I = *impl_;
  return std::string(&I.names[I.name_off[u]], I.name_off[u + 1] - I.name_off[u]);
}
std::string Generator::author_handle(uint32_t a) const { return impl_->handles.at(a); }
uint32_t Generator::author_of(uint32_t u) const { return impl_->author.at(u); }
uint32_t Generator::root_of(uint32_t u) const { return impl_->root.at(u); }
Relation Generator::relation_of(uint32_t u) const { return Relation(impl_->relation.at(u)); }
int32_t Generator::created_day(uint32_t u) const { return impl_->created.at(u); }
std::vector<uint32_t> Generator::parents_of(uint32_t u) const {
  std::vector<uint32_t> p;
  if (impl_->parent0.at(u) != kNone) p.push_back(impl_->parent0[u]);
  if (impl_->parent1[u] != kNone) p.push_back(impl_->parent1[u]);
  return p;
}

std::vector<BaseEdge> Generator::edges() const {
  const Impl& I = *impl_;
  std::vector<BaseEdge> e;
  for (uint32_t u = I.level_start[1]; u < spec_.models; ++u) {
    if (I.parent0[u] == kNone) continue;
    e.push_back({u, I.parent0[u], Relation(I.relation[u]), 0});
    if (I.parent1[u] != kNone) e.push_back({u, I.parent1[u], Relation(I.relation[u]), 1});
  }
  return e;
}

GroupMap Generator::group_map(const std::string& group) const {
  const Impl& I = *impl_;
  const uint32_t M = spec_.models;
  GroupMap m;
  m.name = group;
  if (group == "model") {
    m.n_groups = M;
    return m;
  }
  m.group_of_unit.resize(M);
  if (group == "family") {
    m.n_groups = M;
    m.group_of_unit = I.root;
    return m;
  }
  if (group == "author") {
    m.n_groups = uint32_t(I.author_order.size()) + 1;  // + unknown, as the engine's dictionary map
    for (uint32_t u = 0; u < M; ++u) m.group_of_unit[u] = I.author_dense[I.author[u]];
    return m;
  }
  uint32_t AttrRow::*field = nullptr;
  size_t n_names = 0;
  if (group == "organisation") field = &AttrRow::org, n_names = I.org_names.size();
  else if (group == "country") field = &AttrRow::country, n_names = I.country_names.size();
  else if (group == "region") field = &AttrRow::region, n_names = I.region_names.size();
  else if (group == "org_type") field = &AttrRow::type, n_names = I.type_names.size();
  else throw UsageError("gen: no group map '" + group + "' (model, author, organisation, country, region, org_type, family)");
  const uint32_t unknown = uint32_t(n_names);
  m.n_groups = unknown + 1;
  for (uint32_t u = 0; u < M; ++u) {
    const uint32_t row = I.attributed_of_author[I.author[u]];
    m.group_of_unit[u] = row == kNone ? unknown : I.attr_rows[row].*field;
  }
  return m;
}

std::vector<std::string> Generator::group_keys(const std::string& group) const {
  const Impl& I = *impl_;
  std::vector<std::string> k;
  if (group == "model" || group == "family") {
    k.reserve(spec_.models);
    for (uint32_t u = 0; u < spec_.models; ++u) k.push_back(repo_id(u));
    return k;
  }
  if (group == "author") {
    for (uint32_t a : I.author_order) k.push_back(I.handles[a]);
  } else if (group == "organisation") k = I.org_names;
  else if (group == "country") k = I.country_names;
  else if (group == "region") k = I.region_names;
  else if (group == "org_type") k = I.type_names;
  else throw UsageError("gen: no group '" + group + "'");
  k.push_back("unknown");
  return k;
}

GenExpected Generator::expected() const {
  const Impl& I = *impl_;
  GenExpected e;
  const uint32_t M = spec_.models;
  e.derivative_fraction = double(M - I.level_size[0]) / M;
  double s = 0;
  for (double w : spec_.relation_mix) s += w;
  for (int r = 0; r < 4; ++r) e.relation_mix[r] = spec_.relation_mix[r] / s;
  const double alpha = spec_.download_exponent;
  double total = 0, top001 = 0, top1 = 0;
  const uint64_t k001 = uint64_t(std::ceil(1e-4 * M)), k1 = uint64_t(std::ceil(1e-2 * M));
  for (uint64_t k = 0; k < M; ++k) {
    const double t = std::pow(double(k) + 1, -alpha);
    total += t;
    if (k < k001) top001 += t;
    if (k < k1) top1 += t;
  }
  e.top_share_0_01pct = top001 / total;
  e.top_share_1pct = top1 / total;
  e.median_total = spec_.median_downloads;
  // P(level-1 parent rank 0) under the continuous Zipf sampler, times all derivatives (nested
  // ones land in families in proportion to the level-1 counts).
  const double R = I.level_size[0], sx = spec_.family_exponent;
  const double p0 = std::fabs(sx - 1) < 1e-9 ? std::log(2.0) / std::log(R + 1)
                                              : (1 - std::pow(2.0, 1 - sx)) / (1 - std::pow(R + 1, 1 - sx));
  e.largest_family = p0 * double(M - I.level_size[0]);
  e.mean_records_per_model = double(spec_.records) / M;
  return e;
}

uint64_t parse_scaled_count(const std::string& s) {
  if (s.empty()) throw UsageError("empty count");
  double mult = 1;
  std::string body = s;
  switch (s.back()) {
    case 'k': case 'K': mult = 1e3; body.pop_back(); break;
    case 'M': case 'm': mult = 1e6; body.pop_back(); break;
    case 'G': case 'g': case 'B': case 'b': mult = 1e9; body.pop_back(); break;
    case 'T': case 't': mult = 1e12; body.pop_back(); break;
    default: break;
  }
  if (body.empty()) throw UsageError("not a count: '" + s + "'");
  // Plain integers exactly; otherwise a decimal/scientific number that must come out whole.
  if (mult == 1 && body.find_first_not_of("0123456789") == std::string::npos) {
    if (body.size() > 20) throw UsageError("count too large: '" + s + "'");
    errno = 0;
    char* endp = nullptr;
    const unsigned long long v = std::strtoull(body.c_str(), &endp, 10);
    if (errno || *endp) throw UsageError("count too large: '" + s + "'");
    return v;
  }
  char* endp = nullptr;
  const double v = std::strtod(body.c_str(), &endp);
  if (!endp || *endp || !(v >= 0)) throw UsageError("not a count: '" + s + "'");
  const long double x = (long double)v * mult;
  if (x > 1.8e19L) throw UsageError("count too large: '" + s + "'");
  const long double r = std::nearbyint(x);
  if (std::fabs(double(x - r)) > 1e-6 * std::max(1.0L, x)) throw UsageError("not a whole count: '" + s + "'");
  return uint64_t(r);
}

}  // namespace ecostat::host
