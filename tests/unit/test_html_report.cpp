// The HTML report's data and page: which charts it draws (and why one is
// not), CDF points, and that inlined text cannot end a <script> element.
#include <gtest/gtest.h>

#include <map>

#include "inferlab/html_report.h"

namespace inferlab {
namespace {

ReportInput input() {
  ReportInput in;
  RunSummary run;
  run.run.id = 7;
  run.run.verb = "bench";
  in.runs.push_back(run);
  StoredRow row;
  row.id = 1;
  row.run_id = 7;
  row.result.model = "m</script><!--";
  row.result.backend = "null";
  row.result.precision = "fp32";
  LatencyStats s{};
  s.p50_ms = 1;
  row.result.latency = s;
  row.result.memory = MemoryResult{10, 0, 0};
  for (int i = 1000; i > 0; --i) row.result.latency_samples_ms.push_back(static_cast<float>(i));
  in.rows.push_back(row);
  return in;
}

TEST(HtmlReport, DataNamesEveryChartAndWhyOneIsMissing) {
  const auto data = report_data(input());
  ASSERT_EQ(data["cdf"].size(), 200u);  // 1000 samples thinned to 200 points
  EXPECT_DOUBLE_EQ(data["cdf"][0]["latency_ms"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(data["cdf"][199]["fraction"].get<double>(), 1.0);
  std::map<std::string, std::string> why;
  for (const auto& c : data["charts"]) why[c["id"]] = c["why_missing"];
  EXPECT_EQ(why.at("latency-cdf"), "");
  EXPECT_EQ(why.at("memory"), "");
  EXPECT_NE(why.at("pareto-accuracy").find("run inferlab accuracy"), std::string::npos);
  EXPECT_NE(why.at("profile").find("--profile"), std::string::npos);
}

TEST(HtmlReport, InlinedTextCannotCloseTheScript) {
  ChartLibrary lib;
  lib.vega = "var a = '</script>'; // <!-- x";
  const std::string html = render_html_report(input(), lib);
  // Only the page's own script elements close.
  std::size_t closes = 0;
  for (std::size_t at = html.find("</script>"); at != std::string::npos; at = html.find("</script>", at + 1)) ++closes;
  EXPECT_EQ(closes, 5u);  // vega, vega-lite, vega-embed, the data, the page script
  EXPECT_EQ(html.find("<!--"), std::string::npos);
  EXPECT_NE(html.find("m\\u003c/script>\\u003c!--"), std::string::npos);
}

}  // namespace
}  // namespace inferlab
