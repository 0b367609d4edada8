// An Arrow stream of repository records: the JSON Lines reader's fields as columns, each cell
// validated by the same field rule (repo_record.hpp) and the record added by the same writer.
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "arrow_input.hpp"
#include "ecostat/host/arrow_readers.hpp"
#include "repo_record.hpp"
#include "text.hpp"

namespace ecostat::host {

namespace {

using arrow::Cell;
using arrow::RecordBatchView;
using arrow::StringColumn;
using detail::Fail;
using detail::RepoRecord;
using json = nlohmann::json;

// A list<utf8> / large_list<utf8> column (the values may be any string layout, or a dictionary):
// each row's strings. The values are read through a one-column struct view of the list's
// child, so every string layout and check of the importer applies.
class StringListColumn {
 public:
  StringListColumn(const detail::ArrowBatch& b, int64_t index) : name_(detail::column_name(b.schema, index)) {
    const ArrowSchema& s = *b.schema.children[index];
    const ArrowArray& a = *b.array.children[index];
    large_ = std::string_view(s.format) == "+L";
    if (s.n_children != 1 || a.n_children != 1 || !s.children || !a.children || !s.children[0] || !a.children[0] ||
        a.n_buffers != 2 || !a.buffers)
      throw b.view.error(name_, "malformed list array");
    if (a.length < b.array.offset + b.array.length) throw b.view.error(name_, "the column is shorter than the batch");
    base_ = a.offset + b.array.offset;
    offsets_ = a.buffers[1];
    if (!offsets_ && b.array.length > 0) throw b.view.error(name_, "missing list offsets");
    if (a.null_count != 0 && a.buffers[0]) validity_ = static_cast<const uint8_t*>(a.buffers[0]);
    child_schema_ = s.children[0];
    child_array_ = a.children[0];
    values_length_ = child_array_->length;
    // The child as the only column of a record batch of values_length_ rows.
    struct_schema_.format = "+s";
    struct_schema_.name = "";
    struct_schema_.n_children = 1;
    struct_schema_.children = &child_schema_;
    struct_schema_.release = &no_release_schema;
    struct_array_.length = values_length_;
    struct_array_.n_buffers = 1;
    struct_array_.buffers = struct_buffers_;
    struct_array_.n_children = 1;
    struct_array_.children = &child_array_;
    struct_array_.release = &no_release_array;
    values_view_.emplace(struct_schema_, struct_array_, b.view.context());
    try {
      values_ = values_view_->strings(0);
    } catch (const arrow::ArrowBatchError&) {
      throw b.view.error(name_, "a list of " + std::string(child_schema_->format) +
                                    " values where a list of strings is required");
    }
  }
  StringListColumn(const StringListColumn&) = delete;
  StringListColumn& operator=(const StringListColumn&) = delete;

  // Row r's strings; null for a null list, bad (why set) for corrupt offsets or values.
  Cell get(int64_t r, std::vector<std::string>* out, std::string* why) const {
    const int64_t e = base_ + r;
    if (validity_ && !((validity_[e >> 3] >> (e & 7)) & 1)) return Cell::null;
    int64_t begin, end;
    if (large_) {
      begin = load<int64_t>(e);
      end = load<int64_t>(e + 1);
    } else {
      begin = load<int32_t>(e);
      end = load<int32_t>(e + 1);
    }
    if (begin < 0 || end < begin || end > values_length_) {
      *why = "corrupt list offsets " + std::to_string(begin) + ".." + std::to_string(end);
      return Cell::bad;
    }
    out->clear();
    for (int64_t k = begin; k < end; ++k) {
      std::string_view s;
      const Cell c = values_.get(k, &s, why);
      if (c == Cell::bad) return c;
      if (c == Cell::value) out->emplace_back(s);  // a null element is no tag
    }
    return Cell::value;
  }

 private:
  template <class T>
  int64_t load(int64_t i) const {
    T v;
    std::memcpy(&v, static_cast<const char*>(offsets_) + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
    return static_cast<int64_t>(v);
  }
  static void no_release_schema(ArrowSchema*) {}  // the view's structs belong to the batch
  static void no_release_array(ArrowArray*) {}

  std::string name_;
  bool large_ = false;
  int64_t base_ = 0, values_length_ = 0;
  const void* offsets_ = nullptr;
  const uint8_t* validity_ = nullptr;
  ArrowSchema* child_schema_ = nullptr;
  ArrowArray* child_array_ = nullptr;
  ArrowSchema struct_schema_{};
  ArrowArray struct_array_{};
  const void* struct_buffers_[1] = {nullptr};
  std::optional<RecordBatchView> values_view_;
  StringColumn values_;
};

bool is_list(const ArrowSchema& schema, int64_t index) {
  const std::string_view f = schema.children[index]->format ? schema.children[index]->format : "";
  return f == "+l" || f == "+L";
}

bool is_integer(const ArrowSchema& schema, int64_t index) {
  const ArrowSchema& c = *schema.children[index];
  const std::string_view f = c.format ? c.format : "";
  return !c.dictionary && f.size() == 1 && std::string_view("cCsSiIlL").find(f[0]) != std::string_view::npos;
}

// The columns of one batch, each optional but id, by the JSON reader's key names.
struct RepoColumns {
  int64_t id = -1, author = -1, kind = -1, created = -1, likes = -1, downloads = -1, all_time = -1, pipeline = -1,
          library = -1, safetensors = -1, tags = -1, base_models = -1, card = -1;

  explicit RepoColumns(const RecordBatchView& v)
      : id(v.require("id|modelId|model_id")),
        author(v.find("author")),
        kind(v.find("kind|repoType|repo_type|type")),
        created(v.find("createdAt|created_at")),
        likes(v.find("likes")),
        downloads(v.find("downloads")),
        all_time(v.find("downloadsAllTime|downloads_all_time")),
        pipeline(v.find("pipeline_tag|pipelineTag")),
        library(v.find("library_name|libraryName")),
        safetensors(v.find("safetensors")),
        tags(v.find("tags")),
        base_models(v.find("baseModels|base_models")),
        card(v.find("card_data|cardData")) {}
};

// createdAt: a date or timestamp (a day), ISO or epoch-millisecond text, or epoch
// milliseconds as an integer (pandas' default), each through the JSON reader's rule.
class CreatedColumn {
 public:
  CreatedColumn(const detail::ArrowBatch& b, int64_t index) {
    if (detail::is_string_column(b.schema, index)) {
      text_ = b.view.strings(index);
    } else if (is_integer(b.schema, index)) {
      ms_ = b.view.integers(index);
    } else {
      days_ = b.view.days(index);  // date32/date64/timestamp, else a batch error naming the column
    }
    name_ = detail::column_name(b.schema, index);
  }
  // Sets rec->created_day; null leaves it absent.
  std::optional<Fail> read(int64_t r, const detail::Window& w, RepoRecord* rec) const {
    std::string why;
    const char* name = name_.c_str();
    if (text_) {
      std::string_view s;
      const Cell c = text_->get(r, &s, &why);
      if (c == Cell::value) return detail::set_created_text(s, name, w, rec);
      return c == Cell::null ? std::nullopt : std::optional<Fail>(Fail{name_, why});
    }
    if (ms_) {
      int64_t ms = 0;
      const Cell c = ms_->get_int64(r, &ms, &why);
      if (c == Cell::value) return detail::set_created_epoch_ms(ms, std::to_string(ms), name, w, rec);
      return c == Cell::null ? std::nullopt : std::optional<Fail>(Fail{name_, why});
    }
    int32_t day = 0;
    const Cell c = days_->get(r, &day, &why);
    if (c == Cell::value) return detail::set_created_day(day, name, w, rec);
    return c == Cell::null ? std::nullopt : std::optional<Fail>(Fail{name_, why});
  }

 private:
  std::string name_;
  std::optional<StringColumn> text_;
  std::optional<arrow::IntColumn> ms_;
  std::optional<arrow::DayColumn> days_;
};

// One batch's typed columns and the per-row conversion into a RepoRecord.
class RepoBatch {
 public:
  explicit RepoBatch(const detail::ArrowBatch& b) : b_(b), c_(b.view) {
    const RecordBatchView& v = b.view;
    id_ = v.strings(c_.id);
    auto text = [&](int64_t i, std::optional<StringColumn>* out) {
      if (i >= 0) *out = v.strings(i);
    };
    auto count = [&](int64_t i, std::optional<arrow::IntColumn>* out) {
      if (i >= 0) *out = v.integers(i);
    };
    text(c_.author, &author_);
    text(c_.kind, &kind_);
    if (c_.created >= 0) created_.emplace(b, c_.created);
    count(c_.likes, &likes_);
    count(c_.downloads, &downloads_);
    count(c_.all_time, &all_time_);
    text(c_.pipeline, &pipeline_);
    text(c_.library, &library_);
    text(c_.safetensors, &safetensors_);
    if (c_.tags >= 0) {
      if (is_list(b.schema, c_.tags)) {
        tag_list_.emplace(b, c_.tags);
      } else if (detail::is_string_column(b.schema, c_.tags)) {
        tag_text_ = v.strings(c_.tags);
      } else {
        throw v.error(v.column_name(c_.tags), "Arrow type '" + v.column_format(c_.tags) +
                                                  "' where a list of strings or JSON text is required");
      }
    }
    text(c_.base_models, &base_models_);
    text(c_.card, &card_);
  }

  // Row r as a record, in the JSON reader's field order (so the first bad field is the same).
  std::optional<Fail> read(int64_t r, const detail::Window& w, RepoRecord* rec) {
    std::string_view s;
    std::string why;
    const Cell c = id_.get(r, &s, &why);
    if (c != Cell::value) return Fail{name(c_.id), c == Cell::null ? arrow::kNullRequired : why};
    const std::string id_name = name(c_.id);
    if (auto f = detail::set_repo_id(s, id_name.c_str(), rec)) return f;
    if (auto f = text_cell(author_, r, [&](std::string_view t, const char* n) { return detail::set_author(t, n, rec); }))
      return f;
    if (auto f = text_cell(kind_, r, [&](std::string_view t, const char* n) { return detail::set_kind(t, n, rec); }))
      return f;
    if (created_)
      if (auto f = created_->read(r, w, rec)) return f;
    if (auto f = count_cell(likes_, r, &rec->likes, nullptr)) return f;
    if (auto f = count_cell(downloads_, r, &rec->downloads, nullptr)) return f;
    if (auto f = count_cell(all_time_, r, &rec->all_time, &rec->has_all_time)) return f;
    if (auto f = text_cell(pipeline_, r, [&](std::string_view t, const char* n) {
          return detail::set_optional_text(t, n, &rec->pipeline_tag);
        }))
      return f;
    if (auto f = text_cell(library_, r, [&](std::string_view t, const char* n) {
          return detail::set_optional_text(t, n, &rec->library);
        }))
      return f;
    if (auto f = text_cell(safetensors_, r, [&](std::string_view t, const char* n) {
          return detail::set_safetensors(json(std::string(t)), n, rec);
        }))
      return f;
    if (auto f = read_tags(r, rec)) return f;
    return read_parents(r, rec);
  }

 private:
  std::string name(int64_t index) const { return b_.view.column_name(index); }

  // A string cell through `rule`; a null is an absent field (as a JSON null is).
  template <class Rule>
  std::optional<Fail> text_cell(const std::optional<StringColumn>& col, int64_t r, Rule rule) const {
    if (!col) return std::nullopt;
    std::string_view s;
    std::string why;
    const Cell c = col->get(r, &s, &why);
    if (c == Cell::null) return std::nullopt;
    if (c == Cell::bad) return Fail{col->name(), why};
    return rule(s, col->name().c_str());
  }

  std::optional<Fail> count_cell(const std::optional<arrow::IntColumn>& col, int64_t r, uint64_t* out,
                                 bool* given) const {
    if (!col) return std::nullopt;
    std::string why;
    const Cell c = col->get_uint64(r, out, &why);
    if (c == Cell::null) return std::nullopt;
    if (c == Cell::bad) return Fail{col->name(), "bad count: " + why};
    if (given) *given = true;
    return std::nullopt;
  }

  std::optional<Fail> read_tags(int64_t r, RepoRecord* rec) {
    std::string why;
    if (tag_list_) {
      const std::string tag_name = name(c_.tags);
      const Cell c = tag_list_->get(r, &tags_, &why);
      if (c == Cell::bad) return Fail{tag_name, why};
      if (c == Cell::null) return std::nullopt;
      return detail::set_tags(tags_, tag_name.c_str(), rec);
    }
    return text_cell(tag_text_, r, [&](std::string_view t, const char* n) { return detail::set_tags_text(t, n, rec); });
  }

  // baseModels and card data as JSON (or YAML) text, through the JSON reader's parent rules.
  std::optional<Fail> read_parents(int64_t r, RepoRecord* rec) const {
    std::optional<json> base, card;
    std::string base_name = "baseModels", card_name = "cardData";
    auto cell = [&](const std::optional<StringColumn>& col, std::optional<json>* out,
                    std::string* col_name) -> std::optional<Fail> {
      if (!col) return std::nullopt;
      *col_name = col->name();
      std::string_view s;
      std::string why;
      const Cell c = col->get(r, &s, &why);
      if (c == Cell::bad) return Fail{col->name(), why};
      if (c == Cell::value) *out = json(std::string(s));
      return std::nullopt;
    };
    if (auto f = cell(base_models_, &base, &base_name)) return f;
    if (auto f = cell(card_, &card, &card_name)) return f;
    return detail::set_parents(base ? &*base : nullptr, base_name.c_str(), card ? &*card : nullptr, card_name.c_str(),
                               rec);
  }

  const detail::ArrowBatch& b_;
  RepoColumns c_;
  StringColumn id_;
  std::optional<StringColumn> author_, kind_, pipeline_, library_, safetensors_, tag_text_, base_models_, card_;
  std::optional<CreatedColumn> created_;
  std::optional<arrow::IntColumn> likes_, downloads_, all_time_;
  std::optional<StringListColumn> tag_list_;
  std::vector<std::string> tags_;  // reused across rows
};

}  // namespace

ReadStats read_repositories_arrow(ArrowArrayStream* stream, const std::string& name, RepoTable& repos,
                                  RejectLog& rejects, const ReadOptions& options) {
  std::optional<detail::RepoTableWriter> writer;
  auto start = [&](const ArrowSchema&, ReadStats& stats) { writer.emplace(repos, rejects, stats, options); };
  RepoRecord rec;  // parsed into row after row, its storage kept
  auto batch = [&](const detail::ArrowBatch& b, ReadStats&) {
    RepoBatch rows(b);
    for (int64_t r = 0; r < b.view.num_rows(); ++r) {
      rec.clear();
      if (auto f = rows.read(r, writer->window(), &rec)) {
        writer->reject(b.line(r), f->field, f->reason);
        continue;
      }
      detail::hash_fields(&rec);
      writer->add(rec, b.line(r));
    }
  };
  return detail::read_arrow_stream(stream, name, start, batch, [&](ReadStats&) { writer->finish(); });
}

}  // namespace ecostat::host
