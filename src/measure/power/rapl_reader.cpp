// RAPL through powercap: one cumulative energy_uj counter per package domain
// (intel-rapl:N; the same driver serves AMD). Sub-domains (intel-rapl:N:M,
// core/uncore/dram) are inside their package's counter and are not added;
// the "psys" domain covers the whole platform, packages included, so it is
// not added either. A counter wraps at max_energy_range_uj: every read is a
// difference against the previous one with the wrap undone.
#include "power_reader.h"

namespace inferlab::power {

namespace {

constexpr const char* kPowercap = "/sys/class/powercap";

struct Domain {
  std::string label;  // "package-0 (intel-rapl:0)"
  fs::path counter;
  std::uint64_t max_range_uj = 0;
  std::uint64_t last_raw_uj = 0;
};

class RaplReader final : public PowerReader {
 public:
  explicit RaplReader(const fs::path& root) {
    const fs::path dir = under_root(root, kPowercap);
    std::vector<std::string> problems;
    std::vector<std::string> skipped;
    for (const fs::path& zone : sorted_entries(dir, "intel-rapl:")) {
      const std::string id = zone.filename().string();
      if (id.find(':', std::string("intel-rapl:").size()) != std::string::npos) continue;  // sub-domain
      const std::string name = read_sysfs_line(zone / "name").value_or("?");
      if (name == "psys") {
        skipped.push_back(id + " (psys: the platform total, packages included)");
        continue;
      }
      Domain d;
      d.label = name + " (" + id + ")";
      d.counter = zone / "energy_uj";
      const auto first = read_sysfs_u64(d.counter);
      if (!first) {
        problems.push_back(d.counter.string() + ": " + unreadable_reason(d.counter));
        continue;
      }
      d.last_raw_uj = *first;
      d.max_range_uj = read_sysfs_u64(zone / "max_energy_range_uj").value_or(0);
      domains_.push_back(std::move(d));
    }
    if (!domains_.empty()) {
      std::string list;
      for (const auto& d : domains_) append_joined(list, ", ", d.label);
      describe_ = "RAPL " + list + " energy_uj counter(s) under " + dir.string();
      if (!skipped.empty()) describe_ += "; not added: " + skipped.front();
    } else if (!problems.empty()) {
      describe_ = "n/a: RAPL counter not readable: " + problems.front();
      if (problems.front().find("ermission") != std::string::npos) {
        describe_ += " (energy_uj is root-only since Linux 5.10)";
      }
    } else {
      describe_ = "n/a: no RAPL package domain (intel-rapl:N) under " + dir.string();
    }
  }

  std::string name() const override { return "rapl"; }
  bool available() const override { return !domains_.empty(); }
  std::string describe() const override { return describe_; }
  ReadMethod method() const override { return ReadMethod::kCounter; }

  std::optional<std::uint64_t> read_energy_uj() override {
    if (domains_.empty()) return std::nullopt;
    for (Domain& d : domains_) {
      const auto raw = read_sysfs_u64(d.counter);
      if (!raw) return std::nullopt;
      const auto delta = counter_delta(d.last_raw_uj, *raw, d.max_range_uj);
      if (!delta) return std::nullopt;
      d.last_raw_uj = *raw;
      total_uj_ += *delta;
    }
    return total_uj_;
  }

 private:
  std::vector<Domain> domains_;
  std::string describe_;
  std::uint64_t total_uj_ = 0;
};

}  // namespace

std::unique_ptr<PowerReader> make_rapl_reader(const fs::path& root) { return std::make_unique<RaplReader>(root); }

}  // namespace inferlab::power
