#include "serving_flags.h"

namespace inferlab::cli {

void ServingFlags::add_batcher_to(CLI::App& sub, bool with_max_batch) {
  if (with_max_batch) {
    max_batch_option =
        sub.add_option("--max-batch", settings.batcher.max_batch, "Dynamic batching: most samples per engine run")
            ->capture_default_str();
  }
  sub.add_option("--max-queue-delay-us", settings.batcher.max_queue_delay_us,
                 "Dynamic batching: run a partial batch once its oldest request waited this long")
      ->capture_default_str();
  sub.add_option("--instances", settings.batcher.instances, "Engine instances (sessions) running batches in parallel")
      ->capture_default_str();
  sub.add_option("--batch-shapes", batch_shapes,
                 "exact: a session prepared per batch size 1..max-batch; padded: one at max-batch, smaller batches "
                 "zero-padded")
      ->capture_default_str();
  sub.add_option("--max-queue", settings.batcher.max_queue_samples,
                 "Samples the batcher queues at most; beyond, requests are refused (dropped, HTTP 503)")
      ->capture_default_str();
}

void ServingFlags::add_load_to(CLI::App& sub) {
  target_qps_option = sub.add_option("--target-qps", settings.target_qps,
                                     "--scenario server: Poisson arrivals at this many queries per second "
                                     "(with --find-max-qps: the first probe)");
  sub.add_flag("--find-max-qps", settings.find_max_qps,
               "--scenario server: search (bisection) for the highest QPS whose p99 meets --latency-bound-ms");
  sub.add_option("--latency-bound-ms", settings.latency_bound_ms, "--scenario server: the p99 latency bound")
      ->capture_default_str();
  sub.add_option("--max-probes", settings.max_probes, "--find-max-qps: most runs the search makes")
      ->capture_default_str();
  sub.add_option("--search-tolerance", settings.search_tolerance,
                 "--find-max-qps: stop once the lowest failing QPS is within this fraction of the highest passing")
      ->capture_default_str();
  sub.add_option("--seed", settings.seed, "Seed of the Poisson arrivals")->capture_default_str();
  sub.add_option("--samples-per-query", settings.samples_per_query, "--scenario multi-stream: samples per query")
      ->capture_default_str();
  sub.add_option("--interval-ms", settings.interval_ms, "--scenario multi-stream: a query every this many ms")
      ->capture_default_str();
  sub.add_option("--url", settings.url,
                 "--scenario server: drive a running `inferlab serve` at http://127.0.0.1:PORT (loopback only)");
  sub.add_option("--connections", settings.connections, "--url: concurrent keep-alive HTTP connections")
      ->capture_default_str();
}

ServingSettings ServingFlags::resolved() const {
  ServingSettings s = settings;
  s.batcher.batch_shapes = batch_shapes_from_name(batch_shapes);
  return s;
}

}  // namespace inferlab::cli
