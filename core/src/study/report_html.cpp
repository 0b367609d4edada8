// The HTML report: one self-contained page (inline CSS and SVG; no script, no font, no network)
// drawn from a results document. Every chart is plain SVG generated here; hovering a mark shows
// its value (SVG <title>). Sections whose data the document lacks are left out.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "ecostat/errors.hpp"
#include "ecostat/study.hpp"

namespace ecostat {

namespace {

using json = nlohmann::json;

const char* const kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
                                "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac", "#1f77b4", "#8c564b"};
constexpr int kPaletteSize = 12;
const char* kOther = "#d3d3d3";
const char* kUnknown = "#8c8c8c";

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += c;
    }
  return o;
}

std::string f2(double v, const char* f = "%.2f") {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

// 1234567 -> "1.23M"; parameters the same way ("24.0B").
std::string human(double v) {
  if (!std::isfinite(v)) return "-";
  const double a = std::fabs(v);
  if (a >= 1e12) return f2(v / 1e12, a >= 1e13 ? "%.0fT" : "%.1fT");
  if (a >= 1e9) return f2(v / 1e9, a >= 1e10 ? "%.0fB" : "%.1fB");
  if (a >= 1e6) return f2(v / 1e6, a >= 1e7 ? "%.0fM" : "%.1fM");
  if (a >= 1e3) return f2(v / 1e3, a >= 1e4 ? "%.0fk" : "%.1fk");
  if (a == std::floor(a)) return f2(v, "%.0f");
  return f2(v, "%.2g");
}

std::string pct(double v) { return report::percent(v); }

// An exact count with thousands separators; a fraction keeps one decimal (a median of two).
std::string number(double v) {
  if (!std::isfinite(v)) return "-";
  if (v < 0) return "-" + number(-v);
  if (v == std::floor(v) && v < 1.8e19) return report::count(uint64_t(v));
  const std::string t = f2(v, "%.1f");
  return report::group_thousands(t.substr(0, t.find('.'))) + t.substr(t.find('.'));
}

double num(const json& j, double dflt = NAN) { return j.is_number() ? j.get<double>() : dflt; }
const json& at(const json& j, const char* k) {
  static const json null;
  if (!j.is_object()) return null;
  auto it = j.find(k);
  return it == j.end() ? null : *it;
}
std::string str(const json& j) { return j.is_string() ? j.get<std::string>() : ""; }

// A count field with separators, exact: u64 as is, a total above 2^64 written as a string.
std::string count_of(const json& j) {
  if (j.is_number_unsigned()) return report::count(j.get<uint64_t>());
  if (j.is_string() && !j.get<std::string>().empty() &&
      j.get<std::string>().find_first_not_of("0123456789") == std::string::npos)
    return report::group_thousands(j.get<std::string>());
  return number(num(j));
}

// Plural of a unit or group name for labels: "family" -> "families", "org_type" -> "org types".
std::string plural(std::string unit) {
  std::replace(unit.begin(), unit.end(), '_', ' ');
  if (unit.size() > 1 && unit.back() == 'y' && std::string("aeiou").find(unit[unit.size() - 2]) == std::string::npos)
    return unit.substr(0, unit.size() - 1) + "ies";
  return unit + "s";
}

// What a unit's total is, from the results' `measure` (the run's --measure, auto resolved):
// `label` for axes and tiles, `definition` for the header and the Lorenz subtitle.
struct MeasureText {
  std::string label, definition;
};
MeasureText measure_text(const std::string& measure) {
  if (measure == "records") return {"downloads", "downloads summed from the download records (measure records)"};
  if (measure == "all_time")
    return {"all-time downloads", "all-time downloads, the repositories' downloads_all_time (measure all_time)"};
  if (measure == "30d")
    return {"30-day downloads", "downloads of the last 30 days, the repositories' downloads field (measure 30d)"};
  return {"downloads", measure.empty() ? "downloads" : "downloads (measure " + measure + ")"};
}

// ---- scales and an SVG canvas ------------------------------------------------------------------
struct Scale {
  double d0 = 0, d1 = 1, r0 = 0, r1 = 1;
  bool log = false;
  double operator()(double v) const {
    double a = d0, b = d1, x = v;
    if (log) a = std::log10(a), b = std::log10(b), x = std::log10(std::max(v, d0));
    if (b == a) return (r0 + r1) / 2;
    return r0 + (x - a) / (b - a) * (r1 - r0);
  }
};

std::vector<double> nice_ticks(double lo, double hi, int want = 5) {
  std::vector<double> t;
  if (!(hi > lo)) {
    t.push_back(lo);
    return t;
  }
  const double raw = (hi - lo) / want, mag = std::pow(10, std::floor(std::log10(raw)));
  const double r = raw / mag;
  const double step = (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag;
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) t.push_back(std::fabs(v) < step * 1e-9 ? 0 : v);
  return t;
}

std::vector<double> log_ticks(double lo, double hi) {
  std::vector<double> t;
  for (double p = std::pow(10, std::floor(std::log10(lo))); p <= hi * 1.0001; p *= 10)
    if (p >= lo * 0.9999) t.push_back(p);
  if (t.size() < 2) t = {lo, hi};
  return t;
}

class Svg {
 public:
  Svg(int w, int h, const std::string& label) : w_(w), h_(h) {
    o_ << "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " << w << ' ' << h << "\" width=\"" << w << "\" height=\"" << h
       << "\" role=\"img\" aria-label=\"" << esc(label) << "\">";
  }
  std::ostringstream& raw() { return o_; }
  void line(double x1, double y1, double x2, double y2, const std::string& stroke, double width = 1, const std::string& extra = "") {
    o_ << "<line x1=\"" << f2(x1) << "\" y1=\"" << f2(y1) << "\" x2=\"" << f2(x2) << "\" y2=\"" << f2(y2) << "\" stroke=\"" << stroke
       << "\" stroke-width=\"" << width << "\" " << extra << "/>";
  }
  void text(double x, double y, const std::string& s, const std::string& anchor = "start", const std::string& cls = "") {
    o_ << "<text x=\"" << f2(x) << "\" y=\"" << f2(y) << "\" text-anchor=\"" << anchor << "\"" << (cls.empty() ? "" : " class=\"" + cls + "\"")
       << ">" << esc(s) << "</text>";
  }
  void rect(double x, double y, double w, double h, const std::string& fill, const std::string& tip) {
    if (w <= 0 || h <= 0) return;
    o_ << "<rect x=\"" << f2(x) << "\" y=\"" << f2(y) << "\" width=\"" << f2(w) << "\" height=\"" << f2(h) << "\" fill=\"" << fill << "\">";
    if (!tip.empty()) o_ << "<title>" << esc(tip) << "</title>";
    o_ << "</rect>";
  }
  void polyline(const std::vector<std::pair<double, double>>& pts, const std::string& stroke, double width, const std::string& tip,
                const std::string& dash = "") {
    if (pts.empty()) return;
    o_ << "<polyline fill=\"none\" stroke=\"" << stroke << "\" stroke-width=\"" << width << "\" stroke-linejoin=\"round\""
       << (dash.empty() ? "" : " stroke-dasharray=\"" + dash + "\"") << " points=\"";
    for (const auto& [x, y] : pts) o_ << f2(x) << ',' << f2(y) << ' ';
    o_ << "\">";
    if (!tip.empty()) o_ << "<title>" << esc(tip) << "</title>";
    o_ << "</polyline>";
  }
  void polygon(const std::vector<std::pair<double, double>>& pts, const std::string& fill, const std::string& tip) {
    o_ << "<polygon fill=\"" << fill << "\" stroke=\"#fff\" stroke-width=\"0.5\" points=\"";
    for (const auto& [x, y] : pts) o_ << f2(x) << ',' << f2(y) << ' ';
    o_ << "\">";
    if (!tip.empty()) o_ << "<title>" << esc(tip) << "</title>";
    o_ << "</polygon>";
  }
  void circle(double x, double y, double r, const std::string& fill, const std::string& tip, const std::string& stroke = "") {
    o_ << "<circle cx=\"" << f2(x) << "\" cy=\"" << f2(y) << "\" r=\"" << r << "\" fill=\"" << fill << "\""
       << (stroke.empty() ? "" : " stroke=\"" + stroke + "\" stroke-width=\"1.5\"") << "><title>" << esc(tip) << "</title></circle>";
  }
  // Axis titles: x centred under the plot, y rotated along the left edge (class axis-title).
  void x_title(double x_mid, const std::string& t) {
    o_ << "<text class=\"axis-title x\" x=\"" << f2(x_mid) << "\" y=\"" << h_ - 5 << "\" text-anchor=\"middle\">" << esc(t) << "</text>";
  }
  void y_title(double y_mid, const std::string& t) {
    o_ << "<text class=\"axis-title y\" x=\"0\" y=\"0\" text-anchor=\"middle\" transform=\"translate(13 " << f2(y_mid)
       << ") rotate(-90)\">" << esc(t) << "</text>";
  }
  std::string str() {
    o_ << "</svg>";
    return o_.str();
  }
  int w() const { return w_; }
  int h() const { return h_; }

 private:
  int w_, h_;
  std::ostringstream o_;
};

struct Frame {  // plot area inside the canvas
  double left = 64, right = 16, top = 14, bottom = 44;
};

// What a chart says about its axes: the titles (every chart has both) and how values read.
struct Axes {
  std::string x, y;
  std::function<std::string(double)> tick = [](double v) { return human(v); };  // compact: 1.2M
  std::function<std::string(double)> tip = [](double v) { return number(v); };  // exact: 1,234,567
};

void axis_titles(Svg& s, const Frame& f, const Axes& a) {
  s.x_title((f.left + s.w() - f.right) / 2, a.x);
  s.y_title((f.top + s.h() - f.bottom) / 2, a.y);
}

// Horizontal grid and y labels; x labels chosen by the caller.
void y_axis(Svg& s, const Frame& f, const Scale& y, const std::vector<double>& ticks, const std::function<std::string(double)>& label) {
  for (double t : ticks) {
    const double py = y(t);
    s.line(f.left, py, s.w() - f.right, py, "#e6e6e6");
    s.text(f.left - 6, py + 4, label(t), "end", "tick");
  }
  s.line(f.left, s.h() - f.bottom, s.w() - f.right, s.h() - f.bottom, "#999");
}

// x labels for a category axis of n slots (months, years, ages): at most ~max_labels shown;
// for months ("YYYY-MM") the Januaries when there are many.
void x_labels(Svg& s, const Frame& f, const std::vector<std::string>& labels, const std::function<double(size_t)>& x, size_t max_labels = 12) {
  const size_t n = labels.size();
  if (n == 0) return;
  const bool months = labels[0].size() == 7 && labels[0][4] == '-';
  size_t step = std::max<size_t>(1, (n + max_labels - 1) / max_labels);
  for (size_t i = 0; i < n; ++i) {
    bool show;
    std::string text = labels[i];
    if (months && n > max_labels) {
      // the first slot too, unless a January follows within a few slots
      show = labels[i].compare(5, 2, "01") == 0 || (i == 0 && std::stoi(labels[0].substr(5, 2)) <= 5);
      if (show && n > 12 * max_labels) show = (std::stoi(labels[i].substr(0, 4)) % ((n / 12 + max_labels - 1) / max_labels) == 0);
      if (show && labels[i].compare(5, 2, "01") == 0) text = labels[i].substr(0, 4);
    } else {
      show = i % step == 0;
    }
    if (!show) continue;
    s.line(x(i), s.h() - f.bottom, x(i), s.h() - f.bottom + 4, "#999");
    s.text(x(i), s.h() - f.bottom + 16, text, "middle", "tick");
  }
}

struct Series {
  std::string name, color, dash;
  std::vector<double> y;  // NaN = no point
};

std::string legend(const std::vector<std::pair<std::string, std::string>>& items) {
  std::ostringstream o;
  o << "<div class=\"legend\">";
  for (const auto& [name, color] : items)
    o << "<span><i style=\"background:" << color << "\"></i>" << esc(name) << "</span>";
  o << "</div>";
  return o.str();
}

// The values a log axis cannot show (0, or below), by series: "A at x1, x2; B at x3".
std::string unplottable_on_log(const std::vector<std::string>& xs, const std::vector<Series>& series) {
  std::string out;
  for (const auto& se : series) {
    std::string at_x;
    for (size_t i = 0; i < xs.size() && i < se.y.size(); ++i)
      if (std::isfinite(se.y[i]) && se.y[i] <= 0) at_x += (at_x.empty() ? "" : ", ") + xs[i];
    if (!at_x.empty()) out += (out.empty() ? "" : "; ") + se.name + " at " + at_x;
  }
  return out;
}

// Lines over a category axis. log: log10 y. A value of 0 has no place on a log axis: its line
// is broken there (a gap, never a clamp or a plunge), a hollow mark sits on the x axis, and a
// note under the chart (class gap-note) lists them. NaN (no value) is a gap without a note.
std::string line_chart(const std::vector<std::string>& xs, const std::vector<Series>& series, bool log, const std::string& label,
                       const Axes& axes, int w = 560, int h = 300, bool points = true) {
  Svg s(w, h, label);
  Frame f;
  axis_titles(s, f, axes);
  const std::string gaps = log ? unplottable_on_log(xs, series) : "";
  const std::string gap_note =
      gaps.empty() ? "" : "<p class=\"gap-note\">Log scale: a value of 0 cannot be drawn, so its line has a gap there (hollow mark "
                          "on the x axis): " + esc(gaps) + ".</p>";
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& se : series)
    for (double v : se.y)
      if (std::isfinite(v) && (!log || v > 0)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!std::isfinite(lo)) {
    s.text(w / 2.0, h / 2.0, "no data", "middle", "muted");
    return s.str() + gap_note;
  }
  Scale y;
  std::vector<double> ticks;
  if (log) {
    lo = std::pow(10, std::floor(std::log10(lo)));
    hi = std::pow(10, std::ceil(std::log10(hi)));
    if (hi <= lo) hi = lo * 10;
    ticks = log_ticks(lo, hi);
  } else {
    lo = std::min(lo, 0.0);
    ticks = nice_ticks(lo, hi * 1.05);
    hi = std::max(hi * 1.05, ticks.back());  // headroom: the top point is not on the frame
  }
  y = Scale{lo, hi, h - f.bottom, f.top, log};
  y_axis(s, f, y, ticks, axes.tick);
  const size_t n = xs.size();
  auto x = [&](size_t i) { return n <= 1 ? (f.left + w - f.right) / 2 : f.left + 10 + double(i) / double(n - 1) * (w - f.left - f.right - 20); };
  x_labels(s, f, xs, x);
  auto drawable = [&](double v) { return std::isfinite(v) && (!log || v > 0); };
  for (const auto& se : series) {
    std::vector<std::pair<double, double>> run;
    auto flush = [&] {
      if (run.size() > 1) s.polyline(run, se.color, 2.2, se.name, se.dash);
      run.clear();
    };
    for (size_t i = 0; i < n && i < se.y.size(); ++i) {
      if (!drawable(se.y[i])) {
        flush();
        continue;
      }
      run.emplace_back(x(i), y(se.y[i]));
    }
    flush();
    for (size_t i = 0; i < n && i < se.y.size(); ++i) {
      const double v = se.y[i];
      if (drawable(v) && points && n <= 40) s.circle(x(i), y(v), 3, se.color, se.name + ", " + xs[i] + ": " + axes.tip(v));
      if (log && std::isfinite(v) && v <= 0)
        s.circle(x(i), h - f.bottom, 3.5, "#fff", se.name + ", " + xs[i] + ": " + axes.tip(v) + " (not drawable on a log scale)", se.color);
    }
  }
  return s.str() + gap_note;
}

// Stacked shares (0..1) over a category axis: an area when there are many slots, columns otherwise.
std::string stacked_share_chart(const std::vector<std::string>& xs, const std::vector<Series>& layers, const std::string& label,
                                const Axes& axes, int w = 560, int h = 300) {
  Svg s(w, h, label);
  Frame f;
  axis_titles(s, f, axes);
  Scale y{0, 1, h - f.bottom, f.top};
  y_axis(s, f, y, {0, 0.25, 0.5, 0.75, 1}, [](double v) { return pct(v); });
  const size_t n = xs.size();
  if (n == 0) {
    s.text(w / 2.0, h / 2.0, "no data", "middle", "muted");
    return s.str();
  }
  const double plot_w = w - f.left - f.right;
  if (n >= 8) {
    auto x = [&](size_t i) { return f.left + double(i) / double(n - 1) * plot_w; };
    std::vector<double> base(n, 0);
    for (const auto& L : layers) {
      std::vector<std::pair<double, double>> pts;
      std::vector<double> top(n);
      for (size_t i = 0; i < n; ++i) top[i] = base[i] + (std::isfinite(L.y[i]) ? L.y[i] : 0);
      for (size_t i = 0; i < n; ++i) pts.emplace_back(x(i), y(std::min(1.0, top[i])));
      for (size_t i = n; i-- > 0;) pts.emplace_back(x(i), y(std::min(1.0, base[i])));
      double mean = 0;
      for (size_t i = 0; i < n; ++i) mean += top[i] - base[i];
      s.polygon(pts, L.color, L.name + ": mean share " + pct(mean / double(n)));
      base = top;
    }
    x_labels(s, f, xs, x);
  } else {
    const double slot = plot_w / double(n), bw = std::min(60.0, slot * 0.7);
    auto x = [&](size_t i) { return f.left + slot * (double(i) + 0.5); };
    for (size_t i = 0; i < n; ++i) {
      double b = 0;
      for (const auto& L : layers) {
        const double v = std::isfinite(L.y[i]) ? L.y[i] : 0;
        s.rect(x(i) - bw / 2, y(std::min(1.0, b + v)), bw, y(b) - y(std::min(1.0, b + v)), L.color, L.name + ", " + xs[i] + ": " + pct(v));
        b += v;
      }
    }
    x_labels(s, f, xs, x);
  }
  return s.str();
}

// Grouped/stacked vertical columns of absolute values.
// annotations: a label over each column; a second line (when given) goes above it, smaller.
std::string stacked_columns(const std::vector<std::string>& xs, const std::vector<Series>& layers, const std::string& label,
                            const Axes& axes, const std::vector<std::string>& annotations,
                            const std::vector<std::string>& annotations_above = {}, int w = 560, int h = 300) {
  Svg s(w, h, label);
  Frame f;
  f.top = annotations_above.empty() ? 22 : 34;
  axis_titles(s, f, axes);
  const size_t n = xs.size();
  double hi = 0;
  for (size_t i = 0; i < n; ++i) {
    double t = 0;
    for (const auto& L : layers) t += std::isfinite(L.y[i]) ? L.y[i] : 0;
    hi = std::max(hi, t);
  }
  if (n == 0 || hi <= 0) {
    s.text(w / 2.0, h / 2.0, "no data", "middle", "muted");
    return s.str();
  }
  const auto ticks = nice_ticks(0, hi * 1.05);
  Scale y{0, std::max(hi, ticks.back()), h - f.bottom, f.top};
  y_axis(s, f, y, ticks, axes.tick);
  const double plot_w = w - f.left - f.right, slot = plot_w / double(n), bw = std::min(48.0, slot * 0.7);
  auto x = [&](size_t i) { return f.left + slot * (double(i) + 0.5); };
  for (size_t i = 0; i < n; ++i) {
    double b = 0;
    for (const auto& L : layers) {
      const double v = std::isfinite(L.y[i]) ? L.y[i] : 0;
      s.rect(x(i) - bw / 2, y(b + v), bw, y(b) - y(b + v), L.color, L.name + ", " + xs[i] + ": " + axes.tip(v));
      b += v;
    }
    if (i < annotations.size() && !annotations[i].empty()) s.text(x(i), y(b) - 5, annotations[i], "middle", "note");
    if (i < annotations_above.size() && !annotations_above[i].empty())
      s.text(x(i), y(b) - 17, annotations_above[i], "middle", "note-small");
  }
  x_labels(s, f, xs, x, 14);
  return s.str();
}

struct HBar {
  std::string label;
  std::vector<double> parts;
  std::string note;
};

std::string hbar_chart(const std::vector<HBar>& bars, const std::vector<std::pair<std::string, std::string>>& parts,
                       const std::string& label, const Axes& axes, int w = 1120) {
  const int row = 26, h = int(bars.size()) * row + 52;
  Svg s(w, h, label);
  const double left = 330, right = 250;
  double hi = 0;
  for (const auto& b : bars) {
    double t = 0;
    for (double v : b.parts) t += v;
    hi = std::max(hi, t);
  }
  if (bars.empty() || hi <= 0) {
    s.text(w / 2.0, h / 2.0, "no data", "middle", "muted");
    return s.str();
  }
  const auto ticks = nice_ticks(0, hi);
  Scale x{0, std::max(hi, ticks.back()), left, w - right};
  for (double t : ticks) {
    s.line(x(t), 8, x(t), h - 40, "#e6e6e6");
    s.text(x(t), h - 24, axes.tick(t), "middle", "tick");
  }
  s.x_title((left + w - right) / 2, axes.x);
  s.y_title((8 + h - 40) / 2.0, axes.y);
  for (size_t i = 0; i < bars.size(); ++i) {
    const double y0 = 10 + double(i) * row;
    std::string l = bars[i].label;
    if (l.size() > 48) l = l.substr(0, 47) + "\u2026";
    s.text(left - 8, y0 + 15, l, "end", "label");
    double b = 0;
    for (size_t k = 0; k < bars[i].parts.size() && k < parts.size(); ++k) {
      const double v = bars[i].parts[k];
      s.rect(x(b), y0 + 3, x(b + v) - x(b), row - 8, parts[k].second, bars[i].label + ": " + axes.tip(v) + " " + parts[k].first);
      b += v;
    }
    s.text(x(b) + 6, y0 + 15, bars[i].note, "start", "note");
  }
  return s.str();
}

// ---- sections ---------------------------------------------------------------------------------
std::string card(const std::string& title, const std::string& subtitle, const std::string& body, bool wide = false) {
  std::ostringstream o;
  o << "<section class=\"card" << (wide ? " wide" : "") << "\"><h2>" << esc(title) << "</h2>";
  if (!subtitle.empty()) o << "<p class=\"sub\">" << subtitle << "</p>";
  o << body << "</section>";
  return o.str();
}

std::string tile(const std::string& value, const std::string& label) {
  return "<div class=\"tile\"><b>" + esc(value) + "</b><span>" + esc(label) + "</span></div>";
}

// The units of the concentration objects, for the x axis title: "models, authors or families".
std::string units_phrase(const json& conc) {
  std::vector<std::string> names;
  for (auto it = conc.begin(); it != conc.end(); ++it) names.push_back(plural(it.key()));
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return out;
}

std::string lorenz_section(const json& doc) {
  const json& conc = at(doc, "concentration");
  if (!conc.is_object() || conc.empty()) return "";
  const MeasureText measure = measure_text(str(at(doc, "measure")));
  Svg s(420, 430, "Lorenz curves");
  Frame f{58, 14, 14, 46};
  Scale x{0, 1, f.left, 420 - f.right}, y{0, 1, 430 - f.bottom, f.top};
  for (double t : {0.0, 0.25, 0.5, 0.75, 1.0}) {
    s.line(x(t), y(0), x(t), y(1), "#eee");
    s.line(x(0), y(t), x(1), y(t), "#eee");
    s.text(x(t), 430 - f.bottom + 16, pct(t), "middle", "tick");
    s.text(f.left - 6, y(t) + 4, pct(t), "end", "tick");
  }
  s.x_title(x(0.5), "share of " + units_phrase(conc) + ", smallest total first");
  s.y_title(y(0.5), "cumulative share of " + measure.label);
  s.line(x(0), y(0), x(1), y(1), "#999", 1, "stroke-dasharray=\"4 4\"");
  std::vector<std::pair<std::string, std::string>> items;
  std::ostringstream tiles;
  int ci = 0;
  for (auto it = conc.begin(); it != conc.end(); ++it, ++ci) {
    const std::string color = kPalette[ci % kPaletteSize];
    std::vector<std::pair<double, double>> pts;
    for (const auto& p : at(*it, "lorenz"))
      if (p.is_array() && p.size() == 2) pts.emplace_back(x(num(p[0], 0)), y(num(p[1], 0)));
    const double gini = num(at(*it, "gini"));
    s.polyline(pts, color, 2.5, it.key() + ": Gini " + f2(gini, "%.3f"));
    items.emplace_back(it.key() + " (Gini " + f2(gini, "%.3f") + ", n " + count_of(at(*it, "n")) + ")", color);
    if (it.key() == (conc.contains("model") ? std::string("model") : conc.begin().key())) {
      const std::string units = plural(it.key());
      tiles << tile(f2(gini, "%.3f"), "Gini over " + it.key() + " totals");
      const json& top = at(*it, "top_k");
      for (const char* k : {"1", "10", "100"})
        if (at(top, k).is_number())
          tiles << tile(pct(num(at(top, k))), std::string("share of the top ") + k + " " + (std::string(k) == "1" ? it.key() : units));
      const json& below = at(*it, "below");
      for (auto b = below.begin(); b != below.end(); ++b)
        tiles << tile(pct(num(at(*b, "fraction"))),
                      units + " below " + report::group_thousands(b.key()) + " " + measure.label + " (" + count_of(at(*b, "count")) + ")");
    }
  }
  std::string body = "<div class=\"row\"><div class=\"fig\" style=\"max-width:420px\">" + s.str() + legend(items) + "</div><div class=\"tiles\">" + tiles.str() + "</div></div>";
  return card("Who gets the downloads: Lorenz curves",
              "Cumulative share of " + esc(measure.definition) +
                  " held by the smallest units; the further from the diagonal, the more concentrated.",
              body);
}

// Share over time of one group from share.<group>_x_month (and _x_year).
std::string share_time_section(const json& doc, const std::string& group, const std::string& title) {
  const json& share = at(doc, "share");
  const json& rows = at(share, (group + "_x_month").c_str());
  const json& info = at(at(doc, "share_info"), (group + "_x_month").c_str());
  if (!rows.is_array() || rows.empty()) return "";
  std::vector<std::string> months;
  std::map<std::string, size_t> month_index;
  std::vector<double> month_total;
  for (const auto& m : at(info, "months")) {
    month_index[str(at(m, "month"))] = months.size();
    months.push_back(str(at(m, "month")));
    month_total.push_back(num(at(m, "total"), 0));
  }
  if (months.empty()) return "";
  std::map<std::string, double> key_total;
  for (const auto& r : rows) key_total[str(at(r, "key"))] += num(at(r, "downloads"), 0);
  std::vector<std::pair<double, std::string>> order;
  for (const auto& [k, v] : key_total)
    if (k != "unknown") order.emplace_back(-v, k);
  std::sort(order.begin(), order.end());
  const size_t K = std::min<size_t>(order.size(), 8);
  std::vector<std::string> keys;
  for (size_t i = 0; i < K; ++i) keys.push_back(order[i].second);
  const bool has_unknown = key_total.count("unknown") > 0;
  std::vector<Series> layers;
  for (size_t i = 0; i < K; ++i) layers.push_back({keys[i], kPalette[i % kPaletteSize], "", std::vector<double>(months.size(), 0)});
  layers.push_back({"other", kOther, "", std::vector<double>(months.size(), 0)});
  if (has_unknown) layers.push_back({"unknown", kUnknown, "", std::vector<double>(months.size(), 0)});
  std::vector<double> listed(months.size(), 0);
  for (const auto& r : rows) {
    auto mi = month_index.find(str(at(r, "month")));
    if (mi == month_index.end()) continue;
    const std::string k = str(at(r, "key"));
    const double d = num(at(r, "downloads"), 0);
    const double t = month_total[mi->second];
    if (t <= 0) continue;
    size_t li = K;  // other
    if (k == "unknown" && has_unknown) li = K + 1;
    else
      for (size_t i = 0; i < K; ++i)
        if (keys[i] == k) li = i;
    if (li != K) {
      layers[li].y[mi->second] += d / t;
      listed[mi->second] += d;
    }
  }
  for (size_t i = 0; i < months.size(); ++i) layers[K].y[i] = month_total[i] > 0 ? std::max(0.0, 1 - listed[i] / month_total[i]) : 0;
  std::vector<std::pair<std::string, std::string>> items;
  for (const auto& L : layers) items.emplace_back(L.name, L.color);
  std::string body = "<div class=\"row\"><div class=\"fig\" style=\"max-width:680px\"><h3>per month</h3>" + stacked_share_chart(months, layers, title + " per month", Axes{"month of download", "share of the month's downloads"}, 680) + "</div>";

  // Per year, same keys and colours.
  const json& yrows = at(share, (group + "_x_year").c_str());
  const json& yinfo = at(at(doc, "share_info"), (group + "_x_year").c_str());
  if (yrows.is_array() && !yrows.empty()) {
    std::vector<std::string> years;
    std::map<int, size_t> yi;
    std::vector<double> ytot;
    for (const auto& y : at(yinfo, "years")) {
      yi[int(num(at(y, "year"), 0))] = years.size();
      years.push_back(std::to_string(int(num(at(y, "year"), 0))));
      ytot.push_back(num(at(y, "total"), 0));
    }
    std::vector<Series> yl = layers;
    for (auto& L : yl) L.y.assign(years.size(), 0);
    std::vector<double> ylisted(years.size(), 0);
    for (const auto& r : yrows) {
      auto it = yi.find(int(num(at(r, "year"), 0)));
      if (it == yi.end() || ytot[it->second] <= 0) continue;
      const std::string k = str(at(r, "key"));
      size_t li = K;
      if (k == "unknown" && has_unknown) li = K + 1;
      else
        for (size_t i = 0; i < K; ++i)
          if (keys[i] == k) li = i;
      if (li != K) {
        yl[li].y[it->second] += num(at(r, "downloads"), 0) / ytot[it->second];
        ylisted[it->second] += num(at(r, "downloads"), 0);
      }
    }
    for (size_t i = 0; i < years.size(); ++i) yl[K].y[i] = ytot[i] > 0 ? std::max(0.0, 1 - ylisted[i] / ytot[i]) : 0;
    body += "<div class=\"fig\" style=\"max-width:380px\"><h3>per year</h3>" + stacked_share_chart(years, yl, title + " per year", Axes{"year of download", "share of the year's downloads"}, 380, 300) + "</div>";
  }
  body += "</div>" + legend(items);
  return card(title, "Share of each month's (and year's) downloads; <i>unknown</i> = not attributed.", body, true);
}

std::string families_section(const json& doc) {
  const json& fams = at(at(doc, "lineage"), "families");
  if (!fams.is_array() || fams.empty()) return "";
  static const char* rel[] = {"finetune", "adapter", "quantized", "merge", "unknown"};
  static const char* rel_color[] = {"#4e79a7", "#59a14f", "#f28e2b", "#b07aa1", "#bab0ac"};
  const MeasureText measure = measure_text(str(at(doc, "measure")));
  std::vector<HBar> bars;
  for (size_t i = 0; i < fams.size() && i < 12; ++i) {
    const json& f = fams[i];
    HBar b;
    b.label = str(at(f, "root"));
    for (const char* r : rel) b.parts.push_back(num(at(at(f, "by_relation"), r), 0));
    const double d = num(at(f, "descendants"), 0);
    b.note = count_of(at(f, "descendants")) + (d == 1 ? " derivative, " : " derivatives, ") + pct(num(at(f, "share"), 0)) + " of " +
             measure.label;
    bars.push_back(b);
  }
  std::vector<std::pair<std::string, std::string>> parts;
  for (int k = 0; k < 5; ++k) parts.emplace_back(rel[k], rel_color[k]);
  std::string body = hbar_chart(bars, parts, "Top families by derivatives", Axes{"derivatives (descendant models)", "family root"}) +
                     legend(parts);
  const json& L = at(doc, "lineage");
  std::string sub = "Descendants of each family root (distinct models reaching it through any base-model edge), split by their relation "
                    "to their own base. " +
                    count_of(at(L, "nodes")) + " models, " + count_of(at(L, "edges")) + " edges, " +
                    count_of(at(L, "families_total")) + " families.";
  return card("Top families and their derivatives", sub, body, true);
}

std::string size_section(const json& doc) {
  const json& z = at(at(doc, "study"), "size");
  if (!z.is_object()) return "";
  const json& by = at(z, "by_year");
  std::string body = "<div class=\"row\">";
  std::vector<std::string> years;
  Series wm{"download-weighted mean", kPalette[0], "", {}}, wmed{"download-weighted median", kPalette[1], "", {}},
      um{"unweighted median", kPalette[2], "5 4", {}};
  for (const auto& r : by) {
    years.push_back(std::to_string(int(num(at(r, "year"), 0))));
    wm.y.push_back(num(at(r, "weighted_mean")));
    wmed.y.push_back(num(at(r, "weighted_median")));
    um.y.push_back(num(at(r, "median")));
  }
  if (!years.empty()) {
    body += "<div class=\"fig\" style=\"max-width:560px\"><h3>parameters of the models downloaded, per year</h3>" +
            line_chart(years, {wm, wmed, um}, true, "Model size per year",
                       Axes{"year of download", "parameters (log scale)", human, human}) +
            legend({{wm.name, wm.color}, {wmed.name, wmed.color}, {um.name, um.color}}) + "</div>";
    std::vector<Series> layers;
    const json& labels = at(z, "buckets");
    for (size_t b = 0; b < labels.size(); ++b) {
      const std::string name = str(labels[b]);
      Series L{name, name == "unknown" ? kUnknown : kPalette[(b + 3) % kPaletteSize], "", {}};
      for (const auto& r : by) {
        double v = NAN;
        for (const auto& x : at(r, "buckets"))
          if (str(at(x, "bucket")) == name) v = num(at(x, "share"));
        L.y.push_back(v);
      }
      layers.push_back(L);
    }
    std::vector<std::pair<std::string, std::string>> items;
    for (const auto& L : layers) items.emplace_back(L.name, L.color);
    body += "<div class=\"fig\" style=\"max-width:460px\"><h3>share of downloads by size</h3>" +
            stacked_share_chart(years, layers, "Share by size bucket per year", Axes{"year of download", "share of the year's downloads"}, 460) +
            legend(items) + "</div>";
  }
  body += "</div>";
  const json& o = at(z, "overall");
  const std::string weights = measure_text(str(at(doc, "measure"))).label;  // overall: the unit totals of the measure
  body += "<div class=\"tiles\">" + tile(human(num(at(o, "weighted_mean"))), "weighted mean, by " + weights) +
          tile(human(num(at(o, "weighted_median"))), "weighted median, by " + weights) +
          tile(count_of(at(z, "models_with_size")) + " / " + count_of(at(z, "models")), "models with a parameter count") +
          tile(pct(num(at(o, "downloads"), 0) > 0 ? num(at(o, "downloads_with_size"), 0) / num(at(o, "downloads"), 1) : NAN),
               "of " + weights + " with a known size") +
          "</div>";
  return card("Model size over time",
              "Parameter count of the models downloaded each year, weighted by their downloads that year (log scale).", body, true);
}

// How much of each calendar year the growth axis (study.growth.months, "YYYY-MM", consecutive)
// covers. The axis runs from the first creation month to the last month of creations or
// downloads, so its first and last years can be partial; `last_year_months` says the same of
// the last year and stands in when the months are absent.
struct YearSpan {
  int first = 13, last = 0;  // months 1..12
  int months() const { return last >= first ? last - first + 1 : 12; }
  bool partial() const { return months() < 12; }
};
const char* const kMonthNames[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

std::vector<YearSpan> year_spans(const json& growth, const std::vector<int>& years) {
  std::map<int, YearSpan> by_year;
  for (const auto& m : at(growth, "months")) {
    const std::string t = str(m);
    if (t.size() != 7 || t[4] != '-') continue;
    YearSpan& y = by_year[std::atoi(t.substr(0, 4).c_str())];
    const int month = std::atoi(t.substr(5, 2).c_str());
    y.first = std::min(y.first, month), y.last = std::max(y.last, month);
  }
  std::vector<YearSpan> out;
  for (int y : years) out.push_back(by_year.count(y) ? by_year[y] : YearSpan{});
  const int last_months = int(num(at(growth, "last_year_months"), 12));
  if (!out.empty() && by_year.empty() && last_months >= 1 && last_months < 12) out.back() = YearSpan{1, last_months};
  return out;
}

std::string factor_text(double f) { return "x" + f2(f, f >= 10 ? "%.0f" : f >= 1 ? "%.1f" : "%.2g"); }

std::string growth_section(const json& doc) {
  const json& g = at(at(doc, "study"), "growth");
  if (!g.is_object() || !at(g, "computed").is_boolean() || !at(g, "computed").get<bool>()) return "";
  std::vector<std::string> months, years;
  std::vector<int> year_numbers;
  for (const auto& m : at(g, "months")) months.push_back(str(m));
  for (const auto& y : at(g, "years")) year_numbers.push_back(int(num(y, 0)));
  const std::vector<YearSpan> spans = year_spans(g, year_numbers);
  std::string partial_note;
  for (size_t i = 0; i < year_numbers.size(); ++i) {
    years.push_back(std::to_string(year_numbers[i]));
    if (!spans[i].partial()) continue;
    const int n = spans[i].months();
    partial_note += std::string(partial_note.empty() ? "" : ", ") + years[i] + " covers " + kMonthNames[spans[i].first - 1] +
                    (n > 1 ? std::string("–") + kMonthNames[spans[i].last - 1] : "") + " (" + std::to_string(n) +
                    (n == 1 ? " month)" : " months)");
    years[i] += " (" + std::to_string(n) + " mo)";
  }
  std::string years_note;
  if (!partial_note.empty())
    years_note = " Partial years: " + partial_note + " of data; a year-over-year factor marked <i>partial</i> compares spans of "
                 "unequal length.";
  std::string body = "<div class=\"row\">";
  // Cumulative repositories per organisation (all kinds together).
  auto cumulative_by_key = [&](const json& rows, size_t limit, bool split_kind) {
    std::map<std::string, std::vector<double>> acc;
    std::map<std::string, double> tot;
    for (const auto& r : rows) {
      std::string k = str(at(r, "key"));
      if (split_kind) k += " (" + str(at(r, "kind")) + ")";
      auto& v = acc[k];
      v.resize(months.size(), 0);
      const json& c = at(r, "cumulative");
      for (size_t i = 0; i < months.size() && i < c.size(); ++i) v[i] += num(c[i], 0);
      tot[k] += num(at(r, "total"), 0);
    }
    std::vector<std::pair<double, std::string>> order;
    for (const auto& [k, t] : tot) order.emplace_back(-t, k);
    std::sort(order.begin(), order.end());
    std::vector<Series> out;
    for (size_t i = 0; i < order.size() && i < limit; ++i) {
      const std::string& k = order[i].second;
      out.push_back({k, k.rfind("unknown", 0) == 0 ? kUnknown : kPalette[i % kPaletteSize], "", acc[k]});
    }
    return out;
  };
  const json& by = at(g, "by_group");
  const json& org_rows = at(at(by, "organisation"), "rows");
  if (org_rows.is_array() && !org_rows.empty()) {
    auto series = cumulative_by_key(org_rows, 8, false);
    std::vector<std::pair<std::string, std::string>> items;
    for (const auto& s : series) items.emplace_back(s.name, s.color);
    body += "<div class=\"fig\" style=\"max-width:540px\"><h3>repositories per organisation (cumulative)</h3>" +
            line_chart(months, series, false, "Growth per organisation",
                       Axes{"creation month", "repositories (cumulative)"}, 540, 300, false) +
            legend(items) + "</div>";
  }
  // Created per year, by kind, with the year-over-year factor of all kinds; a factor of or
  // against a partial year says so above it.
  {
    std::vector<Series> layers;
    std::vector<std::string> notes, partial_marks;
    int ci = 0;
    for (const auto& s : at(g, "totals")) {
      if (str(at(s, "kind")) == "all") {
        for (const auto& y : at(s, "yoy")) {
          const size_t i = notes.size();
          notes.push_back(y.is_string() ? str(y) : y.is_number() ? factor_text(num(y)) : "");
          const bool own = i < spans.size() && spans[i].partial(), prev = i > 0 && i - 1 < spans.size() && spans[i - 1].partial();
          partial_marks.push_back(notes.back().empty() ? "" : own ? "partial" : prev ? "vs partial" : "");
        }
        continue;
      }
      Series L{str(at(s, "kind")), kPalette[(ci++ * 2) % kPaletteSize], "", {}};
      for (const auto& v : at(s, "yearly")) L.y.push_back(num(v, 0));
      layers.push_back(L);
    }
    std::vector<std::pair<std::string, std::string>> items;
    for (const auto& L : layers) items.emplace_back(L.name, L.color);
    body += "<div class=\"fig\" style=\"max-width:500px\"><h3>repositories created per year (label: year-over-year factor)</h3>" +
            stacked_columns(years, layers, "Repositories created per year", Axes{"creation year", "repositories created"}, notes,
                            partial_marks, 500) +
            legend(items) + "</div>";
  }
  body += "</div>";
  const json& tag_rows = at(at(by, "tag_category"), "rows");
  if (tag_rows.is_array() && !tag_rows.empty()) {
    auto series = cumulative_by_key(tag_rows, 8, true);
    std::vector<std::pair<std::string, std::string>> items;
    for (const auto& s : series) items.emplace_back(s.name, s.color);
    body += "<h3>repositories per tag category (cumulative)</h3>" +
            line_chart(months, series, false, "Growth per tag category",
                       Axes{"creation month", "repositories (cumulative)"}, 1100, 260, false) +
            legend(items);
  }
  return card("Growth", "Repositories created, by the creation date of their records." + years_note, body, true);
}

std::string adoption_section(const json& doc) {
  const json& a = at(at(doc, "study"), "adoption");
  if (!a.is_object() || !at(a, "computed").is_boolean() || !at(a, "computed").get<bool>()) return "";
  std::vector<std::string> ages;
  std::map<std::string, Series> by_class;
  std::vector<std::string> class_order;
  for (const auto& c : at(a, "classes")) {
    const std::string cl = str(at(c, "class"));
    const std::string age = std::to_string(int(num(at(c, "age"), 0))) + " d";
    if (std::find(ages.begin(), ages.end(), age) == ages.end()) ages.push_back(age);
    if (!by_class.count(cl)) {
      by_class[cl] = {cl, kPalette[(class_order.size() + 3) % kPaletteSize], "", {}};
      class_order.push_back(cl);
    }
    by_class[cl].y.push_back(num(at(c, "v1")));
  }
  std::vector<Series> series;
  std::vector<std::pair<std::string, std::string>> items;
  for (const auto& c : class_order) {
    series.push_back(by_class[c]);
    items.emplace_back(c, by_class[c].color);
  }
  std::ostringstream table;
  const json& cr = at(a, "class_ratio");
  table << "<table><tr><th>age</th><th>" << esc(str(at(cr, "numerator"))) << " v1</th><th>" << esc(str(at(cr, "denominator")))
        << " v1</th><th>ratio</th></tr>";
  for (const auto& r : at(cr, "by_age"))
    table << "<tr><td>" << int(num(at(r, "age"), 0)) << " d</td><td>" << number(num(at(r, "numerator_v1"))) << "</td><td>"
          << number(num(at(r, "denominator_v1"))) << "</td><td>" << (at(r, "ratio").is_number() ? f2(num(at(r, "ratio")), "%.3g") : "-")
          << "</td></tr>";
  table << "</table>";
  std::string body = "<div class=\"row\"><div class=\"fig\" style=\"max-width:560px\">" +
                     line_chart(ages, series, true, "Median of the top models per size class by age",
                                Axes{"age since creation (days)",
                                     "downloads so far, top-" + std::to_string(int(num(at(a, "top"), 10))) + " median (log)"}) +
                     legend(items) + "</div><div><h3>class ratio of the top-" + std::to_string(int(num(at(a, "top"), 10))) +
                     " medians</h3>" + table.str() + "</div></div>";
  return card("Relative adoption",
              "Cumulative downloads at each age since creation: the median of the top models of each size class (v1, log scale).",
              body, true);
}

std::string months_text(double v) { return f2(v, "%.1f"); }

std::string lifetime_section(const json& doc) {
  const json& l = at(at(doc, "study"), "lifetime");
  if (!l.is_object() || !at(l, "computed").is_boolean() || !at(l, "computed").get<bool>()) return "";
  std::vector<std::string> years;
  Series above{"months at or above f x peak (mean)", kPalette[0], "", {}}, decay{"months from peak to first fall (mean)", kPalette[1], "", {}};
  for (const auto& r : at(l, "by_release_year")) {
    years.push_back(std::to_string(int(num(at(r, "release_year"), 0))));
    above.y.push_back(num(at(at(r, "months_above"), "mean")));
    decay.y.push_back(num(at(at(r, "decay_months"), "mean")));
  }
  const json& o = at(l, "overall");
  std::string body = "<div class=\"row\"><div class=\"fig\" style=\"max-width:540px\"><h3>by release year</h3>" +
                     line_chart(years, {above, decay}, false, "Engagement lifetime by release year",
                                Axes{"release year", "months (mean over the models)", months_text, months_text}, 540) +
                     legend({{above.name, above.color}, {decay.name, decay.color}}) + "</div><div class=\"tiles\">" +
                     tile(count_of(at(o, "models")), "models with a series") +
                     tile(f2(num(at(at(o, "months_above"), "median")), "%.1f"), "median months at or above f x peak") +
                     tile(f2(num(at(at(o, "decay_months"), "median")), "%.1f"), "median months from peak to the first fall") +
                     tile(count_of(at(o, "censored")), "still above f x peak at the end") + "</div></div>";
  std::ostringstream t;
  t << "<table><tr><th>model</th><th>released</th><th>peak</th><th>peak month</th><th>months above</th><th>decay</th></tr>";
  int shown = 0;
  for (const auto& m : at(l, "models")) {
    if (shown++ >= 8) break;
    t << "<tr><td>" << esc(str(at(m, "id"))) << "</td><td>" << esc(str(at(m, "release"))) << "</td><td>" << count_of(at(m, "peak"))
      << "</td><td>" << esc(str(at(m, "peak_month"))) << "</td><td>" << int(num(at(m, "months_above"), 0)) << "</td><td>"
      << (at(m, "decay_months").is_number() ? std::to_string(int(num(at(m, "decay_months")))) : "censored") << "</td></tr>";
  }
  t << "</table>";
  body += t.str();
  return card("Engagement lifetime",
              "From monthly download series, with f = " + f2(num(at(l, "fraction"), 0.5), "%g") + " of each model's peak.", body, true);
}

const char* kCss = R"CSS(
*{box-sizing:border-box}body{margin:0;font:14px/1.45 -apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif;color:#222;background:#f4f5f7}
header{background:#1f2d3d;color:#fff;padding:22px 32px}header h1{margin:0 0 4px;font-size:24px}header p{margin:0;color:#c8d1dc}
main{display:flex;flex-wrap:wrap;gap:18px;padding:18px 32px 40px}
.card{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:16px 20px;flex:1 1 520px;max-width:100%}
.card.wide{flex-basis:100%}.card h2{margin:0 0 2px;font-size:18px}.card h3{margin:10px 0 4px;font-size:13px;color:#555;font-weight:600}
.sub{margin:0 0 8px;color:#666;font-size:13px}.fig{flex:1 1 auto;min-width:0}.card>.tiles{margin-top:14px}.row{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
.legend{display:flex;flex-wrap:wrap;gap:6px 14px;font-size:12px;color:#333;margin:6px 0 0}.legend i{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.tiles{display:flex;flex-wrap:wrap;gap:10px;align-content:flex-start;max-width:500px}.tile{background:#f0f4f9;border-radius:6px;padding:10px 14px;min-width:120px}
.tile b{display:block;font-size:20px;color:#1f2d3d}.tile span{font-size:12px;color:#555}
svg{max-width:100%;height:auto;display:block}svg text{font-size:11px;fill:#444}svg .tick{fill:#666}svg .note{fill:#333;font-size:11px}
svg .label{fill:#222;font-size:12px}svg .muted{fill:#999;font-size:14px}svg .axis-title{fill:#444;font-size:11.5px;font-weight:600}
svg .note-small{fill:#b35900;font-size:10px;font-style:italic}.gap-note{margin:4px 0 0;font-size:12px;color:#8a4b00}
table{border-collapse:collapse;font-size:12.5px;margin-top:8px}th,td{padding:4px 10px;border-bottom:1px solid #eee;text-align:left}th{color:#555;font-weight:600}
footer{padding:0 32px 24px;color:#888;font-size:12px}
)CSS";

}  // namespace

namespace report {

std::string percent(double share) {
  if (!std::isfinite(share)) return "-";
  if (share == 0) return "0%";
  if (share == 1) return "100%";
  if (share < 0) return "-" + percent(-share);
  const double p = share * 100;
  std::string t = f2(p, p >= 10 ? "%.0f" : "%.1f");
  if (t == "100") t = f2(p, "%.1f");  // 99.5% .. 99.95% keep their decimal
  if (t == "100.0") return share < 1 ? ">99.9%" : ">100%";
  if (t == "0.0") return "<0.1%";
  return t + "%";
}

std::string group_thousands(const std::string& digits) {
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) return digits;
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string count(uint64_t n) { return group_thousands(std::to_string(n)); }

}  // namespace report

std::string results_report_html(const std::string& results_json, const std::string& title_in) {
  json doc;
  try {
    doc = json::parse(results_json);
  } catch (const std::exception& e) {
    throw Error(std::string("the results are not JSON: ") + e.what());
  }
  if (!doc.is_object() || str(at(doc, "schema")).rfind("ecostat.results/", 0) != 0)
    throw Error("not an ecostat results document (no \"schema\": \"ecostat.results/...\")");
  const std::string title = title_in.empty() ? "ecostat: the open-model ecosystem" : title_in;
  const json& in = at(doc, "input");
  const json& total = at(at(at(doc, "concentration"), "model"), "total");
  const MeasureText measure = measure_text(str(at(doc, "measure")));
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
    << "<title>" << esc(title) << "</title><style>" << kCss << "</style></head><body>";
  h << "<header><h1>" << esc(title) << "</h1><p>" << count_of(at(in, "units")) << " repositories and models, "
    << count_of(at(in, "download_records")) << " download records; " << (total.is_null() ? "-" : count_of(total)) << " "
    << esc(measure.definition) << "; computed on the " << esc(str(at(at(doc, "backend"), "name"))) << " backend ("
    << esc(str(at(at(doc, "backend"), "device"))) << ").</p></header><main>";
  h << lorenz_section(doc);
  h << share_time_section(doc, "country", "Share over time by country");
  h << share_time_section(doc, "org_type", "Share over time by organisation type");
  h << families_section(doc);
  h << size_section(doc);
  h << growth_section(doc);
  h << adoption_section(doc);
  h << lifetime_section(doc);
  h << "</main><footer>Generated by ecostat from a results document (schema " << esc(str(at(doc, "schema")))
    << "). Definitions: docs/metrics.md and docs/study-*.md. Hover a mark for its value.</footer></body></html>\n";
  return h.str();
}

}  // namespace ecostat
