#pragma once
// `bench --scenario server --url URL`: the load generator driving a running
// `inferlab serve` over HTTP from this (client) process. Internal to
// src/serve and the CLI.

#include <string>

#include "inferlab/result.h"
#include "inferlab/run_rules.h"
#include "inferlab/serving.h"

namespace inferlab {

/// A parsed http://HOST:PORT URL whose host is loopback.
struct LoopbackUrl {
  std::string host;  ///< 127.0.0.1, localhost or ::1
  int port = 0;
};

/// Parses `url` (http only, loopback hosts only, a port, no path beyond "/").
/// Throws Error (kBadInput) naming --url and what is wrong.
LoopbackUrl parse_loopback_url(const std::string& url);

/// Runs the server scenario of `settings` (settings.url set) against the
/// model `model_name` on that server: Poisson arrivals, each query one
/// seeded sample as KServe v2 JSON over `settings.connections` keep-alive
/// connections; latency from the scheduled arrival to the parsed response.
/// The row's backend, precision, threads and batcher are the server's (from
/// its model metadata); split_ms separates the server's queue and engine
/// time from the round trip's network and serialisation. Throws Error
/// (kBadInput) when nothing answers at the URL or it does not serve the model.
BenchResult run_http_server_bench(const std::string& model_name, const ServingSettings& settings,
                                  const RunSettings& run);

}  // namespace inferlab
