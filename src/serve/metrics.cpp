#include "inferlab/metrics.h"

#include <cmath>
#include <sstream>

#include "inferlab/error.h"

namespace inferlab {

namespace {

// Prometheus names: [a-zA-Z_:][a-zA-Z0-9_:]*; a bad name is a programming
// error in inferlab, but it must fail loudly rather than emit a page
// Prometheus rejects as a whole.
void check_name(const std::string& name) {
  bool ok = !name.empty();
  for (std::size_t i = 0; ok && i < name.size(); ++i) {
    char c = name[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    ok = alpha || (i > 0 && c >= '0' && c <= '9');
  }
  if (!ok) throw Error("metrics: invalid metric name '" + name + "'", ErrorKind::kRuntime);
}

std::string escape_label_value(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string escape_help(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::ostringstream out;
  out.precision(17);
  out << v;
  return out.str();
}

std::string label_block(const MetricLabels& labels, const std::string& extra_name = {},
                        const std::string& extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out += ',';
    out += name + "=\"" + escape_label_value(value) + "\"";
    first = false;
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name + "=\"" + escape_label_value(extra_value) + "\"";
  }
  return out + "}";
}

void atomic_add(std::atomic<double>& target, double delta) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + delta, std::memory_order_relaxed)) {
  }
}

}  // namespace

void MetricCounter::add(double amount) {
  if (amount > 0) atomic_add(value_, amount);
}

void MetricGauge::add(double delta) { atomic_add(value_, delta); }

MetricHistogram::MetricHistogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(upper_bounds_.size() + 1)) {
  for (std::size_t i = 1; i < upper_bounds_.size(); ++i) {
    if (!(upper_bounds_[i] > upper_bounds_[i - 1])) {
      throw Error("metrics: histogram bucket bounds must increase strictly", ErrorKind::kRuntime);
    }
  }
}

void MetricHistogram::observe(double value) {
  std::size_t i = 0;
  while (i < upper_bounds_.size() && value > upper_bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, value);
}

std::vector<double> default_latency_buckets_s() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0};
}

MetricsRegistry::Family& MetricsRegistry::family(const std::string& name, const std::string& help, Type type) {
  check_name(name);
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.type = type;
    it->second.help = help;
  } else if (it->second.type != type) {
    throw Error("metrics: '" + name + "' registered twice with different types", ErrorKind::kRuntime);
  }
  return it->second;
}

MetricCounter& MetricsRegistry::counter(const std::string& name, const std::string& help, const MetricLabels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family(name, help, Type::kCounter).counters[labels];
  if (!slot) slot = std::make_unique<MetricCounter>();
  return *slot;
}

MetricGauge& MetricsRegistry::gauge(const std::string& name, const std::string& help, const MetricLabels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family(name, help, Type::kGauge).gauges[labels];
  if (!slot) slot = std::make_unique<MetricGauge>();
  return *slot;
}

MetricHistogram& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                            std::vector<double> upper_bounds, const MetricLabels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family(name, help, Type::kHistogram).histograms[labels];
  if (!slot) slot = std::make_unique<MetricHistogram>(std::move(upper_bounds));
  return *slot;
}

std::string MetricsRegistry::render_prometheus() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, fam] : families_) {
    const char* type = fam.type == Type::kCounter ? "counter" : fam.type == Type::kGauge ? "gauge" : "histogram";
    out += "# HELP " + name + " " + escape_help(fam.help) + "\n";
    out += "# TYPE " + name + " " + type + "\n";
    for (const auto& [labels, c] : fam.counters)
      out += name + label_block(labels) + " " + format_value(c->value()) + "\n";
    for (const auto& [labels, g] : fam.gauges)
      out += name + label_block(labels) + " " + format_value(g->value()) + "\n";
    for (const auto& [labels, h] : fam.histograms) {
      // Read the buckets first and derive the count from them, so one
      // scrape is self-consistent while observe() runs concurrently.
      std::uint64_t cumulative = 0;
      const auto& bounds = h->upper_bounds();
      for (std::size_t i = 0; i <= bounds.size(); ++i) {
        cumulative += h->bucket_count(i);
        std::string le = i < bounds.size() ? format_value(bounds[i]) : "+Inf";
        out += name + "_bucket" + label_block(labels, "le", le) + " " + std::to_string(cumulative) + "\n";
      }
      out += name + "_sum" + label_block(labels) + " " + format_value(h->sum()) + "\n";
      out += name + "_count" + label_block(labels) + " " + std::to_string(cumulative) + "\n";
    }
  }
  return out;
}

}  // namespace inferlab
