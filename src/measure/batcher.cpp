// The dynamic batcher: one queue, K instance threads, each forming batches of
// up to B samples or whatever is queued once the oldest request waited D us.
#include "inferlab/batcher.h"

#include <algorithm>
#include <cstring>

#include "inferlab/error.h"

namespace inferlab {

namespace {

double ms_between(ServingClock::time_point from, ServingClock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

Shape with_batch(Shape shape, std::int64_t batch) {
  if (!shape.empty()) shape[0] = batch;
  return shape;
}

}  // namespace

DynamicBatcher::DynamicBatcher(const SessionFactory& load, std::vector<Shape> sample_shapes,
                               const BatcherSettings& settings, std::int64_t warmup_runs, BatchObserver observer)
    : settings_(settings), sample_shapes_(std::move(sample_shapes)), observer_(std::move(observer)) {
  validate_batcher_settings(settings_);
  const std::int64_t b_max = settings_.max_batch;
  warmup_ms_by_batch_.assign(static_cast<std::size_t>(b_max + 1), 0.0);
  stats_.batch_size_counts.assign(static_cast<std::size_t>(b_max + 1), 0);
  std::vector<std::int64_t> sizes;
  if (settings_.batch_shapes == BatchShapes::kExact) {
    for (std::int64_t b = 1; b <= b_max; ++b) sizes.push_back(b);
  } else {
    sizes.push_back(b_max);
  }
  for (int k = 0; k < settings_.instances; ++k) {
    auto instance = std::make_unique<Instance>();
    for (std::int64_t b : sizes) {
      Prepared p;
      p.batch = b;
      p.session = load();
      std::vector<Shape> shapes;
      for (const Shape& s : sample_shapes_) shapes.push_back(with_batch(s, b));
      p.session->prepare(shapes);
      for (const Shape& s : shapes) p.inputs.emplace_back(DType::kFloat32, s);
      for (const TensorSpec& o : p.session->output_specs()) {
        if (o.shape.empty() || o.shape[0] != b) {
          throw Error("output '" + o.name + "' has shape " + shape_to_string(o.shape) + " at batch " +
                      std::to_string(b) + ": dynamic batching needs a leading batch dimension on every output");
        }
        p.outputs.emplace_back(o.dtype, o.shape);
      }
      if (sample_outputs_.empty()) {
        for (const TensorSpec& o : p.session->output_specs()) {
          sample_outputs_.push_back(o);
          sample_outputs_.back().shape[0] = 1;
        }
        timed_region_ = p.session->timed_region_description();
        timing_boundary_ = p.session->timing_boundary();
      }
      // Warm-up: untimed for the results, but its mean seeds the QPS search.
      std::vector<const Tensor*> in;
      std::vector<Tensor*> out;
      for (const Tensor& t : p.inputs) in.push_back(&t);
      for (Tensor& t : p.outputs) out.push_back(&t);
      const auto t0 = ServingClock::now();
      for (std::int64_t i = 0; i < warmup_runs; ++i) p.session->run(in, out);
      if (warmup_runs > 0 && k == 0)
        warmup_ms_by_batch_[static_cast<std::size_t>(b)] =
            ms_between(t0, ServingClock::now()) / static_cast<double>(warmup_runs);
      instance->by_batch.push_back(std::move(p));
    }
    instances_.push_back(std::move(instance));
  }
  for (auto& instance : instances_) threads_.emplace_back([this, raw = instance.get()] { instance_loop(*raw); });
}

DynamicBatcher::~DynamicBatcher() { stop(); }

bool DynamicBatcher::submit(BatchRequest request) {
  if (request.samples < 1 || request.samples > settings_.max_batch) {
    throw Error("a request of " + std::to_string(request.samples) + " samples does not fit --max-batch " +
                std::to_string(settings_.max_batch));
  }
  if (request.inputs.size() != sample_shapes_.size()) {
    throw Error("the model takes " + std::to_string(sample_shapes_.size()) + " inputs, the request gave " +
                std::to_string(request.inputs.size()));
  }
  for (std::size_t i = 0; i < request.inputs.size(); ++i) {
    const Tensor* t = request.inputs[i];
    if (t == nullptr || t->dtype() != DType::kFloat32 || t->shape() != with_batch(sample_shapes_[i], request.samples)) {
      throw Error("input " + std::to_string(i) + " must be float32 of shape " +
                  shape_to_string(with_batch(sample_shapes_[i], request.samples)));
    }
  }
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queued_samples_ + request.samples > settings_.max_queue_samples) return false;
    queued_samples_ += request.samples;
    stats_.max_queue_samples_seen = std::max(stats_.max_queue_samples_seen, queued_samples_);
    queue_.push_back(Queued{std::move(request), ServingClock::now()});
  }
  // Every instance re-checks: one may be waiting for its batch to fill.
  wake_.notify_all();
  return true;
}

std::int64_t DynamicBatcher::cancel_pending() {
  std::deque<Queued> taken;
  {
    std::lock_guard lock(mutex_);
    taken.swap(queue_);
    queued_samples_ = 0;
  }
  const auto now = ServingClock::now();
  for (Queued& q : taken) {
    BatchReply reply;
    reply.cancelled = true;
    reply.error = "cancelled before it ran";
    reply.queue_ms = ms_between(q.enqueued, now);
    q.request.done(std::move(reply));
  }
  return static_cast<std::int64_t>(taken.size());
}

void DynamicBatcher::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  cancel_pending();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

std::int64_t DynamicBatcher::queued_samples() const {
  std::lock_guard lock(mutex_);
  return queued_samples_;
}

BatcherStats DynamicBatcher::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

std::int64_t DynamicBatcher::take_max_queue_samples_seen() {
  std::lock_guard lock(mutex_);
  const std::int64_t seen = stats_.max_queue_samples_seen;
  stats_.max_queue_samples_seen = queued_samples_;
  return seen;
}

double DynamicBatcher::warmup_engine_ms(std::int64_t batch) const {
  if (batch < 1 || batch > settings_.max_batch) return 0;
  return warmup_ms_by_batch_[static_cast<std::size_t>(batch)];
}

std::string DynamicBatcher::describe() const {
  const std::string k = std::to_string(settings_.instances) + (settings_.instances == 1 ? " instance" : " instances");
  if (settings_.batch_shapes == BatchShapes::kPadded) {
    return "padded: " + k + " x one session prepared at batch " + std::to_string(settings_.max_batch) +
           "; smaller batches are zero-padded to it";
  }
  return "exact: " + k + " x one session prepared per batch size 1.." + std::to_string(settings_.max_batch) +
         "; no padding";
}

DynamicBatcher::Prepared& DynamicBatcher::prepared_for(Instance& instance, std::int64_t samples) {
  if (settings_.batch_shapes == BatchShapes::kPadded) return instance.by_batch.front();
  return instance.by_batch[static_cast<std::size_t>(samples - 1)];
}

void DynamicBatcher::instance_loop(Instance& instance) {
  const auto delay = std::chrono::duration_cast<ServingClock::duration>(
      std::chrono::duration<double, std::micro>(settings_.max_queue_delay_us));
  std::vector<Queued> batch;
  for (;;) {
    batch.clear();
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      // Wait for a full batch, or until the oldest request has waited D.
      while (!queue_.empty() && !stopping_ && queued_samples_ < settings_.max_batch) {
        const auto deadline = queue_.front().enqueued + delay;
        if (ServingClock::now() >= deadline) break;
        wake_.wait_until(lock, deadline);
      }
      if (stopping_) return;
      if (queue_.empty()) continue;  // another instance took it
      std::int64_t samples = 0;
      while (!queue_.empty() && samples + queue_.front().request.samples <= settings_.max_batch) {
        samples += queue_.front().request.samples;
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queued_samples_ -= samples;
    }
    run_batch(instance, batch);
  }
}

void DynamicBatcher::run_batch(Instance& instance, std::vector<Queued>& batch) {
  std::int64_t samples = 0;
  for (const Queued& q : batch) samples += q.request.samples;
  Prepared& p = prepared_for(instance, samples);
  const auto start = ServingClock::now();
  // Gather each request's rows into the batch buffers; padding rows are zeros.
  for (std::size_t i = 0; i < p.inputs.size(); ++i) {
    auto* dst = static_cast<unsigned char*>(p.inputs[i].data());
    const std::size_t row_bytes = p.inputs[i].size_bytes() / static_cast<std::size_t>(p.batch);
    std::size_t offset = 0;
    for (const Queued& q : batch) {
      const std::size_t bytes = row_bytes * static_cast<std::size_t>(q.request.samples);
      std::memcpy(dst + offset, q.request.inputs[i]->data(), bytes);
      offset += bytes;
    }
    if (offset < p.inputs[i].size_bytes()) std::memset(dst + offset, 0, p.inputs[i].size_bytes() - offset);
  }
  std::vector<const Tensor*> in;
  std::vector<Tensor*> out;
  for (const Tensor& t : p.inputs) in.push_back(&t);
  for (Tensor& t : p.outputs) out.push_back(&t);
  std::string error;
  const auto run_start = ServingClock::now();
  try {
    p.session->run(in, out);
  } catch (const std::exception& e) {
    error = e.what();
  }
  const auto end = ServingClock::now();
  const double engine_ms = ms_between(run_start, end);
  {
    std::lock_guard lock(mutex_);
    ++stats_.batches;
    stats_.samples += samples;
    ++stats_.batch_size_counts[static_cast<std::size_t>(samples)];
  }
  if (observer_) observer_(samples, engine_ms);
  // Scatter: each request gets its own rows of every output.
  std::int64_t row = 0;
  for (Queued& q : batch) {
    BatchReply reply;
    reply.queue_ms = ms_between(q.enqueued, start);
    reply.engine_ms = engine_ms;
    reply.batch_samples = samples;
    reply.error = error;
    if (error.empty() && q.request.want_outputs) {
      for (const Tensor& o : p.outputs) {
        Tensor part(o.dtype(), with_batch(o.shape(), q.request.samples));
        const std::size_t row_bytes = o.size_bytes() / static_cast<std::size_t>(p.batch);
        std::memcpy(part.data(),
                    static_cast<const unsigned char*>(o.data()) + row_bytes * static_cast<std::size_t>(row),
                    part.size_bytes());
        reply.outputs.push_back(std::move(part));
      }
    }
    row += q.request.samples;
    q.request.done(std::move(reply));
    q.request.keep_alive.reset();
  }
}

}  // namespace inferlab
