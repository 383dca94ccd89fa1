// The ONNX node-test runner: each test folder holds model.onnx and
// test_data_set_N/{input,output}_K.pb (serialized TensorProtos).
#include "inferlab/conformance.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <regex>
#include <set>

#include "inferlab/error.h"
#include "inferlab/float16.h"
#include "inferlab/onnx_graph.h"
#include "inferlab/registry.h"
#include "model/onnx_util.h"

namespace inferlab {

namespace {

namespace fs = std::filesystem;

// A reference tensor from a .pb file; dtypes a Session can be fed or that
// outputs come in. Throws Error naming the file for anything else.
Tensor read_tensor(const fs::path& path) {
  onnx::TensorProto t;
  if (!t.ParseFromString(onnx_util::read_whole_file(path.string()))) throw Error(path.string() + ": not a TensorProto");
  return onnx_util::tensor_from_proto(t, path.filename().string());
}

// Element i of any dtype tensor_from_proto reads, as a double for comparison.
double element(const Tensor& t, std::int64_t i) {
  switch (t.dtype()) {
    case DType::kFloat32:
      return t.data_as<float>()[i];
    case DType::kFloat16:
      return float16_bits_to_float(t.data_as<std::uint16_t>()[i]);
    case DType::kInt64:
      return static_cast<double>(t.data_as<std::int64_t>()[i]);
    case DType::kInt32:
      return t.data_as<std::int32_t>()[i];
    case DType::kInt8:
      return t.data_as<std::int8_t>()[i];
    case DType::kUInt8:
    case DType::kBool:
      return t.data_as<std::uint8_t>()[i];
    default:
      throw Error("cannot compare " + dtype_name(t.dtype()) + " tensors", ErrorKind::kUnsupported);
  }
}

std::vector<Tensor> read_set(const fs::path& dir, const std::string& prefix) {
  std::vector<Tensor> tensors;
  for (int k = 0;; ++k) {
    const fs::path file = dir / (prefix + "_" + std::to_string(k) + ".pb");
    if (!fs::exists(file)) break;
    tensors.push_back(read_tensor(file));
  }
  return tensors;
}

std::vector<onnx::TensorProto> read_protos(const fs::path& dir, const std::string& prefix) {
  std::vector<onnx::TensorProto> protos;
  for (int k = 0;; ++k) {
    const fs::path file = dir / (prefix + "_" + std::to_string(k) + ".pb");
    if (!fs::exists(file)) break;
    protos.emplace_back();
    if (!protos.back().ParseFromString(onnx_util::read_whole_file(file.string()))) {
      throw Error(file.string() + ": not a TensorProto");
    }
  }
  return protos;
}

// The test's model with inputs 1..n turned into initializers holding the
// test's values: engines that need constant weights (TensorRT, the native
// engine) are tested the way they are used.
std::string bake_inputs(const std::string& model_path, const std::vector<onnx::TensorProto>& inputs,
                        const std::string& out_path) {
  OnnxGraph graph = OnnxGraph::load(model_path);
  auto& g = *graph.proto().mutable_graph();
  std::vector<std::string> runtime;
  for (const auto& in : g.input()) runtime.push_back(in.name());
  for (std::size_t k = 1; k < inputs.size() && k < runtime.size(); ++k) {
    onnx::TensorProto t = inputs[k];
    t.set_name(runtime[k]);
    *g.add_initializer() = t;
  }
  while (g.input_size() > 1) g.mutable_input()->DeleteSubrange(1, 1);
  graph.save(out_path);
  return out_path;
}

ConformanceResult compare_run(Backend& backend, const ModelSource& source, const std::vector<Tensor>& feeds,
                              const std::vector<Tensor>& wants, const ConformanceOptions& options, ConformanceResult r);

ConformanceResult run_one(Backend& backend, const fs::path& dir, const ConformanceOptions& options) {
  ConformanceResult r;
  r.test = dir.filename().string();
  const std::string model_path = (dir / "model.onnx").string();
  std::vector<TensorSpec> inputs;
  try {
    const OnnxGraph graph = OnnxGraph::load(model_path);
    std::set<std::string> ops;
    for (const auto& n : graph.proto().graph().node()) ops.insert(n.op_type());
    for (const auto& op : ops) r.op += (r.op.empty() ? "" : "+") + op;
    inputs = graph.summarize().inputs;
  } catch (const Error& e) {
    r.status = "fail";
    r.reason = e.what();
    return r;
  }
  const ModelSource source{r.test, backend.format(), model_path, inputs, {}};
  const SupportAnswer answer = backend.supports(source, Precision::kFp32);
  if (!answer.supported) {
    r.status = "unsupported";
    r.reason = answer.reason;
    return r;
  }
  const fs::path data = dir / "test_data_set_0";
  std::vector<onnx::TensorProto> input_protos;
  std::vector<Tensor> feeds, wants;
  try {
    input_protos = read_protos(data, "input");
    for (const auto& t : input_protos) feeds.push_back(onnx_util::tensor_from_proto(t, r.test + " input"));
    wants = read_set(data, "output");
  } catch (const Error& e) {
    r.status = "unsupported";
    r.reason = e.what();
    return r;
  }
  // Fed at run time first when every input is float32; an engine that
  // declines that, or non-float parameters such as indices, get them baked in.
  const bool all_float =
      std::all_of(feeds.begin(), feeds.end(), [](const Tensor& t) { return t.dtype() == DType::kFloat32; });
  if (all_float) {
    ConformanceResult first = compare_run(backend, source, feeds, wants, options, r);
    if (first.status != "unsupported") return first;
  }
  try {
    const fs::path baked = fs::temp_directory_path() / ("inferlab-conformance-" + r.test + ".onnx");
    bake_inputs(model_path, input_protos, baked.string());
    feeds.resize(std::min<std::size_t>(feeds.size(), 1));
    ModelSource baked_source = source;
    baked_source.path = baked.string();
    baked_source.inputs.resize(std::min<std::size_t>(baked_source.inputs.size(), 1));
    ConformanceResult second = compare_run(backend, baked_source, feeds, wants, options, r);
    fs::remove(baked);
    if (second.status == "pass") {
      second.reason = "inputs 1.." + std::to_string(input_protos.size() - 1) +
                      " given as constants (the engine takes parameters as constants)";
    }
    return second;
  } catch (const std::exception& e) {
    r.status = "fail";
    r.reason = e.what();
    return r;
  }
}

ConformanceResult compare_run(Backend& backend, const ModelSource& source, const std::vector<Tensor>& feeds,
                              const std::vector<Tensor>& wants, const ConformanceOptions& options,
                              ConformanceResult r) {
  try {
    auto session = backend.load(source, SessionOptions{});
    std::vector<Shape> shapes;
    for (const auto& t : feeds) shapes.push_back(t.shape());
    session->prepare(shapes);
    const auto specs = session->output_specs();
    if (specs.size() != wants.size()) {
      throw Error(
          "produces " + std::to_string(specs.size()) + " outputs, the test expects " + std::to_string(wants.size()),
          ErrorKind::kCheckFailed);
    }
    std::vector<Tensor> outs;
    std::vector<Tensor*> out_ptrs;
    for (const auto& s : specs) outs.emplace_back(s.dtype, s.shape);
    for (auto& t : outs) out_ptrs.push_back(&t);
    std::vector<const Tensor*> in_ptrs;
    for (const auto& t : feeds) in_ptrs.push_back(&t);
    session->run(in_ptrs, out_ptrs);
    r.max_abs_diff = 0;
    for (std::size_t k = 0; k < wants.size(); ++k) {
      if (outs[k].shape() != wants[k].shape() || outs[k].dtype() != wants[k].dtype()) {
        throw Error("output " + std::to_string(k) + " is " + dtype_name(outs[k].dtype()) + " " +
                        shape_to_string(outs[k].shape()) + ", expected " + dtype_name(wants[k].dtype()) + " " +
                        shape_to_string(wants[k].shape()),
                    ErrorKind::kCheckFailed);
      }
      for (std::int64_t i = 0; i < wants[k].element_count(); ++i) {
        const double want = element(wants[k], i);
        const double got = element(outs[k], i);
        const double diff = std::abs(got - want);
        if (std::isnan(want) && std::isnan(got)) continue;
        r.max_abs_diff = std::max(r.max_abs_diff, std::isnan(diff) ? INFINITY : diff);
        if (!(diff <= options.absolute_tolerance + options.relative_tolerance * std::abs(want))) {
          r.status = "fail";
          r.reason = "output " + std::to_string(k) + " element " + std::to_string(i) + ": got " + std::to_string(got) +
                     ", expected " + std::to_string(want);
        }
      }
    }
    if (r.status.empty()) r.status = "pass";
  } catch (const Error& e) {
    r.status = e.kind() == ErrorKind::kUnsupported ? "unsupported" : "fail";
    r.reason = e.what();
  } catch (const std::exception& e) {
    r.status = "fail";
    r.reason = e.what();
  }
  return r;
}

}  // namespace

std::string onnx_node_test_dir() {
  const char* root = std::getenv("INFERLAB_ONNX_TESTDATA");
  return (root && *root ? std::string(root) : std::string("/usr/share/libonnx-testdata/data")) + "/node";
}

std::vector<ConformanceResult> run_onnx_node_tests(const ConformanceOptions& options) {
  const std::string dir = options.data_dir.empty() ? onnx_node_test_dir() : options.data_dir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw Error(dir + ": no ONNX node tests there (install Debian's libonnx-testdata or set INFERLAB_ONNX_TESTDATA)");
  }
  std::regex filter;
  try {
    filter = std::regex(options.filter.empty() ? std::string(".*") : options.filter);
  } catch (const std::regex_error& e) {
    throw Error("--filter " + options.filter + ": not a valid regular expression (" + e.what() + ")");
  }
  auto backend = create_backend(options.backend);
  std::vector<fs::path> tests;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_directory() && fs::exists(entry.path() / "model.onnx") &&
        std::regex_search(entry.path().filename().string(), filter)) {
      tests.push_back(entry.path());
    }
  }
  std::sort(tests.begin(), tests.end());
  std::vector<ConformanceResult> results;
  for (const auto& t : tests) results.push_back(run_one(*backend, t, options));
  return results;
}

nlohmann::json conformance_document(const std::string& suite, const std::string& backend,
                                    const std::vector<ConformanceResult>& results) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : results) {
    rows.push_back({{"test", r.test},
                    {"op", r.op},
                    {"status", r.status},
                    {"max_abs_diff", r.max_abs_diff < 0 ? nlohmann::json(nullptr) : nlohmann::json(r.max_abs_diff)},
                    {"reason", r.reason}});
  }
  return {{"suite", suite}, {"backend", backend}, {"results", rows}};
}

}  // namespace inferlab
