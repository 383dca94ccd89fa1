// The native engine's squeeze-excitation passes (backends/native/
// channel_ops.h) against the oneDNN 2.6 primitives they replace, on the
// same nhwc buffers: GlobalAveragePool (channel_mean_nhwc vs pooling_avg)
// and the Mul by one value per channel (channel_scale_nhwc vs binary_mul),
// float32 and bfloat16, for three efficientnet_b0 shapes (32x112x112,
// 144x56x56, 672x14x14). Rounds interleave every configuration; the best
// round of each is printed, with the pass's time over oneDNN's.
//
//   native_channel_ops [--threads N] [--rounds N]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "backends/native/channel_ops.h"
#include "long_flags.h"

namespace {

using inferlab::DType;
using inferlab::native::NhwcExtent;
using memory = dnnl::memory;
using tag = memory::format_tag;

struct Case {
  std::string name;
  std::function<void()> pass, onednn;
  double pass_s = std::numeric_limits<double>::infinity(), onednn_s = std::numeric_limits<double>::infinity();
};

double seconds(const std::function<void()>& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int run(int argc, char** argv) {
  std::map<std::string, long> flags{{"threads", 2}, {"rounds", 50}};
  if (!inferlab::bench::parse_long_flags(argc, argv, 1, flags, "native_channel_ops")) return 2;
  omp_set_num_threads(static_cast<int>(flags["threads"]));
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  std::vector<Case> cases;
  std::vector<std::shared_ptr<void>> keep;  // buffers and primitives the closures use
  for (const NhwcExtent e : {NhwcExtent{1, 112 * 112, 32}, NhwcExtent{1, 56 * 56, 144}, NhwcExtent{1, 14 * 14, 672}}) {
    const std::int64_t side = e.pixels == 12544 ? 112 : e.pixels == 3136 ? 56 : 14;
    for (const bool bf16 : {false, true}) {
      const DType type = bf16 ? DType::kBFloat16 : DType::kFloat32;
      const auto dt = bf16 ? memory::data_type::bf16 : memory::data_type::f32;
      const std::size_t bytes = bf16 ? 2 : 4;
      const std::string label = std::to_string(e.channels) + "x" + std::to_string(side) + "x" + std::to_string(side) +
                                (bf16 ? " bf16" : " f32");
      auto x = std::make_shared<std::vector<std::uint8_t>>(e.pixels * e.channels * bytes, 0x3F);
      auto y = std::make_shared<std::vector<std::uint8_t>>(e.pixels * e.channels * bytes, 0);
      auto s = std::make_shared<std::vector<std::uint8_t>>(e.channels * bytes, 0x3F);
      auto scratch = std::make_shared<std::vector<float>>(inferlab::native::channel_mean_scratch_floats(e));
      keep.insert(keep.end(), {x, y, s, scratch});
      const memory::desc x_md({1, e.channels, side, side}, dt, tag::nhwc), s_md({1, e.channels, 1, 1}, dt, tag::nchw);
      // The pooling's result in the layout oneDNN picks (tag::any), as the
      // engine asks for it: a forced nchw one sends oneDNN to its reference kernel.
      const dnnl::pooling_forward::primitive_desc pool_pd({dnnl::prop_kind::forward_inference,
                                                           dnnl::algorithm::pooling_avg_exclude_padding,
                                                           x_md,
                                                           memory::desc({1, e.channels, 1, 1}, dt, tag::any),
                                                           {1, 1},
                                                           {side, side},
                                                           {0, 0},
                                                           {0, 0}},
                                                          engine);
      auto pool = std::make_shared<dnnl::pooling_forward>(pool_pd);
      auto pooled = std::make_shared<memory>(pool_pd.dst_desc(), engine);
      auto mul = std::make_shared<dnnl::binary>(
          dnnl::binary::primitive_desc({dnnl::algorithm::binary_mul, x_md, s_md, x_md}, engine));
      auto xm = std::make_shared<memory>(x_md, engine, x->data());
      auto ym = std::make_shared<memory>(x_md, engine, y->data());
      auto sm = std::make_shared<memory>(s_md, engine, s->data());
      keep.insert(keep.end(), {pool, pooled, mul, xm, ym, sm});
      const std::string pool_impl = pool_pd.impl_info_str();
      const std::string mul_impl =
          dnnl::binary::primitive_desc({dnnl::algorithm::binary_mul, x_md, s_md, x_md}, engine).impl_info_str();
      cases.push_back(
          {"mean  " + label + " (" + pool_impl + ")",
           [=] { inferlab::native::channel_mean_nhwc(x->data(), type, e, s->data(), type, scratch->data()); },
           [=, &stream] {
             pool->execute(stream, {{DNNL_ARG_SRC, *xm}, {DNNL_ARG_DST, *pooled}});
             stream.wait();
           }});
      cases.push_back(
          {"scale " + label + " (" + mul_impl + ")",
           [=] { inferlab::native::channel_scale_nhwc(x->data(), type, s->data(), type, false, e, y->data(), type); },
           [=, &stream] {
             mul->execute(stream, {{DNNL_ARG_SRC_0, *xm}, {DNNL_ARG_SRC_1, *sm}, {DNNL_ARG_DST, *ym}});
             stream.wait();
           }});
    }
  }
  for (long round = 0; round < flags["rounds"]; ++round) {
    for (auto& c : cases) {
      c.pass_s = std::min(c.pass_s, seconds(c.pass));
      c.onednn_s = std::min(c.onednn_s, seconds(c.onednn));
    }
  }
  std::printf("squeeze-excitation passes vs oneDNN 2.6, %ld thread(s), best of %ld interleaved rounds\n",
              flags["threads"], flags["rounds"]);
  std::printf("%-44s %10s %10s %8s\n", "step (oneDNN's kernel)", "pass ms", "oneDNN ms", "ratio");
  for (const auto& c : cases)
    std::printf("%-44s %10.4f %10.4f %8.2f\n", c.name.c_str(), c.pass_s * 1e3, c.onednn_s * 1e3, c.pass_s / c.onednn_s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return inferlab::bench::main_reporting_errors("native_channel_ops", run, argc, argv);
}
