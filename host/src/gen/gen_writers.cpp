// The generator's writers: repos.jsonl, orgs.csv, downloads.csv (formatted in parallel,
// written in order), the columnar binaries for the peers and the manifest.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ecostat/errors.hpp"
#include "gen_internal.hpp"

namespace ecostat::host {

using namespace gen;

namespace {

// A file (or standard output for "-") written with large write() calls.
class OutFile {
 public:
  explicit OutFile(const std::string& path) : path_(path) {
    if (path == "-") {
      fd_ = 1;
      owned_ = false;
    } else {
      fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd_ < 0) throw Error("cannot write " + path + ": " + std::strerror(errno));
    }
  }
  ~OutFile() {
    if (owned_ && fd_ >= 0) ::close(fd_);
  }
  OutFile(const OutFile&) = delete;
  OutFile& operator=(const OutFile&) = delete;
  void write(const void* data, size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      const ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        throw Error("cannot write " + path_ + ": " + std::strerror(errno));
      }
      p += w;
      n -= size_t(w);
    }
  }
  void write(const std::string& s) { write(s.data(), s.size()); }
  void close() {
    if (owned_ && fd_ >= 0) {
      const int rc = ::close(fd_);
      fd_ = -1;
      if (rc != 0) throw Error("cannot write " + path_ + ": " + std::strerror(errno));
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool owned_ = true;
};

void make_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) throw Error("cannot create " + dir + ": " + std::strerror(errno));
}

inline char* put(char* p, const char* s, size_t n) {
  std::memcpy(p, s, n);
  return p + n;
}
inline char* put(char* p, const char* s) { return put(p, s, std::strlen(s)); }
inline char* put_u64(char* p, uint64_t v) { return std::to_chars(p, p + 24, v).ptr; }

const char* const kPipelineNames[] = {"text-generation", "text-classification", "automatic-speech-recognition",
                                      "feature-extraction", "sentence-similarity", "image-classification",
                                      "text-to-image", "token-classification", "fill-mask", "reinforcement-learning",
                                      "image-text-to-text", "translation", "question-answering", ""};
const char* const kLibraryNames[] = {"transformers", "peft", "gguf", "sentence-transformers", "diffusers", "timm",
                                     "ml-agents"};
const char* const kRelationNames[] = {"finetune", "adapter", "quantized", "merge"};
const char* const kFamilyTagNames[] = {"llama", "qwen", "mistral", "gemma", "qwen2", "llama", "phi", "qwen3",
                                       "gemma2", "deepseek", "bert", "gpt2", "t5", "falcon", "phi3", "gemma3"};
const double kSizeLo[] = {2e7, 1e9, 1e10, 1e11}, kSizeHi[] = {1e9, 1e10, 1e11, 7e11};

}  // namespace

void Generator::write_downloads_csv(const std::string& path, const std::function<void(uint64_t)>& progress) const {
  const Impl& I = *impl_;
  OutFile f(path);
  f.write(std::string("repo,date,downloads\n"));
  const uint64_t N = spec_.records, chunk = 1u << 17;
  const uint64_t n_chunks = (N + chunk - 1) / chunk;
  const uint32_t M = spec_.models;
  std::vector<std::string> bufs(2 * size_t(threads_));
  uint64_t done = 0;
  ordered_parallel(
      n_chunks, threads_,
      [&](uint64_t c, size_t slot) {
        const uint64_t b = c * chunk, e = std::min(N, b + chunk);
        std::string& buf = bufs[slot];
        buf.resize(size_t(e - b) * (I.max_name + 24));
        char* p = buf.data();
        for (uint64_t i = b; i < e; ++i) {
          const Record r = I.record(i, M);
          size_t len;
          const char* nm = I.name(r.unit, &len);
          p = put(p, nm, len);
          *p++ = ',';
          p = put(p, &I.day_label[size_t(r.day - I.first_day) * 10], 10);
          *p++ = ',';
          p = put_u64(p, r.count);
          *p++ = '\n';
        }
        buf.resize(size_t(p - buf.data()));
      },
      [&](uint64_t c, size_t slot) {
        f.write(bufs[slot]);
        done = std::min(N, (c + 1) * chunk);
        if (progress && (c % 64 == 63 || done == N)) progress(done);
      },
      bufs.size());
  f.close();
}

void Generator::write_repos_jsonl(const std::string& path) const {
  const Impl& I = *impl_;
  OutFile f(path);
  const uint32_t M = spec_.models, chunk = 1u << 15;
  const uint64_t n_chunks = (uint64_t(M) + chunk - 1) / chunk;
  std::vector<std::string> bufs(2 * size_t(threads_));
  const double alpha = spec_.download_exponent;
  ordered_parallel(
      n_chunks, threads_,
      [&](uint64_t c, size_t slot) {
        const uint32_t b = uint32_t(c * chunk), e = uint32_t(std::min<uint64_t>(M, uint64_t(b) + chunk));
        std::string& buf = bufs[slot];
        buf.resize(size_t(e - b) * (3 * I.max_name + 600));
        char* p = buf.data();
        for (uint32_t u = b; u < e; ++u) {
          size_t len;
          const char* nm = I.name(u, &len);
          const std::string& handle = I.handles[I.author[u]];
          const uint64_t h = I.rnd(kStreamAttr, uint64_t(u) + (1ull << 40));
          // Expected all-time total at the model's popularity rank, its last 30 days, likes.
          const double T = I.total_scale * std::pow(double(I.unit_rank[u]) + 1, -alpha);
          const uint64_t all_time = uint64_t(std::llround(T));
          const int32_t lo = std::max(I.created[u], I.first_day);
          const double span = double(I.last_day - lo + 1);
          const uint64_t d30 = uint64_t(std::llround(T * std::min(1.0, 30.0 / span)));
          const uint64_t likes = uint64_t(std::sqrt(T) * uniform(h) * 0.2);
          p = put(p, "{\"id\":\"");
          p = put(p, nm, len);
          p = put(p, "\",\"author\":\"");
          p = put(p, handle.data(), handle.size());
          p = put(p, "\",\"createdAt\":\"");
          const std::string day = day_string(I.created[u]);
          p = put(p, day.data(), 10);
          p = put(p, "T00:00:00.000Z\",\"likes\":");
          p = put_u64(p, likes);
          p = put(p, ",\"downloads\":");
          p = put_u64(p, d30);
          p = put(p, ",\"downloadsAllTime\":");
          p = put_u64(p, all_time);
          const char* pipe = kPipelineNames[I.pipeline[u]];
          if (*pipe) {
            p = put(p, ",\"pipeline_tag\":\"");
            p = put(p, pipe);
            *p++ = '"';
          }
          const uint8_t lib = I.library[u];
          if (lib != 0xff) {
            p = put(p, ",\"library_name\":\"");
            p = put(p, kLibraryNames[lib]);
            *p++ = '"';
          }
          p = put(p, ",\"tags\":[");
          bool first = true;
          if (lib != 0xff) {
            p = put(p, "\"");
            p = put(p, kLibraryNames[lib]);
            p = put(p, "\"");
            first = false;
          }
          if (I.family_tag[u] != 0xff) {
            if (!first) *p++ = ',';
            p = put(p, "\"");
            p = put(p, kFamilyTagNames[I.family_tag[u]]);
            p = put(p, "\"");
            first = false;
          }
          if (!first) *p++ = ',';
          p = put(p, "\"region:us\"]");
          if (uniform(mix64(h)) < 0.6) {  // 60% of models publish a parameter count
            const int sc = I.size_class[I.root[u]];
            const double lp = std::log(kSizeLo[sc]) + uniform(I.rnd(kStreamAttr, I.root[u] + (2ull << 40))) *
                                                           (std::log(kSizeHi[sc]) - std::log(kSizeLo[sc]));
            p = put(p, ",\"safetensors\":{\"total\":");
            p = put_u64(p, uint64_t(std::exp(lp)));
            *p++ = '}';
          }
          if (I.parent0[u] != kNone) {
            p = put(p, ",\"baseModels\":{\"relation\":\"");
            p = put(p, kRelationNames[I.relation[u] & 3]);
            p = put(p, "\",\"models\":[{\"id\":\"");
            const char* pn = I.name(I.parent0[u], &len);
            p = put(p, pn, len);
            p = put(p, "\"}");
            if (I.parent1[u] != kNone) {
              p = put(p, ",{\"id\":\"");
              pn = I.name(I.parent1[u], &len);
              p = put(p, pn, len);
              p = put(p, "\"}");
            }
            p = put(p, "]}");
          }
          p = put(p, "}\n");
        }
        buf.resize(size_t(p - buf.data()));
      },
      [&](uint64_t, size_t slot) { f.write(bufs[slot]); }, bufs.size());
  f.close();
}

void Generator::write_orgs_csv(const std::string& path) const {
  const Impl& I = *impl_;
  OutFile f(path);
  std::string s = "handle,organisation,country,region,org_type\n";
  for (const AttrRow& r : I.attr_rows) {
    s += I.handles[r.author];
    s += ',';
    s += I.org_names[r.org];
    s += ',';
    s += I.country_names[r.country];
    s += ',';
    s += I.region_names[r.region];
    s += ',';
    s += I.type_names[r.type];
    s += '\n';
    if (s.size() > (1u << 20)) {
      f.write(s);
      s.clear();
    }
  }
  f.write(s);
  f.close();
}

void Generator::write_events_bin(const std::string& dir) const {
  make_dir(dir);
  make_dir(dir + "/events");
  OutFile fu(dir + "/events/unit.u32"), fm(dir + "/events/month.u16"), fc(dir + "/events/count.u32");
  const uint64_t N = spec_.records, chunk = 1u << 20;
  std::vector<EventBatch> slots(2 * size_t(threads_));
  ordered_parallel(
      (N + chunk - 1) / chunk, threads_,
      [&](uint64_t c, size_t slot) { events(c * chunk, std::min(N, (c + 1) * chunk), slots[slot]); },
      [&](uint64_t, size_t slot) {
        const EventBatch& b = slots[slot];
        fu.write(b.unit.data(), b.unit.size() * 4);
        fm.write(b.month.data(), b.month.size() * 2);
        fc.write(b.count.data(), b.count.size() * 4);
      },
      slots.size());
  fu.close();
  fm.close();
  fc.close();
}

void Generator::write_units_bin(const std::string& dir) const {
  make_dir(dir);
  make_dir(dir + "/units");
  for (const char* g : {"author", "organisation", "country", "region", "org_type", "family"}) {
    const GroupMap m = group_map(g);
    OutFile f(dir + "/units/" + g + ".u32");
    f.write(m.group_of_unit.data(), m.group_of_unit.size() * 4);
    f.close();
    if (std::string(g) != "family") {
      OutFile k(dir + "/units/" + g + ".keys.txt");
      std::string s;
      for (const auto& key : group_keys(g)) s += key + "\n";
      k.write(s);
      k.close();
    }
  }
  OutFile ids(dir + "/units/ids.txt");
  std::string s;
  for (uint32_t u = 0; u < spec_.models; ++u) {
    s += repo_id(u);
    s += '\n';
    if (s.size() > (1u << 20)) {
      ids.write(s);
      s.clear();
    }
  }
  ids.write(s);
  ids.close();
}

void Generator::write_manifest(const std::string& dir, const std::vector<std::string>& files) const {
  using nlohmann::ordered_json;
  const Impl& I = *impl_;
  ordered_json j;
  j["schema"] = "ecostat.gen/1";
  ordered_json sp;
  sp["seed"] = spec_.seed;
  sp["records"] = spec_.records;
  sp["models"] = spec_.models;
  sp["authors"] = n_authors_;
  sp["attributed"] = I.attr_rows.size();
  sp["derivative_fraction"] = spec_.derivative_fraction;
  sp["relation_mix"] = {{"finetune", spec_.relation_mix[0]},
                        {"adapter", spec_.relation_mix[1]},
                        {"quantized", spec_.relation_mix[2]},
                        {"merge", spec_.relation_mix[3]}};
  sp["nested"] = spec_.nested;
  sp["family_exponent"] = spec_.family_exponent;
  sp["author_exponent"] = spec_.author_exponent;
  sp["record_skew"] = spec_.record_skew;
  sp["download_exponent"] = spec_.download_exponent;
  sp["median_downloads"] = spec_.median_downloads;
  sp["first_day"] = spec_.first_day;
  sp["last_day"] = spec_.last_day;
  sp["hub_start"] = spec_.hub_start;
  j["spec"] = sp;
  const GenExpected e = expected();
  j["expected"] = {{"derivative_fraction", e.derivative_fraction},
                   {"top_share_0.01pct", e.top_share_0_01pct},
                   {"top_share_1pct", e.top_share_1pct},
                   {"median_total", e.median_total},
                   {"largest_family", e.largest_family},
                   {"mean_records_per_model", e.mean_records_per_model}};
  ordered_json levels = ordered_json::array();
  for (int L = 0; L < kLevels; ++L) levels.push_back(I.level_size[L]);
  j["levels"] = levels;
  ordered_json groups;
  for (const char* g : {"model", "author", "organisation", "country", "region", "org_type", "family"})
    groups[g] = group_map(g).n_groups;
  j["groups"] = groups;
  j["month_first"] = I.day_month.front();
  j["month_last"] = I.day_month.back();
  j["files"] = files;
  std::ofstream f(dir + "/manifest.json");
  if (!(f << j.dump(2) << "\n")) throw Error("cannot write " + dir + "/manifest.json");
}

GenSpec Generator::spec_from_manifest(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw InputError(path, 0, "", "cannot open the generator manifest");
  nlohmann::json j;
  try {
    f >> j;
    const auto& s = j.at("spec");
    GenSpec g;
    g.seed = s.at("seed").get<uint64_t>();
    g.records = s.at("records").get<uint64_t>();
    g.models = s.at("models").get<uint32_t>();
    g.authors = s.at("authors").get<uint32_t>();
    g.attributed = s.at("attributed").get<uint32_t>();
    g.derivative_fraction = s.at("derivative_fraction").get<double>();
    const auto& mix = s.at("relation_mix");
    g.relation_mix = {mix.at("finetune").get<double>(), mix.at("adapter").get<double>(),
                      mix.at("quantized").get<double>(), mix.at("merge").get<double>()};
    g.nested = s.at("nested").get<double>();
    g.family_exponent = s.at("family_exponent").get<double>();
    g.author_exponent = s.at("author_exponent").get<double>();
    g.record_skew = s.at("record_skew").get<double>();
    g.download_exponent = s.at("download_exponent").get<double>();
    g.median_downloads = s.at("median_downloads").get<double>();
    g.first_day = s.at("first_day").get<std::string>();
    g.last_day = s.at("last_day").get<std::string>();
    g.hub_start = s.at("hub_start").get<std::string>();
    return g;
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path, 0, "", std::string("bad generator manifest: ") + e.what());
  }
}

}  // namespace ecostat::host
