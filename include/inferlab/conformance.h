#pragma once
/// @file conformance.h
/// Runs the ONNX backend node tests (Debian's libonnx-testdata: one tiny
/// model per test with reference inputs and outputs) against a backend.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace inferlab {

/// One node test's outcome.
struct ConformanceResult {
  std::string test;          ///< e.g. "test_conv_with_strides_padding"
  std::string op;            ///< op types of the model's nodes, e.g. "Conv"
  std::string status;        ///< "pass" | "fail" | "unsupported"
  double max_abs_diff = -1;  ///< over all outputs; -1 when nothing was compared
  std::string reason;        ///< why it failed or is unsupported
};

/// What to run. Field names carry units.
struct ConformanceOptions {
  std::string backend = "native";
  std::string data_dir;              ///< the suite's folder of test_* folders; empty: onnx_node_test_dir()
  std::string filter;                ///< ECMAScript regex on test names; empty: all
  double relative_tolerance = 1e-3;  ///< |got - want| <= atol + rtol * |want| (ONNX's backend-test rtol)
  double absolute_tolerance = 1e-5;
};

/// $INFERLAB_ONNX_TESTDATA/node, else /usr/share/libonnx-testdata/data/node.
std::string onnx_node_test_dir();

/// Runs every matching test in-process. A test the backend declines
/// (supports() says no, or load/prepare throws ErrorKind::kUnsupported even
/// with inputs 1..n baked in as constants, or test data of a dtype the
/// harness cannot feed) is "unsupported"; a wrong answer or any other error is "fail". Throws Error
/// (kBadInput) when the folder is missing or the filter is not a valid regex.
std::vector<ConformanceResult> run_onnx_node_tests(const ConformanceOptions& options);

/// {suite, backend, results: [...]} as CLI.md specifies.
nlohmann::json conformance_document(const std::string& suite, const std::string& backend,
                                    const std::vector<ConformanceResult>& results);

}  // namespace inferlab
