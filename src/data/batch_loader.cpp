// Batches are fixed index ranges of the dataset, loaded by whichever worker
// is free and handed out in order; at most `queue_batches` finished batches
// wait ahead of the consumer, so memory stays bounded on any dataset size.
#include "inferlab/batch_loader.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "inferlab/error.h"
#include "inferlab/preprocess_image.h"

namespace inferlab {

namespace {

constexpr std::size_t kCorruptExamplesKept = 5;

double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

double LoaderStats::samples_per_s() const { return busy_ms > 0 ? samples * threads * 1000.0 / busy_ms : 0; }

BatchLoader::BatchLoader(const Dataset& dataset, const Preprocess& preprocess, const LoaderOptions& options)
    : dataset_(dataset), preprocess_(preprocess), options_(options) {
  if (options_.batch < 1) throw Error("batch loader: batch must be >= 1");
  if (options_.threads < 1) throw Error("batch loader: threads must be >= 1");
  options_.queue_batches = std::max<std::size_t>(options_.queue_batches, 1);
  sample_count_ = options_.limit > 0 ? std::min(options_.limit, dataset_.size()) : dataset_.size();
  const auto batch = static_cast<std::size_t>(options_.batch);
  batch_count_ = (sample_count_ + batch - 1) / batch;
  stats_.threads = options_.threads;
  for (int t = 0; t < options_.threads; ++t) workers_.emplace_back([this, t] { work(t); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  room_.notify_all();
  ready_.notify_all();
  for (auto& worker : workers_) worker.join();
}

Batch BatchLoader::load(std::size_t sequence, double& busy_ms) const {
  const auto start = std::chrono::steady_clock::now();
  const auto batch = static_cast<std::size_t>(options_.batch);
  Shape shape{options_.batch};
  for (auto d : preprocess_.sample_shape()) shape.push_back(d);
  Batch out;
  out.sequence = sequence;
  out.input = Tensor(DType::kFloat32, shape);
  const std::size_t sample_floats = static_cast<std::size_t>(shape_element_count(preprocess_.sample_shape()));
  float* data = out.input.data_as<float>();
  const std::size_t first = sequence * batch;
  const std::size_t last = std::min(first + batch, sample_count_);
  for (std::size_t index = first; index < last; ++index) {
    const Image image = dataset_.decode(index);
    if (image.empty()) {
      out.corrupt.push_back(dataset_.sample_id(index));
      continue;
    }
    preprocess_image(image, preprocess_, data + out.valid * sample_floats);
    if (options_.thumbnail_px > 0) out.thumbnails.push_back(make_thumbnail(image, options_.thumbnail_px));
    out.indices.push_back(index);
    out.labels.push_back(dataset_.label(index));
    ++out.valid;
  }
  // Zero padding keeps every batch the shape the session was prepared for.
  std::memset(data + out.valid * sample_floats, 0, (batch - out.valid) * sample_floats * sizeof(float));
  busy_ms += elapsed_ms(start);
  return out;
}

void BatchLoader::work(int /*thread_index*/) {
  for (;;) {
    std::size_t sequence = 0;
    {
      std::unique_lock lock(mutex_);
      room_.wait(lock, [&] {
        return stopping_ || next_to_load_ >= batch_count_ || next_to_load_ < next_to_deliver_ + options_.queue_batches;
      });
      if (stopping_ || next_to_load_ >= batch_count_) return;
      sequence = next_to_load_++;
    }
    double busy_ms = 0;
    Batch batch;
    std::string error;
    try {
      batch = load(sequence, busy_ms);
    } catch (const std::exception& e) {
      error = e.what();
    }
    {
      std::lock_guard lock(mutex_);
      stats_.busy_ms += busy_ms;
      if (!error.empty()) {
        if (worker_error_.empty()) worker_error_ = dataset_.name() + ": " + error;
        stopping_ = true;
      } else {
        stats_.samples += batch.valid;
        stats_.corrupt += batch.corrupt.size();
        for (const auto& id : batch.corrupt) {
          if (stats_.corrupt_examples.size() < kCorruptExamplesKept) stats_.corrupt_examples.push_back(id);
        }
        finished_.emplace(sequence, std::move(batch));
      }
    }
    ready_.notify_all();
  }
}

std::optional<Batch> BatchLoader::next() {
  const auto start = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_);
  if (next_to_deliver_ >= batch_count_) return std::nullopt;
  ready_.wait(lock, [&] { return !worker_error_.empty() || finished_.count(next_to_deliver_) > 0; });
  stats_.consumer_wait_ms += elapsed_ms(start);
  if (!worker_error_.empty()) throw Error(worker_error_);
  auto node = finished_.extract(next_to_deliver_++);
  lock.unlock();
  room_.notify_all();
  return std::move(node.mapped());
}

LoaderStats BatchLoader::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace inferlab
