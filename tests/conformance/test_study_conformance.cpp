// Conformance: the ecosystem study (size, adoption, lifetime, growth, attribution over time)
// through run_job on the backend under test (ECOSTAT_TEST_BACKEND), against an oracle computed
// here, independently, from the generated data in memory: plain loops, std::map, its own
// calendar arithmetic; it shares no code with core/src/study. Counts and sums exactly equal,
// ratios to 1e-12 relative.
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

#include "conformance/backend_under_test.hpp"
#include "ecostat/engine.hpp"
#include "ecostat/job.hpp"

using namespace ecostat;
using namespace ecostat::conformance;

namespace {

// ---- calendar of the oracle (Hinnant's algorithms, written out here) ---------------------------
long days_of(int y, int m, int d) {
  y -= m <= 2;
  const long era = (y >= 0 ? y : y - 399) / 400;
  const long yoe = y - era * 400;
  const long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}
int month_index(int y, int m) { return y * 12 + (m - 1); }  // the oracle's own month numbering
long month_end(int mi) {
  const int y = mi / 12, m = mi % 12 + 1;
  return (m == 12 ? days_of(y + 1, 1, 1) : days_of(y, m + 1, 1)) - 1;
}

struct Repo {
  std::string id, author, kind;
  int cy = 0, cm = 0, cd = 0;  // created; cy = 0: none
  uint64_t params = 0;
  std::vector<std::string> tags;
  std::vector<int> parents;  // indices, primary first
  std::string relation;
  long created() const { return cy ? days_of(cy, cm, cd) : LONG_MIN; }
  int created_month() const { return month_index(cy, cm); }
};
struct Org { std::string handle, organisation, country; };
struct Data {
  std::vector<Repo> repos;
  std::vector<Org> orgs;
  std::map<std::pair<int, int>, uint64_t> month;  // (repo, month index) -> downloads
  struct Rec { int repo; int y, m, d; uint64_t n; };
  std::vector<Rec> records;
};

Data generate(uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto U = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  Data D;
  const int n_authors = 25;
  const char* countries[] = {"US", "CN", "FR", "DE"};
  for (int a = 0; a < n_authors; ++a) {
    if (a >= 18) continue;  // 18..24: no attribution row
    Org o{"org" + std::to_string(a), a % 5 == 0 ? "" : "Org " + std::to_string(a / 2), a % 7 == 3 ? "" : countries[a % 4]};
    D.orgs.push_back(o);
  }
  const uint64_t sizes[] = {120000000ull, 500000000ull, 1500000000ull, 3000000000ull, 7000000000ull, 8000000000ull,
                            13000000000ull, 70000000000ull, 120000000000ull, 405000000000ull, 671000000000ull};
  const int n = 340;
  for (int i = 0; i < n; ++i) {
    Repo r;
    r.author = "org" + std::to_string(U(0, n_authors - 1));
    r.kind = U(0, 99) < 85 ? "model" : (U(0, 9) ? "dataset" : "space");
    r.id = r.author + "/" + r.kind + "-" + std::to_string(i);
    if (U(0, 99) >= 5) r.cy = U(2021, 2024), r.cm = U(1, 12), r.cd = U(1, 28);
    if (r.kind == "model" && U(0, 99) < 75) r.params = sizes[U(0, 10)];
    if (r.kind == "dataset" && U(0, 2) == 0) r.tags.push_back(U(0, 1) ? "task_categories:robotics" : "LeRobot");
    if (r.kind == "model" && U(0, 3) == 0) r.tags.push_back("text-generation");
    if (r.kind == "model" && i > 10 && U(0, 99) < 30) {
      r.parents.push_back(U(0, i - 1));
      r.relation = U(0, 1) ? "finetune" : "quantized";
      if (U(0, 9) == 0) {
        r.relation = "merge";
        const int q = U(0, i - 1);
        if (q != r.parents[0]) r.parents.push_back(q);
      }
      // a parent must be a model record already written (it is: indices are earlier)
    }
    D.repos.push_back(r);
  }
  // Download records: from the creation month (or 2021-01) to 2025-06, most months, sometimes
  // two records in a month; skewed counts; some zero.
  for (int i = 0; i < n; ++i) {
    const Repo& r = D.repos[i];
    if (r.kind == "space" || U(0, 9) == 0) continue;
    const int start = r.cy ? r.created_month() : month_index(2021, 1);
    const int scale = 1 + U(0, 3000) * U(0, 3000) / 1000;
    for (int mi = start; mi <= month_index(2025, 6); ++mi) {
      if (U(0, 99) < 20) continue;
      const int records = U(0, 9) == 0 ? 2 : 1;
      for (int k = 0; k < records; ++k) {
        const uint64_t c = uint64_t(U(0, scale)) * uint64_t(U(0, 9) == 0 ? 0 : 1);
        Data::Rec rec{i, mi / 12, mi % 12 + 1, U(1, 28), c};
        D.records.push_back(rec);
        D.month[{i, mi}] += c;
      }
    }
  }
  return D;
}

std::string write_inputs(const Data& D) {
  char tmpl[] = "/tmp/ecostat_study_confXXXXXX";
  const char* dir = mkdtemp(tmpl);
  REQUIRE(dir != nullptr);
  const std::string d = dir;
  {
    std::ofstream f(d + "/repos.jsonl");
    for (const Repo& r : D.repos) {
      f << "{\"id\": \"" << r.id << "\", \"author\": \"" << r.author << "\", \"repoType\": \"" << r.kind << "\"";
      if (r.cy) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT10:00:00Z", r.cy, r.cm, r.cd);
        f << ", \"createdAt\": \"" << buf << "\"";
      }
      if (r.params) f << ", \"safetensors\": {\"total\": " << r.params << "}";
      std::vector<std::string> tags = r.tags;
      for (int p : r.parents) tags.push_back("base_model:" + r.relation + ":" + D.repos[p].id);
      f << ", \"tags\": [";
      for (size_t i = 0; i < tags.size(); ++i) f << (i ? ", " : "") << "\"" << tags[i] << "\"";
      f << "]}\n";
    }
  }
  {
    std::ofstream f(d + "/downloads.csv");
    f << "repo,date,downloads\n";
    for (const auto& x : D.records) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", x.y, x.m, x.d);
      f << D.repos[x.repo].id << ',' << buf << ',' << x.n << '\n';
    }
  }
  {
    std::ofstream f(d + "/orgs.csv");
    f << "handle,organisation,country\n";
    for (const auto& o : D.orgs) f << o.handle << ',' << o.organisation << ',' << o.country << '\n';
  }
  return d;
}

// ---- the oracle ---------------------------------------------------------------------------------
long double median_of(std::vector<long double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string size_class(uint64_t p) {
  if (p < 1000000000ull) return "<1B";
  if (p < 10000000000ull) return "1-9B";
  if (p < 100000000000ull) return "10-99B";
  return ">=100B";
}

// The first attributed value along primary parents (the repo itself first), else "unknown".
std::string inherited_country(const Data& D, int i) {
  std::map<std::string, std::string> country;
  for (const auto& o : D.orgs) country[o.handle] = o.country;
  for (int v = i;;) {
    auto it = country.find(D.repos[v].author);
    if (it != country.end() && !it->second.empty()) return it->second;
    if (D.repos[v].parents.empty()) return "unknown";
    v = D.repos[v].parents[0];
  }
}

}  // namespace

TEST_CASE("study conformance: size, adoption, lifetime, growth, attribution against the oracle", "[conformance][study]") {
  const Data D = generate(20260819);
  const std::string dir = write_inputs(D);
  JobSpec j;
  j.repos_path = dir + "/repos.jsonl";
  j.downloads_path = dir + "/downloads.csv";
  j.orgs_path = dir + "/orgs.csv";
  j.backend = backend_name();
  if (const char* t = std::getenv("ECOSTAT_TEST_CPU_THREADS"); t && *t) j.threads = static_cast<unsigned>(std::strtoul(t, nullptr, 10));
  j.batch_capacity = 97;  // many batches
  j.share_limit = 0;
  j.inherit_attribution = true;
  j.study.adoption_ages = {30, 90, 365, 1400};  // at 1400 days few models are eligible
  j.study.adoption_top = 10;
  j.study.adoption_limit = 0;
  j.study.lifetime_min_months = 3;
  j.study.lifetime_limit = 0;
  j.study.growth_groups = {"author"};
  j.study.growth_limit = 0;
  j.study.year_groups = {"country"};
  const Results R = run_job(j);
  INFO("backend " << R.backend.name);
  const int n = static_cast<int>(D.repos.size());
  REQUIRE(R.input.units == uint64_t(n));
  REQUIRE(R.input.rejected == 0);

  int m_lo = INT32_MAX, m_hi = INT32_MIN;  // months with events (counts > 0)
  for (const auto& [k, v] : D.month)
    if (v > 0) m_lo = std::min(m_lo, k.second), m_hi = std::max(m_hi, k.second);
  auto d_of = [&](int i, int mi) {
    auto it = D.month.find({i, mi});
    return it == D.month.end() ? uint64_t(0) : it->second;
  };

  SECTION("model size per year") {
    const SizeStudy& S = R.study.size;
    std::vector<const SizeRow*> rows;
    for (const auto& r : S.by_year) rows.push_back(&r);
    size_t k = 0;
    for (int y = m_lo / 12; y <= m_hi / 12; ++y) {
      std::vector<std::pair<uint64_t, uint64_t>> vw;  // (p, d)
      uint64_t total = 0;
      std::map<std::string, uint64_t> buckets;
      for (int i = 0; i < n; ++i) {
        if (D.repos[i].kind != "model") continue;
        uint64_t d = 0;
        for (int mi = y * 12; mi < y * 12 + 12; ++mi) d += d_of(i, mi);
        if (!d) continue;
        total += d;
        buckets[D.repos[i].params ? size_class(D.repos[i].params) : "unknown"] += d;
        if (D.repos[i].params) vw.emplace_back(D.repos[i].params, d);
      }
      if (!total) continue;
      INFO("year " << y);
      REQUIRE(k < rows.size());
      const SizeRow& got = *rows[k++];
      CHECK(got.year == y);
      CHECK(got.downloads == total);
      uint64_t w = 0;
      long double num = 0;
      std::vector<long double> ps;
      for (const auto& [p, d] : vw) w += d, num += (long double)p * d, ps.push_back(p);
      CHECK(got.downloads_with_size == w);
      CHECK(got.models == vw.size());
      if (w) {
        CHECK(close(got.weighted_mean, num / w));
        std::sort(vw.begin(), vw.end());
        uint64_t c = 0, med = 0;
        for (const auto& [p, d] : vw)
          if ((c += d) * 2 >= w) {
            med = p;
            break;
          }
        CHECK(got.weighted_median == double(med));
        long double sum = 0;
        for (auto p : ps) sum += p;
        CHECK(close(got.mean, sum / ps.size()));
        CHECK(close(got.median, median_of(ps)));
      }
      for (const auto& b : got.buckets) CHECK(b.downloads == buckets[b.bucket]);
    }
    CHECK(k == rows.size());
  }

  SECTION("relative adoption") {
    const AdoptionStudy& A = R.study.adoption;
    REQUIRE(A.computed);
    const long end = month_end(m_hi);
    CHECK(A.data_end_day == end);
    std::map<std::pair<std::string, uint32_t>, std::pair<long double, long double>> v12;
    for (uint32_t age : j.study.adoption_ages)
      for (const char* cl : {"<1B", "1-9B", "10-99B", ">=100B"}) {
        std::vector<uint64_t> c;
        for (int i = 0; i < n; ++i) {
          const Repo& r = D.repos[i];
          if (r.kind != "model" || !r.params || !r.cy || size_class(r.params) != cl) continue;
          if (r.created() + age > end) continue;
          uint64_t s = 0;
          for (int mi = m_lo; mi <= m_hi; ++mi)
            if (month_end(mi) <= r.created() + age) s += d_of(i, mi);
          c.push_back(s);
        }
        std::sort(c.rbegin(), c.rend());
        INFO("class " << cl << " age " << age);
        const AdoptionClassAge* got = nullptr;
        for (const auto& x : A.classes)
          if (x.size_class == cl && x.age == age) got = &x;
        REQUIRE(got);
        CHECK(got->eligible == c.size());
        const size_t k = std::min<size_t>(10, c.size());
        long double v1 = NAN, v2 = NAN;
        if (k) {
          std::vector<long double> top(c.begin(), c.begin() + k);
          v1 = median_of(top);
          CHECK(got->v1 == double(v1));
        }
        if (c.size() >= 10) {
          v2 = c[9];
          CHECK(got->v2 == double(v2));
        } else {
          CHECK(std::isnan(got->v2));
        }
        if (k && v1 > 0) {
          std::vector<long double> r1;
          for (auto x : c) r1.push_back(x / v1);
          CHECK(close(got->ratio_v1_median, median_of(r1)));
        }
        v12[{cl, age}] = {v1, v2};
      }
    // the data reach both branches: classes with at least k eligible models, and with fewer
    size_t full = 0, partial = 0;
    for (const auto& x : A.classes) (x.eligible >= 10 ? full : partial) += 1;
    CHECK(full > 0);
    CHECK(partial > 0);
    for (const auto& x : A.ratios) {
      const long double a = v12[{"1-9B", x.age}].first, b = v12[{">=100B", x.age}].first;
      if (b > 0 && !std::isnan((double)a)) CHECK(close(x.ratio, a / b));
      else CHECK(std::isnan(x.ratio));
    }
  }

  SECTION("engagement lifetime") {
    const LifetimeStudy& L = R.study.lifetime;
    REQUIRE(L.computed);
    uint64_t candidates = 0, no_date = 0, left = 0, short_ = 0;
    std::vector<long double> above, span, decay, age;
    uint64_t censored = 0;
    std::map<int, uint64_t> per_year;
    for (int i = 0; i < n; ++i) {
      const Repo& r = D.repos[i];
      if (r.kind != "model") continue;
      ++candidates;
      if (!r.cy) {
        ++no_date;
        continue;
      }
      if (r.created_month() < m_lo) {
        ++left;
        continue;
      }
      std::vector<uint64_t> s;
      for (int mi = r.created_month(); mi <= m_hi; ++mi) s.push_back(d_of(i, mi));
      uint64_t peak = 0;
      size_t pi = 0, active = 0;
      for (size_t t = 0; t < s.size(); ++t) {
        active += s[t] > 0;
        if (s[t] > peak) peak = s[t], pi = t;
      }
      if (peak == 0 || active < 3) {
        ++short_;
        continue;
      }
      // at or above f * peak with f = 1/2, exactly: 2 v >= peak
      auto up = [&](size_t t) { return 2 * s[t] >= peak; };
      long double a = 0;
      for (size_t t = 0; t < s.size(); ++t) a += up(t);
      size_t lo = pi, hi = pi;
      while (lo > 0 && up(lo - 1)) --lo;
      while (hi + 1 < s.size() && up(hi + 1)) ++hi;
      above.push_back(a);
      span.push_back(hi - lo + 1);
      age.push_back(pi);
      size_t first_below = 0;
      for (size_t t = pi + 1; t < s.size() && !first_below; ++t)
        if (!up(t)) first_below = t;
      if (first_below) decay.push_back(first_below - pi);
      else ++censored;
      ++per_year[r.cy];
    }
    CHECK(censored > 0);
    CHECK(!decay.empty());
    CHECK(left + short_ > 0);
    CHECK(L.candidates == candidates);
    CHECK(L.no_release_date == no_date);
    CHECK(L.left_censored == left);
    CHECK(L.too_short == short_);
    CHECK(L.overall.models == above.size());
    CHECK(L.overall.censored == censored);
    auto mean = [](const std::vector<long double>& v) {
      long double s = 0;
      for (auto x : v) s += x;
      return s / v.size();
    };
    REQUIRE(!above.empty());
    CHECK(close(L.overall.months_above.mean, mean(above)));
    CHECK(close(L.overall.months_above.median, median_of(above)));
    CHECK(close(L.overall.span_months.mean, mean(span)));
    CHECK(close(L.overall.peak_age_months.mean, mean(age)));
    CHECK(L.overall.decay_months.n == decay.size());
    if (!decay.empty()) CHECK(close(L.overall.decay_months.mean, mean(decay)));
    REQUIRE(L.by_release_year.size() == per_year.size());
    for (const auto& a : L.by_release_year) CHECK(a.models == per_year[a.year]);
  }

  SECTION("growth per author and tag category") {
    const GrowthStudy& G = R.study.growth;
    REQUIRE(G.computed);
    int lo = INT32_MAX, hi = INT32_MIN;
    for (const Repo& r : D.repos)
      if (r.cy) lo = std::min(lo, r.created_month()), hi = std::max(hi, r.created_month());
    hi = std::max(hi, m_hi);
    CHECK(G.n_months == uint32_t(hi - lo + 1));
    CHECK(G.year_first == lo / 12);
    const int years = hi / 12 - lo / 12 + 1;
    std::map<std::pair<std::string, std::string>, std::vector<uint64_t>> by_author, by_cat, totals;
    for (const Repo& r : D.repos) {
      if (!r.cy) continue;
      auto bump = [&](auto& m, const std::string& key, const std::string& kind) {
        auto& v = m[{key, kind}];
        v.resize(years);
        ++v[r.cy - lo / 12];
      };
      bump(by_author, r.author, r.kind);
      bump(totals, "all", r.kind);
      bump(totals, "all", "all");
      std::set<std::string> cats;
      for (const auto& t : r.tags) {
        if (t == "task_categories:robotics" || t == "LeRobot") cats.insert("robotics");
        if (t == "text-generation") cats.insert("text-generation");
      }
      for (const auto& c : cats) bump(by_cat, c, r.kind);
    }
    auto check_rows = [&](const std::vector<GrowthSeries>& rows, const auto& want) {
      CHECK(rows.size() == want.size());
      for (const auto& s : rows) {
        INFO(s.key << " " << s.kind);
        auto it = want.find({s.key, s.kind});
        REQUIRE(it != want.end());
        CHECK(s.yearly == it->second);
        uint64_t prev = 0;
        for (int y = 0; y < years; ++y) {
          const uint64_t cur = it->second[y];
          if (prev == 0) {
            CHECK(s.yoy[y].is_new == (cur > 0));
            CHECK_FALSE(s.yoy[y].defined);
          } else {
            CHECK(close(s.yoy[y].factor, (long double)cur / prev));
          }
          prev = cur;
        }
      }
    };
    check_rows(G.totals, totals);
    for (const auto& t : G.tables) {
      INFO("table " << t.group);
      if (t.group == "author") check_rows(t.rows, by_author);
      else if (t.group == "tag_category") check_rows(t.rows, by_cat);
      else FAIL("unexpected table " << t.group);
    }
  }

  SECTION("share by country per year, inheriting attribution") {
    std::map<std::pair<std::string, int>, uint64_t> want;
    std::map<int, uint64_t> year_total;
    for (const auto& [k, v] : D.month) {
      if (!v) continue;
      want[{inherited_country(D, k.first), k.second / 12}] += v;
      year_total[k.second / 12] += v;
    }
    REQUIRE(R.study.attribution.share_year.size() == 1);
    const ShareYearTable& t = R.study.attribution.share_year[0];
    CHECK(t.group == "country");
    REQUIRE(t.year_totals.size() == year_total.size());
    for (const auto& [y, total] : t.year_totals) CHECK(total == year_total[y]);
    size_t listed = 0;
    for (const auto& r : t.rows) {
      INFO(r.key << " " << r.year);
      if (r.downloads == 0) {
        CHECK(r.key == "unknown");  // always listed
        continue;
      }
      ++listed;
      CHECK(r.downloads == want[{r.key, r.year}]);
      CHECK(close(r.share, (long double)r.downloads / year_total[r.year]));
    }
    CHECK(listed == want.size());
  }
  std::remove((dir + "/repos.jsonl").c_str());
  std::remove((dir + "/downloads.csv").c_str());
  std::remove((dir + "/orgs.csv").c_str());
  rmdir(dir.c_str());
}
