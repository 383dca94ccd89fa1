// Distillation: the worker trains both students in one seeded run; here
// their files get the teacher's metadata and graph passes, and all three
// models are measured by the accuracy runner and the bench orchestrator,
// the code every other inferlab figure comes from.
#include "inferlab/distill.h"

#include <filesystem>

#include "inferlab/accuracy.h"
#include "inferlab/bench.h"
#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/graph_passes.h"
#include "inferlab/model_metadata.h"
#include "inferlab/onnx_graph.h"
#include "inferlab/registry.h"
#include "inferlab/training.h"

namespace fs = std::filesystem;

namespace inferlab {

namespace {

std::int64_t file_size_bytes(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  return ec ? 0 : static_cast<std::int64_t>(size);
}

}  // namespace

void check_distill_options(const DistillOptions& o) {
  const auto onnx = o.teacher.paths.find(ModelFormat::kOnnx);
  if (onnx == o.teacher.paths.end())
    throw Error(o.teacher.argument + ": --distill needs a teacher with an ONNX file", ErrorKind::kBadInput);
  if (o.student.empty()) throw Error("--distill needs --student ARCH|FILE (e.g. digits_small)", ErrorKind::kBadInput);
  if (o.dataset.empty()) throw Error("--distill needs --dataset DATASET (e.g. digits:train)", ErrorKind::kBadInput);
  if (o.output_path.empty()) throw Error("-o: give the student .onnx file to write", ErrorKind::kBadInput);
  std::error_code ec;
  if (fs::exists(o.output_path, ec) && fs::equivalent(o.output_path, onnx->second, ec))
    throw Error("-o " + o.output_path + ": that is the teacher; refusing to overwrite it", ErrorKind::kBadInput);
  if (!(o.temperature > 0)) throw Error("--temperature: must be > 0", ErrorKind::kBadInput);
  if (!(o.alpha >= 0 && o.alpha <= 1)) throw Error("--alpha: must be in [0, 1]", ErrorKind::kBadInput);
  if (o.epochs < 1) throw Error("--epochs: must be >= 1", ErrorKind::kBadInput);
  if (!(o.lr > 0)) throw Error("--lr: must be > 0", ErrorKind::kBadInput);
  ensure_writable_file_path(o.output_path, "-o");
}

namespace {

// A student's file as inferlab writes every file: graph passes (BatchNorm
// folded) and the teacher's preprocessing and labels in its metadata.
ResolvedModel finish_student(const DistillOptions& o, const std::string& trained_onnx, const std::string& trained_pt,
                             const std::string& onnx_path, const std::string& role) {
  OnnxGraph graph = OnnxGraph::load(trained_onnx);
  run_graph_passes(graph);
  const ModelMetadata metadata = metadata_for_derived_file(
      o.teacher, "inferlab optimize: " + role + " student " + o.student + " trained on " + o.dataset +
                     (role == "distilled" ? " from the teacher's outputs (T " + std::to_string(o.temperature) +
                                                ", alpha " + std::to_string(o.alpha) + ")"
                                          : " (labels only)"));
  write_model_metadata(graph, metadata);
  graph.check();
  graph.save(onnx_path);
  const std::string pt_path = fs::path(onnx_path).replace_extension(".pt").string();
  fs::copy_file(trained_pt, pt_path, fs::copy_options::overwrite_existing);
  ResolvedModel m;
  m.name = o.teacher.name + "." + role;
  m.argument = onnx_path;
  m.paths[ModelFormat::kOnnx] = onnx_path;
  m.paths[ModelFormat::kTorchScript] = pt_path;
  m.inputs = o.teacher.inputs;
  m.outputs = o.teacher.outputs;
  m.file_metadata = metadata;
  return m;
}

DistilledModel describe(const ResolvedModel& m, const std::string& role) {
  DistilledModel d;
  d.role = role;
  d.onnx_path = m.paths.at(ModelFormat::kOnnx);
  if (auto pt = m.paths.find(ModelFormat::kTorchScript); pt != m.paths.end()) d.torchscript_path = pt->second;
  const GraphSummary s = OnnxGraph::load(d.onnx_path).summarize();
  d.parameters = s.parameter_count;
  d.flops_per_sample = s.flops_per_sample;
  d.size_bytes = file_size_bytes(d.onnx_path);
  return d;
}

}  // namespace

DistillReport run_distill(const DistillOptions& o, const std::function<void(const std::string&)>& progress) {
  check_distill_options(o);
  for (const auto& b : o.backends) create_backend(b);  // an unknown name fails before any work
  const ModelPreprocess declared = preprocess_of_model(o.teacher);
  AccuracyOptions a;
  a.model = o.teacher;
  a.dataset = o.eval_dataset;
  a.backends = o.backends;
  a.preprocess = declared.preprocess;
  a.preprocess_source = declared.source;
  a.threads = o.threads;
  a.limit = o.eval_limit;
  const auto eval = open_checked_dataset(a);

  DistillReport r;
  r.teacher = o.teacher.name;
  r.student = o.student;
  r.dataset = o.dataset;
  r.eval_dataset = o.eval_dataset;
  r.temperature = o.temperature;
  r.alpha = o.alpha;
  r.epochs = o.epochs;
  r.seed = o.seed;

  TempDir scratch("inferlab-distill");
  const std::string dir = scratch.path();
  nlohmann::json request{{"mode", "distill"},
                         {"teacher_onnx", o.teacher.paths.at(ModelFormat::kOnnx)},
                         {"student", o.student},
                         {"dataset", o.dataset},
                         {"eval_dataset", o.eval_dataset},
                         {"epochs", o.epochs},
                         {"lr", o.lr},
                         {"seed", o.seed},
                         {"temperature", o.temperature},
                         {"alpha", o.alpha},
                         {"distilled_onnx", dir + "/distilled.onnx"},
                         {"distilled_torchscript", dir + "/distilled.pt"},
                         {"labels_only_onnx", dir + "/labels.onnx"},
                         {"labels_only_torchscript", dir + "/labels.pt"}};
  if (auto pt = o.teacher.paths.find(ModelFormat::kTorchScript); pt != o.teacher.paths.end())
    request["teacher_torchscript"] = pt->second;
  progress("training " + o.student + " on " + o.dataset + ": distilled, then on labels only (" +
           std::to_string(o.epochs) + " epochs each, seed " + std::to_string(o.seed) + ", 1 thread)");
  r.training = run_training_worker(request, progress);
  r.training_seconds = r.training.value("wall_seconds", 0.0);

  const std::string labels_path =
      (fs::path(o.output_path).parent_path() / (fs::path(o.output_path).stem().string() + ".labels-only.onnx"))
          .string();
  const std::vector<ResolvedModel> models{
      o.teacher, finish_student(o, dir + "/distilled.onnx", dir + "/distilled.pt", o.output_path, "distilled"),
      finish_student(o, dir + "/labels.onnx", dir + "/labels.pt", labels_path, "labels-only")};
  const char* roles[] = {"teacher", "distilled", "labels-only"};
  for (std::size_t i = 0; i < models.size(); ++i) {
    DistilledModel d = describe(models[i], roles[i]);
    if (i > 0) d.train_seconds = r.training[i == 1 ? "distilled" : "labels_only"].value("train_seconds", 0.0);
    progress("accuracy of the " + d.role + " on " + o.eval_dataset);
    a.model = models[i];
    d.accuracy = run_accuracy(a, *eval, nullptr).rows;
    r.models.push_back(std::move(d));
  }
  if (o.measure_latency) {
    progress("latency at batch 1: teacher and both students");
    BenchOptions b;
    b.models = models;
    b.backends = o.backends;
    b.threads = o.threads;
    b.run = o.latency_run;
    try {
      r.latency = run_bench(b, [&](const std::string& line) { progress(line); });
    } catch (const Error& e) {
      r.notes.push_back(std::string("latency not measured: ") + e.what());
    }
  }
  return r;
}

}  // namespace inferlab
