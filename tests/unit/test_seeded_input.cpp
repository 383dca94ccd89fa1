// The seeded input's values are a cross-language contract: the Python
// workers' port (python/inferlab_py/seeded.py, tested in
// tests/python/test_seeded.py against these same numbers) must produce the
// same bytes, or jax/openvino outputs could not be validated against the
// C++ engines.
#include <gtest/gtest.h>

#include "inferlab/tensor.h"

namespace inferlab {
namespace {

TEST(SeededInput, MatchesTheValuesThePythonPortIsTestedAgainst) {
  Tensor t(DType::kFloat32, Shape{2, 3, 5, 7});
  fill_seeded_uniform(t, 20261124);
  const float* v = t.data_as<float>();
  const float first[] = {0.0041321516f, -0.553278327f, 0.734575987f, -0.361197472f, -0.207595468f, 0.407503963f};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(v[i], first[i]) << "element " << i;
  EXPECT_EQ(v[209], 0.386660337f);
  double weighted = 0;
  for (int i = 0; i < 210; ++i) weighted += static_cast<double>(v[i]) * (i + 1);
  EXPECT_DOUBLE_EQ(weighted, 1383.7371019124985);
}

}  // namespace
}  // namespace inferlab
