#pragma once
/// @file tensor.h
/// Element types, shapes and a simple owning host tensor.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace inferlab {

/// Element type of a tensor.
enum class DType { kFloat32, kFloat16, kBFloat16, kInt8, kUInt8, kInt32, kInt64, kBool, kUnknown };

/// Size of one element in bytes (0 for kUnknown).
std::size_t dtype_size_bytes(DType dtype);
/// Lower-case name, e.g. "float32".
std::string dtype_name(DType dtype);
/// Parses a name as written by dtype_name(); returns kUnknown when not recognised.
DType dtype_from_name(const std::string& name);

/// Tensor dimensions, outermost first. A negative dimension means "unknown" (dynamic).
using Shape = std::vector<std::int64_t>;

/// Number of elements; 0 when any dimension is unknown.
std::int64_t shape_element_count(const Shape& shape);
/// "1x3x224x224"; unknown dimensions print as '?'.
std::string shape_to_string(const Shape& shape);
/// Parses "1x3x224x224" (also accepts ','); throws Error on a malformed string.
Shape shape_from_string(const std::string& text);
/// True when every dimension is known (>= 0).
bool shape_is_static(const Shape& shape);

/// Name, element type and shape of one model input or output.
struct TensorSpec {
  std::string name;
  DType dtype = DType::kFloat32;
  Shape shape;
  std::string layout;  ///< e.g. "NCHW"; empty when not known
};

/// An owning, 64-byte aligned host tensor. Movable, not copyable (copies of
/// activations are deliberate: use clone()). Not thread-safe.
class Tensor {
 public:
  Tensor() = default;
  Tensor(DType dtype, Shape shape);

  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  std::int64_t element_count() const { return shape_element_count(shape_); }
  std::size_t size_bytes() const { return static_cast<std::size_t>(element_count()) * dtype_size_bytes(dtype_); }

  void* data() { return data_.get(); }
  const void* data() const { return data_.get(); }
  template <typename T>
  T* data_as() {
    return static_cast<T*>(data());
  }
  template <typename T>
  const T* data_as() const {
    return static_cast<const T*>(data());
  }

  /// A deep copy.
  Tensor clone() const;

 private:
  struct AlignedFree {
    void operator()(void* p) const;
  };
  DType dtype_ = DType::kUnknown;
  Shape shape_;
  std::unique_ptr<void, AlignedFree> data_;
};

/// Advances a splitmix64 generator and returns its next 64-bit value. Fully
/// specified (unlike std:: distributions), so Python scripts can reproduce it.
std::uint64_t splitmix64_next(std::uint64_t& state);

/// Fills a float32 tensor with values uniform in [-1, 1) from a fixed-seed
/// generator, so every backend and every process sees the same input bytes.
void fill_seeded_uniform(Tensor& tensor, std::uint64_t seed);

}  // namespace inferlab
