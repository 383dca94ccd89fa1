#pragma once
/// @file sha256.h
/// SHA-256 (FIPS 180-4) for model file hashes recorded with every result.
/// Internal to inferlab_model: results name the exact model bytes they measured.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace inferlab {

/// Incremental SHA-256. Not thread-safe; one object per stream.
class Sha256 {
 public:
  Sha256();
  /// Feeds `size` bytes.
  void update(const void* data, std::size_t size);
  /// Finishes the hash and returns it as 64 lower-case hex digits. The object
  /// must not be updated afterwards.
  std::string hex_digest();

 private:
  void compress(const std::uint8_t* block);

  std::array<std::uint32_t, 8> state_;
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t total_bytes_ = 0;
};

/// SHA-256 of `bytes` as lower-case hex.
std::string sha256_hex(std::string_view bytes);

/// SHA-256 of the file at `path` as lower-case hex, read in blocks so large
/// models need no extra memory. Throws Error naming the file when it cannot be read.
std::string sha256_file_hex(const std::string& path);

}  // namespace inferlab
