// layout_passes (backends/native/layout_passes.h): the planar float32 image
// into bf16 nhwc gives the bits oneDNN's reorder gives, for sizes with and
// without a partial group of 16 pixels, two images, and special values
// (signed zeros, denormals, infinities, NaN, rounding ties); nothing is
// written past the output.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "backends/native/layout_passes.h"
#include "backends/native/onednn_context.h"

namespace inferlab::native {
namespace {

float from_bits(std::uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

TEST(NativeLayoutPasses, Planar3ToNhwcBf16EqualsOneDnnsReorder) {
  const std::string why = planar3_to_nhwc_bf16_unfit();
  if (!why.empty()) GTEST_SKIP() << why;
  for (const auto& [height, width] : std::vector<std::pair<int, int>>{{224, 224}, {7, 9}, {1, 1}, {4, 4}}) {
    const std::int64_t images = 2, pixels = static_cast<std::int64_t>(height) * width;
    std::vector<float> x(static_cast<std::size_t>(images * 3 * pixels));
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<float>(i) * 0.731F) * 300.0F;
    const std::vector<float> special{0.0F,
                                     -0.0F,
                                     from_bits(0x00000001),  // the smallest denormal
                                     from_bits(0x807FFFFF),  // the largest negative denormal
                                     std::numeric_limits<float>::infinity(),
                                     -std::numeric_limits<float>::infinity(),
                                     std::numeric_limits<float>::quiet_NaN(),
                                     from_bits(0x3F808000),   // a tie, rounds to even (down)
                                     from_bits(0x3F818000),   // a tie, rounds to even (up)
                                     from_bits(0x7F7FFFFF)};  // rounds up to infinity
    for (std::size_t k = 0; k < special.size() && k * 3 < x.size(); ++k) x[x.size() - 1 - k * 3] = special[k];
    std::vector<std::uint16_t> mine(x.size() + 64, 0xABCD), theirs(x.size());
    planar3_to_nhwc_bf16(x.data(), images, pixels, mine.data());
    using dnnl::memory;
    const memory::dims dims{images, 3, height, width};
    memory src({dims, memory::data_type::f32, memory::format_tag::nchw}, cpu_engine(), x.data());
    memory dst({dims, memory::data_type::bf16, memory::format_tag::nhwc}, cpu_engine(), theirs.data());
    dnnl::reorder(src, dst).execute(cpu_stream(), src, dst);
    cpu_stream().wait();
    for (std::size_t i = 0; i < theirs.size(); ++i)
      ASSERT_EQ(mine[i], theirs[i]) << height << "x" << width << " at " << i << " (" << x[(i % 3) * pixels + i / 3]
                                    << ")";
    for (std::size_t i = theirs.size(); i < mine.size(); ++i)
      ASSERT_EQ(mine[i], 0xABCD) << "wrote past its output at " << i;
  }
}

}  // namespace
}  // namespace inferlab::native
