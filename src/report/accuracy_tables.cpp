// Accuracy tables: the same grid as the bench tables (rows models, columns
// backends), filled from the accuracy fields of each row.
#include <cstdio>
#include <set>

#include "inferlab/report.h"
#include "report/table_grid.h"

namespace inferlab {

namespace {

using namespace report_detail;

std::string percent(double fraction) { return fixed(100.0 * fraction, 2); }

bool has_accuracy(const BenchResult& r) { return r.accuracy.has_value(); }

}  // namespace

BenchTables build_accuracy_tables(const std::vector<BenchResult>& results) {
  BenchTables out;
  out.title = "inferlab accuracy";
  if (results.empty()) return out;
  Grid grid(results);
  Footnotes notes;
  auto first = [](const BenchResult& r, const BenchResult* current) { return has_accuracy(r) && current == nullptr; };
  std::string dataset;
  for (const auto& r : results) {
    if (r.accuracy) dataset = r.accuracy->dataset;
  }
  const std::string on = dataset.empty() ? "" : " on " + dataset;

  out.tables.push_back(grid_table("Top-1 accuracy (%)" + on, results, grid, notes, first,
                                  [](const BenchResult& r, Footnotes&) { return percent(r.accuracy->top1); }));
  out.tables.push_back(grid_table("Top-5 accuracy (%)" + on, results, grid, notes, first,
                                  [](const BenchResult& r, Footnotes&) { return percent(r.accuracy->top5); }));
  std::string reference;
  for (const auto& r : results) {
    if (r.accuracy && !r.accuracy->agreement_reference.empty()) reference = r.accuracy->agreement_reference;
  }
  out.tables.push_back(grid_table("Top-1 agreement with " + (reference.empty() ? "the reference" : reference) + " (%)",
                                  results, grid, notes, first, [](const BenchResult& r, Footnotes&) {
                                    return r.accuracy->agreement_top1 ? percent(*r.accuracy->agreement_top1) : "-";
                                  }));
  out.tables.push_back(
      grid_table("Throughput, samples/s: inference (in Session::run) / loader (decode + preprocess, its threads)",
                 results, grid, notes, first, [](const BenchResult& r, Footnotes&) {
                   const auto& a = *r.accuracy;
                   return fixed(a.inference_samples_per_s, a.inference_samples_per_s < 100 ? 1 : 0) + " / " +
                          fixed(a.loader.samples_per_s, a.loader.samples_per_s < 100 ? 1 : 0);
                 }));

  out.footnotes = notes.lines();
  std::set<std::string> lines;
  for (const auto& r : results) {
    if (!r.accuracy) continue;
    const auto& a = *r.accuracy;
    char summary[512];
    std::snprintf(summary, sizeof summary,
                  "%s %s: %lld samples, %lld misclassified, batch %lld, %d engine thread(s), %d loader thread(s); "
                  "inference waited %.0f ms for data in %.2f s",
                  r.backend.c_str(), r.precision.c_str(), static_cast<long long>(a.samples),
                  static_cast<long long>(a.misclassified), static_cast<long long>(r.batch), r.threads, a.loader.threads,
                  a.loader.consumer_wait_ms, a.wall_s);
    out.footnotes.push_back(summary);
    if (a.corrupt_skipped > 0) {
      out.footnotes.push_back(r.backend + " " + r.precision + ": " + std::to_string(a.corrupt_skipped) +
                              " sample(s) could not be decoded and were skipped");
    }
    if (!a.contact_sheet.empty()) lines.insert("misclassified samples: " + a.contact_sheet);
    if (!r.model_form.empty()) lines.insert(r.backend + " ran " + r.model_form);
  }
  for (const auto& line : lines) out.footnotes.push_back(line);
  return out;
}

}  // namespace inferlab
