// `inferlab validate`: only the output agreement check, with a short run.
#include <iostream>

#include "bench_flags.h"
#include "commands.h"
#include "inferlab/error.h"

namespace inferlab::cli {

namespace {

int run_validate(const ModelBackendFlags& flags, std::int64_t batch) {
  BenchOptions options;
  flags.fill(options);
  if (options.backends.size() < 2) throw Error("--backends: validate compares at least two backends");
  options.batches = {batch};
  // One measured call is enough: the compared output is the first call's.
  options.run.warmup_count = 0;
  options.run.warmup_min_duration_ms = 0;
  options.run.min_count = 1;
  options.run.min_duration_ms = 0;
  const std::string reference = reference_backend(options);
  std::vector<BenchResult> results = run_bench(options, {});

  int disagreements = 0, failures = 0;
  std::printf("%-18s %-12s %-8s %14s %12s  %s\n", "model", "backend", "status", "max|diff|", "cosine", "verdict");
  for (const auto& r : results) {
    std::string verdict;
    if (r.status == ResultStatus::kUnsupported) {
      verdict = "skipped: " + r.reason;
    } else if (!r.ok()) {
      verdict = "FAILED: " + r.reason;
      ++failures;
    } else if (r.backend == reference) {
      verdict = "reference";
    } else if (!r.validation) {
      verdict = "no reference output to compare with";
    } else if (r.validation->within_tolerance) {
      verdict = "agrees";
    } else {
      verdict = "DISAGREES";
      ++disagreements;
    }
    if (r.validation) {
      std::printf("%-18s %-12s %-8s %14.3g %12.8f  %s\n", r.model.c_str(), r.backend.c_str(),
                  result_status_name(r.status), r.validation->max_abs_diff, r.validation->cosine, verdict.c_str());
    } else {
      std::printf("%-18s %-12s %-8s %14s %12s  %s\n", r.model.c_str(), r.backend.c_str(), result_status_name(r.status),
                  "-", "-", verdict.c_str());
    }
  }
  std::printf("reference: %s; tolerance: max|diff| <= %g x max|ref|, cosine >= %g\n", reference.c_str(),
              options.tolerance, options.min_cosine);
  if (disagreements + failures > 0) {
    std::printf("%d disagreement(s), %d failure(s)\n", disagreements, failures);
    return 1;
  }
  return 0;
}

}  // namespace

void add_validate(CLI::App& app, int* exit_code) {
  auto* sub = app.add_subcommand("validate", "Check that backends agree on the same seeded input (exit 1 if not)");
  auto flags = std::make_shared<ModelBackendFlags>();
  auto batch = std::make_shared<std::int64_t>(1);
  flags->add_to(*sub);
  sub->add_option("--batch", *batch, "Batch size")->check(CLI::PositiveNumber);
  sub->callback([=] { *exit_code = run_validate(*flags, *batch); });
}

}  // namespace inferlab::cli
