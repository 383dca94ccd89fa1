#include "inferlab/tensor.h"

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

#include "inferlab/error.h"

namespace inferlab {

// splitmix64: tiny, fully specified, and identical on every platform, unlike
// the standard distributions whose algorithms are implementation-defined.
std::uint64_t splitmix64_next(std::uint64_t& state) {
  state += 0x9E3779B97F4A7C15ULL;
  std::uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

namespace {

constexpr std::size_t kTensorAlignment = 64;

std::string trim(const std::string& text) {
  std::size_t begin = 0;
  std::size_t end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return text.substr(begin, end - begin);
}

[[noreturn]] void throw_malformed_shape(const std::string& text, const std::string& why) {
  throw Error("malformed shape '" + text + "': " + why + " (expected e.g. 1x3x224x224; '?' for an unknown dimension)");
}

std::int64_t parse_dimension(const std::string& token, const std::string& whole) {
  const std::string dim = trim(token);
  if (dim.empty()) throw_malformed_shape(whole, "empty dimension");
  if (dim == "?" || dim == "-1") return -1;
  std::int64_t value = 0;
  for (const char c : dim) {
    if (c < '0' || c > '9') throw_malformed_shape(whole, "'" + dim + "' is not a dimension");
    if (value > (std::numeric_limits<std::int64_t>::max() - (c - '0')) / 10) {
      throw_malformed_shape(whole, "dimension '" + dim + "' is too large");
    }
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace

std::size_t dtype_size_bytes(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
    case DType::kInt32:
      return 4;
    case DType::kFloat16:
    case DType::kBFloat16:
      return 2;
    case DType::kInt8:
    case DType::kUInt8:
    case DType::kBool:
      return 1;
    case DType::kInt64:
      return 8;
    case DType::kUnknown:
      return 0;
  }
  return 0;
}

std::string dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return "float32";
    case DType::kFloat16:
      return "float16";
    case DType::kBFloat16:
      return "bfloat16";
    case DType::kInt8:
      return "int8";
    case DType::kUInt8:
      return "uint8";
    case DType::kInt32:
      return "int32";
    case DType::kInt64:
      return "int64";
    case DType::kBool:
      return "bool";
    case DType::kUnknown:
      return "unknown";
  }
  return "unknown";
}

DType dtype_from_name(const std::string& name) {
  for (const DType dtype : {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kInt8, DType::kUInt8,
                            DType::kInt32, DType::kInt64, DType::kBool}) {
    if (dtype_name(dtype) == name) return dtype;
  }
  return DType::kUnknown;
}

std::int64_t shape_element_count(const Shape& shape) {
  std::int64_t count = 1;
  for (const std::int64_t dim : shape) {
    if (dim < 0) return 0;
    count *= dim;
  }
  return count;
}

std::string shape_to_string(const Shape& shape) {
  std::string text;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += 'x';
    text += shape[i] < 0 ? std::string("?") : std::to_string(shape[i]);
  }
  return text;
}

Shape shape_from_string(const std::string& text) {
  if (trim(text).empty()) throw_malformed_shape(text, "no dimensions");
  Shape shape;
  std::string token;
  for (const char c : text) {
    if (c == 'x' || c == 'X' || c == ',') {
      shape.push_back(parse_dimension(token, text));
      token.clear();
    } else {
      token += c;
    }
  }
  shape.push_back(parse_dimension(token, text));
  return shape;
}

bool shape_is_static(const Shape& shape) {
  for (const std::int64_t dim : shape) {
    if (dim < 0) return false;
  }
  return true;
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  if (dtype_ == DType::kUnknown) throw Error("cannot allocate a tensor of unknown element type");
  if (!shape_is_static(shape_)) {
    throw Error("cannot allocate a tensor of shape " + shape_to_string(shape_) + ": a dimension is unknown");
  }
  // aligned_alloc requires a size that is a multiple of the alignment; a
  // zero-element tensor still gets one block so data() is never null.
  std::size_t bytes = size_bytes();
  bytes = bytes == 0 ? kTensorAlignment : (bytes + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
  void* memory = std::aligned_alloc(kTensorAlignment, bytes);
  if (memory == nullptr) {
    throw Error(
        "out of memory allocating " + std::to_string(bytes) + " bytes for a tensor of shape " + shape_to_string(shape_),
        ErrorKind::kRuntime);
  }
  // Zeroed so that a tensor nobody wrote has reproducible contents.
  std::memset(memory, 0, bytes);
  data_.reset(memory);
}

Tensor Tensor::clone() const {
  if (!data_) return Tensor();
  Tensor copy(dtype_, shape_);
  std::memcpy(copy.data(), data(), size_bytes());
  return copy;
}

void Tensor::AlignedFree::operator()(void* p) const { std::free(p); }

void fill_seeded_uniform(Tensor& tensor, std::uint64_t seed) {
  if (tensor.dtype() != DType::kFloat32) {
    throw Error("fill_seeded_uniform needs a float32 tensor (got " + dtype_name(tensor.dtype()) + ")");
  }
  std::uint64_t state = seed;
  float* values = tensor.data_as<float>();
  const std::int64_t count = tensor.element_count();
  for (std::int64_t i = 0; i < count; ++i) {
    // 24 random bits fit a float mantissa exactly, so the mapping to [-1, 1)
    // involves no rounding and the bytes match on every platform.
    const auto bits = static_cast<std::int32_t>(splitmix64_next(state) >> 40);
    values[i] = static_cast<float>(bits - (1 << 23)) * (1.0f / static_cast<float>(1 << 23));
  }
}

}  // namespace inferlab
