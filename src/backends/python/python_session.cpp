// A Session over a Python worker, for the verbs that bring their own inputs
// (accuracy): the worker's F command runs one batch read from a scratch file
// and writes the outputs to another (python/inferlab_worker.py).
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>

#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/python_worker.h"
#include "python_channel.h"

namespace inferlab {

namespace {

using nlohmann::json;

std::string make_scratch_dir(const std::string& backend) {
  std::string pattern = (std::filesystem::temp_directory_path() / ("inferlab-" + backend + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw Error("cannot create a scratch folder for the " + backend + " worker");
  return pattern;
}

class PythonSession final : public Session {
 public:
  PythonSession(std::string backend, ModelSource model, SessionOptions options, PythonEnvironment env)
      : backend_(std::move(backend)),
        model_(std::move(model)),
        options_(std::move(options)),
        env_(std::move(env)),
        dir_(make_scratch_dir(backend_)) {}

  ~PythonSession() override {
    if (channel_) {
      try {
        channel_->send("Q");
      } catch (const Error&) {
        // Already gone: finish() below reaps it.
      }
      channel_->finish();
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void prepare(const std::vector<Shape>& input_shapes) override {
    if (channel_) throw Error(backend_ + ": a Python-worker session is prepared once");
    input_shapes_ = input_shapes;
    WorkerSpec spec;
    spec.model = model_;
    spec.backend = backend_;
    spec.precision = precision_name(options_.precision);
    spec.threads = options_.intra_op_threads;
    spec.tactic_selection = options_.tactic_selection;
    spec.engine_options = options_.engine_options;
    spec.input_shapes = input_shapes;
    spec.batch = input_shapes.empty() || input_shapes[0].empty() ? 1 : input_shapes[0][0];
    json j = to_json(spec);
    j["feed_input_path"] = path("feed-in.f32");
    j["feed_output_path"] = path("feed-out.f32");
    write_file_atomically(path("spec.json"), j.dump());
    channel_ = std::make_unique<PythonChannel>(
        std::vector<std::string>{env_.python, env_.worker_script, backend_, path("spec.json")}, path("worker.log"));
    event("imported");
    channel_->send("L");
    const json loaded = event("loaded");
    timed_region_ = loaded.value("timed_region", "");
    for (const auto& out : loaded.at("outputs")) {
      const std::string dtype = out.at("dtype").get<std::string>();
      if (dtype.empty() || dtype[0] != 'f') {
        throw Error(backend_ + ": " + model_.name + " has a " + dtype +
                    " output; Python-worker sessions return float outputs only");
      }
      output_specs_.push_back(TensorSpec{
          "output" + std::to_string(output_specs_.size()), DType::kFloat32, out.at("shape").get<Shape>(), {}});
    }
  }

  std::vector<TensorSpec> output_specs() const override { return output_specs_; }

  void run(const std::vector<const Tensor*>& inputs, std::vector<Tensor*>& outputs) override {
    if (!channel_) throw Error(backend_ + ": run() before prepare()");
    if (inputs.size() != input_shapes_.size() || outputs.size() != output_specs_.size())
      throw Error(backend_ + ": run() got " + std::to_string(inputs.size()) + " inputs and " +
                  std::to_string(outputs.size()) + " outputs for a session prepared with " +
                  std::to_string(input_shapes_.size()) + " and " + std::to_string(output_specs_.size()));
    {
      std::ofstream in(path("feed-in.f32"), std::ios::binary | std::ios::trunc);
      for (const Tensor* t : inputs) {
        if (t->dtype() != DType::kFloat32) throw Error(backend_ + ": Python-worker sessions take float32 inputs only");
        in.write(static_cast<const char*>(t->data()), static_cast<std::streamsize>(t->size_bytes()));
      }
      if (!in) throw Error(path("feed-in.f32") + ": cannot write the worker's input batch");
    }
    send("F");
    const std::string reply = line();
    if (!reply.empty() && reply[0] == '{') event_from(reply, "");  // an error event: throws
    std::ifstream out(path("feed-out.f32"), std::ios::binary);
    for (Tensor* t : outputs) out.read(static_cast<char*>(t->data()), static_cast<std::streamsize>(t->size_bytes()));
    if (!out)
      throw Error(backend_ + ": the worker's outputs in " + path("feed-out.f32") + " are shorter than expected");
  }

  TimingBoundary timing_boundary() const override { return TimingBoundary::kWithCopies; }

  std::string timed_region_description() const override {
    return "one batch through the " + backend_ +
           " Python worker: inputs written to a scratch file, the worker's framework call, outputs read back "
           "(the pipe round trip and both copies included); the framework call itself: " +
           timed_region_;
  }

 private:
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  void send(const std::string& command) {
    try {
      channel_->send(command);
    } catch (const Error&) {
      if (!channel_->exited()) throw;
      died();
    }
  }

  std::string line() {
    std::string text;
    if (!channel_->read_line(text)) died();
    return text;
  }

  json event(const std::string& expected) { return event_from(line(), expected); }

  // Parses a reply; an error event throws Error (kUnsupported for "unsupported").
  json event_from(const std::string& text, const std::string& expected) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded())
      throw Error(backend_ + " Python worker sent an unreadable reply: " + text, ErrorKind::kRuntime);
    if (j.value("event", "") == "error") {
      const bool unsupported = j.value("kind", "failed") == "unsupported";
      throw Error(j.value("message", "unknown error"), unsupported ? ErrorKind::kUnsupported : ErrorKind::kRuntime);
    }
    if (j.value("event", "") != expected)
      throw Error(backend_ + " Python worker sent '" + text + "', expected " + expected, ErrorKind::kRuntime);
    return j;
  }

  [[noreturn]] void died() {
    throw Error(describe_worker_end(backend_, channel_->finish(), path("worker.log")), ErrorKind::kRuntime);
  }

  std::string backend_;
  ModelSource model_;
  SessionOptions options_;
  PythonEnvironment env_;
  std::string dir_;
  std::unique_ptr<PythonChannel> channel_;
  std::vector<Shape> input_shapes_;
  std::vector<TensorSpec> output_specs_;
  std::string timed_region_;
};

}  // namespace

std::unique_ptr<Session> make_python_session(const std::string& backend, const ModelSource& model,
                                             const SessionOptions& options, const PythonEnvironment& env) {
  if (!env.installed()) {
    throw Error("the Python environment " + env.venv_dir + " is missing: run " + python_install_command(),
                ErrorKind::kUnsupported);
  }
  return std::make_unique<PythonSession>(backend, model, options, env);
}

}  // namespace inferlab
