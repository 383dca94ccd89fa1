// `inferlab serve`: a KServe v2 JSON inference server over the dynamic
// batcher, with Prometheus metrics on /metrics, until SIGINT or SIGTERM.
#include <csignal>
#include <iostream>
#include <thread>

#include "bench_flags.h"
#include "cli_util.h"
#include "commands.h"
#include "inferlab/bench.h"
#include "inferlab/error.h"
#include "inferlab/registry.h"
#include "serve/inference_server.h"
#include "serving_flags.h"

namespace inferlab::cli {

namespace {

volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void on_stop_signal(int signal) { g_stop_signal = signal; }

struct ServeFlags {
  std::string model;
  std::string backend = "onnxruntime";
  std::string precision = "fp32";
  int port = 8000;
  std::string host = "127.0.0.1";
  int threads = ModelBackendFlags::kThreadsNotGiven;
  std::string model_dir;
  std::vector<std::string> shapes;
  double max_request_mb = 64;
  int http_threads = 32;
  std::int64_t warmup_runs = 2;
  EngineFlags engine;
  ServingFlags serving;
};

int run_serve(const ServeFlags& flags) {
  if (flags.port < 0 || flags.port > 65535) throw Error("--port " + std::to_string(flags.port) + ": must be 0..65535");
  if (flags.threads != ModelBackendFlags::kThreadsNotGiven && flags.threads < 1)
    throw Error("--threads " + std::to_string(flags.threads) + ": must be >= 1");
  if (!(flags.max_request_mb > 0)) throw Error("--max-request-mb: must be > 0");
  if (flags.http_threads < 1 || flags.http_threads > 1024) throw Error("--http-threads: must be in 1..1024");
  if (flags.warmup_runs < 0) throw Error("--warmup: must be >= 0");
  ServeOptions options;
  options.batcher = flags.serving.resolved().batcher;
  validate_batcher_settings(options.batcher);
  options.backend = flags.backend;
  const std::unique_ptr<Backend> backend = create_backend(flags.backend);  // an unknown name fails here
  ResolvedModel model = resolve_model(flags.model, model_directory(flags.model_dir));
  const auto overrides = parse_shapes(flags.shapes);
  declare_inputs_from_shapes(model, overrides);
  const SupportAnswer support = model_support(*backend, model, flags.precision);
  if (!support.supported)
    throw Error(flags.model + ": the " + flags.backend + " backend cannot serve it: " + support.reason);
  options.model_name = model.name;
  options.source = model.source_for(backend->format());
  options.sample_shapes = input_shapes_for(model, 1, overrides);
  options.session.precision = precision_from_name(flags.precision);
  options.session.intra_op_threads =
      flags.threads == ModelBackendFlags::kThreadsNotGiven ? default_thread_count() : flags.threads;
  options.session.engine_options = flags.engine.engine_options();
  options.host = flags.host;
  options.port = flags.port;
  options.max_request_bytes = static_cast<std::size_t>(flags.max_request_mb * 1024 * 1024);
  options.http_threads = flags.http_threads;
  options.warmup_runs = flags.warmup_runs;

  // Handlers before any engine thread exists; the main thread polls the flag.
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  InferenceServer server(options);
  const int port = server.start();
  std::cout << "inferlab serve: " << model.name << " on " << flags.backend << " at http://" << flags.host << ":" << port
            << " (" << server.batcher().describe() << "; POST /v2/models/" << model.name << "/infer, GET /metrics)"
            << std::endl;
  while (g_stop_signal == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  server.stop();
  std::cout << "inferlab serve: stopped on signal " << static_cast<int>(g_stop_signal) << std::endl;
  return 0;
}

}  // namespace

void add_serve(CLI::App& app, int* exit_code) {
  auto* sub =
      app.add_subcommand("serve", "Serve a model over HTTP (KServe v2 JSON) with dynamic batching and /metrics");
  auto flags = std::make_shared<ServeFlags>();
  sub->add_option("MODEL", flags->model, "Model path (.onnx, .pt) or prepared model name")->required();
  sub->add_option("--backend", flags->backend, "Backend running the sessions")->capture_default_str();
  sub->add_option("--precision", flags->precision, "fp32, fp16, bf16 or int8 (as the backend supports)")
      ->capture_default_str();
  sub->add_option("--port", flags->port, "TCP port (0: any free port, printed on stdout)")->capture_default_str();
  sub->add_option("--host", flags->host, "Address to listen on")->capture_default_str();
  sub->add_option("--threads", flags->threads, "Intra-op threads per engine instance (default: online CPUs)");
  sub->add_option("--model-dir", flags->model_dir, "Prepared model directory");
  sub->add_option("--shape", flags->shapes, "Input shape NAME=1x3x224x224 (the batch dimension is replaced)");
  sub->add_option("--max-request-mb", flags->max_request_mb, "Larger request bodies are answered 400")
      ->capture_default_str();
  sub->add_option("--http-threads", flags->http_threads, "HTTP worker threads (one per open connection)")
      ->capture_default_str();
  sub->add_option("--warmup", flags->warmup_runs, "Untimed runs of every prepared session before serving")
      ->capture_default_str();
  flags->engine.add_to(*sub);
  flags->serving.add_batcher_to(*sub, true);
  sub->callback([=] { *exit_code = run_serve(*flags); });
}

}  // namespace inferlab::cli
