#pragma once
// The operand slots of an int8 Conv, Gemm or MatMul: the optimizer's QDQ
// pattern Conv(DQ(Q(x, s_x, zp_x)), DQ(W_q, s_w, zp_w), bias) run as one
// integer primitive. fusion.h's Int8Layer lists its values in this order and
// the int8 kernels read their inputs by it; a fused residual follows the
// last slot in use.

#include <cstddef>

namespace inferlab::native {

/// Positions in an int8 layer's inputs.
struct Int8Operand {
  static constexpr std::size_t kQuantizedInput = 0;   ///< Q's u8/s8 output: the layer's source
  static constexpr std::size_t kInputScale = 1;       ///< s_x, one float shared by Q and DQ
  static constexpr std::size_t kInputZeroPoint = 2;   ///< zp_x: 0, or "" when absent
  static constexpr std::size_t kWeights = 3;          ///< W_q, an int8 initializer
  static constexpr std::size_t kWeightScale = 4;      ///< s_w, per tensor or per output channel
  static constexpr std::size_t kWeightZeroPoint = 5;  ///< zp_w: 0, or "" when absent
  static constexpr std::size_t kBias = 6;             ///< float32 bias, "" when absent
  /// Slots of a layer with a float32 result: the ones above.
  static constexpr std::size_t kFloatResultCount = 7;
  static constexpr std::size_t kOutputScale = 7;      ///< s_y of the QuantizeLinear absorbed (Conv only)
  static constexpr std::size_t kOutputZeroPoint = 8;  ///< zp_y: 0, or "" when absent
  /// Slots of a requantized Conv, which writes that QuantizeLinear's u8/s8 output.
  static constexpr std::size_t kRequantizedCount = 9;
};

/// The int8 weights a CPU without VNNI sums exactly: its kernels add u8 x s8
/// pairs in 16 bits (2 x 255 x 64 still fits) and those reading an s8 source
/// hold the weights halved, so they are given doubled (s8 holds 2 x 63).
struct SevenBitWeights {
  static constexpr int kMin = -64;
  static constexpr int kMax = 63;
};

}  // namespace inferlab::native
