#pragma once
// Shared by the bench and accuracy tables: the model x column grid, failure
// footnotes, and the table builder that fills a grid cell by cell.

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "inferlab/report.h"

namespace inferlab::report_detail {

inline std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

// Rows as aligned text, columns two spaces apart: column c is left-aligned
// where align[c] == 'l', else right-aligned; columns past `align` are
// right-aligned, except that an empty `align` leaves the first one left.
// A left-aligned last column is not padded (no trailing blanks).
inline std::string text_table(const std::vector<std::vector<std::string>>& rows, const std::string& align = "l") {
  std::vector<std::size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()), 0);
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      const std::string pad(width[c] - row[c].size(), ' ');
      const bool left = c < align.size() && align[c] == 'l';
      if (c > 0) out += "  ";
      out += left ? row[c] + (c + 1 == row.size() ? "" : pad) : pad + row[c];
    }
    out += '\n';
  }
  return out;
}

struct Grid {
  std::vector<std::string> models;   // row order: first appearance
  std::vector<std::string> columns;  // backend, or backend:precision when several precisions
  bool several_precisions = false;

  explicit Grid(const std::vector<BenchResult>& results) {
    std::set<std::string> precisions;
    for (const auto& r : results) precisions.insert(r.precision);
    several_precisions = precisions.size() > 1;
    for (const auto& r : results) {
      if (std::find(models.begin(), models.end(), r.model) == models.end()) models.push_back(r.model);
      std::string c = column_of(r);
      if (std::find(columns.begin(), columns.end(), c) == columns.end()) columns.push_back(c);
    }
  }
  std::string column_of(const BenchResult& r) const {
    return several_precisions ? r.backend + ":" + r.precision : r.backend;
  }
};

// Built with snprintf: GCC 12 warns falsely (-Wrestrict) on "[" + to_string(n).
inline std::string bracketed(std::size_t index) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "[%zu]", index);
  return buffer;
}

class Footnotes {
 public:
  std::string mark(const std::string& text) {
    auto it = std::find(notes_.begin(), notes_.end(), text);
    std::size_t index = it == notes_.end() ? (notes_.push_back(text), notes_.size()) : (it - notes_.begin()) + 1;
    return bracketed(index);
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < notes_.size(); ++i) out.push_back(bracketed(i + 1) + " " + notes_[i]);
    return out;
  }

 private:
  std::vector<std::string> notes_;
};

// The cell for a model x column whose rows are all not ok.
inline std::string not_ok_cell(const BenchResult& r, Footnotes& notes) {
  std::string label = r.status == ResultStatus::kUnsupported ? "n/a" : "failed";
  return label + " " +
         notes.mark(r.model + " x " + r.backend + " (" + r.precision + "): " + result_status_name(r.status) + ": " +
                    r.reason);
}

template <typename Pick, typename Cell>
Table grid_table(const std::string& title, const std::vector<BenchResult>& results, const Grid& grid, Footnotes& notes,
                 Pick pick, Cell cell) {
  Table table;
  table.title = title;
  table.header.push_back("model");
  for (const auto& c : grid.columns) table.header.push_back(c);
  for (const auto& model : grid.models) {
    std::vector<std::string> row{model};
    for (const auto& column : grid.columns) {
      const BenchResult* chosen = nullptr;
      const BenchResult* any = nullptr;
      for (const auto& r : results) {
        if (r.model != model || grid.column_of(r) != column) continue;
        if (!any || (any->ok() && !r.ok())) any = &r;
        if (r.ok() && pick(r, chosen)) chosen = &r;
      }
      if (chosen) {
        row.push_back(cell(*chosen, notes));
      } else if (any && !any->ok()) {
        row.push_back(not_ok_cell(*any, notes));
      } else {
        row.push_back("-");
      }
    }
    table.rows.push_back(std::move(row));
  }
  return table;
}

}  // namespace inferlab::report_detail
