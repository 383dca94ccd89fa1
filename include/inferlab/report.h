#pragma once
/// @file report.h
/// Result tables in the reference study's layout (rows: models, columns:
/// backends) as terminal text and Markdown, and one-row-per-result CSV.

#include <string>
#include <vector>

#include "inferlab/result.h"

namespace inferlab {

/// A titled grid of cells; footnotes explain failed or flagged cells.
struct Table {
  std::string title;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

/// The bench tables: latency at batch 1, maximum throughput (sweep best, or
/// best measured batch), memory; plus footnotes with every failure's reason
/// and every output disagreement. Pure function of the results.
struct BenchTables {
  std::string title = "inferlab bench";  ///< the Markdown document's heading
  std::string preamble;                  ///< a paragraph under the heading; empty: none
  std::vector<Table> tables;
  std::vector<std::string> footnotes;
};
BenchTables build_bench_tables(const std::vector<BenchResult>& results);

/// The accuracy tables (`inferlab accuracy`), in the study's Table 4/5 layout:
/// Top-1 and Top-5 in percent, Top-1 agreement with the reference, and the
/// loader's throughput next to inference throughput; footnotes for failed or
/// unsupported rows, skipped samples and contact sheets. Pure function.
BenchTables build_accuracy_tables(const std::vector<BenchResult>& results);

/// Fixed-width text for a terminal.
std::string render_text(const BenchTables& tables);
/// GitHub-flavoured Markdown, with an environment section.
std::string render_markdown(const BenchTables& tables, const Environment& env);
/// One line per result with a header; fields as in the JSON schema, flattened.
std::string render_csv(const std::vector<BenchResult>& results);

}  // namespace inferlab
