#include "ecostat/types.hpp"

#include <cstdio>

#include "ecostat/errors.hpp"

namespace ecostat {

const char* relation_name(Relation r) {
  switch (r) {
    case Relation::finetune: return "finetune";
    case Relation::adapter: return "adapter";
    case Relation::quantized: return "quantized";
    case Relation::merge: return "merge";
    default: return "unknown";
  }
}

Relation parse_relation(const std::string& s, bool* recognised) {
  Relation r = Relation::unknown;
  bool ok = true;
  if (s == "finetune" || s == "fine-tune" || s == "finetuned") r = Relation::finetune;
  else if (s == "adapter") r = Relation::adapter;
  else if (s == "quantized" || s == "quantization" || s == "quantised") r = Relation::quantized;
  else if (s == "merge" || s == "merged") r = Relation::merge;
  else ok = (s == "unknown");
  if (recognised) *recognised = ok;
  return r;
}

const char* repo_kind_name(RepoKind k) {
  switch (k) {
    case RepoKind::model: return "model";
    case RepoKind::dataset: return "dataset";
    case RepoKind::space: return "space";
    default: return "unknown";
  }
}

RepoKind parse_repo_kind(const std::string& s, bool* recognised) {
  RepoKind k = RepoKind::unknown;
  bool ok = true;
  if (s == "model" || s == "models") k = RepoKind::model;
  else if (s == "dataset" || s == "datasets") k = RepoKind::dataset;
  else if (s == "space" || s == "spaces") k = RepoKind::space;
  else ok = false;
  if (recognised) *recognised = ok;
  return k;
}

std::string month_label(Month m) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d", 1970 + m / 12, m % 12 + 1);
  return buf;
}

// Howard Hinnant's days_from_civil: exact for the proleptic Gregorian calendar.
int32_t days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int>(doe) - 719468;
}

// Howard Hinnant's civil_from_days, the inverse of days_from_civil.
void civil_from_days(int32_t day, int* y, unsigned* m, unsigned* d) {
  int64_t z = int64_t(day) + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = int64_t(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int>(yy + (*m <= 2));
}

std::string iso_date(int32_t day) {
  int y;
  unsigned m, d;
  civil_from_days(day, &y, &m, &d);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", y, m, d);
  return buf;
}

Month month_of_day(int32_t z) {
  int y;
  unsigned m, d;
  civil_from_days(z, &y, &m, &d);
  return month_of(y, static_cast<int>(m));
}

static bool digits(const char* s, int n, int* out) {
  int v = 0;
  for (int i = 0; i < n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

bool parse_date(const char* s, size_t len, int32_t* day_out) {
  if (len < 10 || s[4] != '-' || s[7] != '-') return false;
  if (len > 10 && s[10] != 'T' && s[10] != ' ') return false;
  int y, m, d;
  if (!digits(s, 4, &y) || !digits(s + 5, 2, &m) || !digits(s + 8, 2, &d)) return false;
  // Months are stored as u16 since 1970 (up to 7431-03): accept years 1970..7000.
  if (y < 1970 || y > 7000 || m < 1 || m > 12 || d < 1) return false;
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > mdays[m - 1] + (m == 2 && leap)) return false;
  *day_out = days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  return true;
}

int32_t parse_window_day(const std::string& s, const char* what) {
  // 7431-03-31 is the last day of month 0xfffe (0xffff marks "no month").
  constexpr int32_t kLastWindowDay = 1994678;
  int y = 0, m = 0, d = 0;
  const char* p = s.c_str();
  const bool shaped = s.size() == 10 && p[4] == '-' && p[7] == '-' && digits(p, 4, &y) && digits(p + 5, 2, &m) &&
                      digits(p + 8, 2, &d);
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (shaped && y >= 1970 && m >= 1 && m <= 12 && d >= 1 && d <= mdays[m - 1] + (m == 2 && leap)) {
    const int32_t day = days_from_civil(y, unsigned(m), unsigned(d));
    if (day <= kLastWindowDay) return day;
  }
  std::string shown;  // the value, control bytes escaped
  for (unsigned char c : s.substr(0, 64)) shown += (c < 0x20 || c == 0x7f) ? '?' : char(c);
  throw UsageError(std::string(what) + ": '" + shown + "' is not a YYYY-MM-DD date from 1970-01-01 to 7431-03-31");
}

}  // namespace ecostat
