// Reading an .onnx file into a ModelProto without a transient second copy
// of the weights.
//
// protobuf 3.21 reads a bytes field longer than 50 MB from a stream by
// appending to a growing string, so VGG16's 411 MB fc6 weight passed through
// a 400 MB buffer and its doubled successor at once: native's peak RSS was
// ~240 MB above its steady state. Here the file is walked once with the
// large initializers' raw_data skipped (their offsets noted), the remaining
// small message is parsed normally, and each weight is then read from the
// file straight into a string of its exact size.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/wire_format_lite.h>

#include "inferlab/error.h"
#include "model/onnx_util.h"

namespace inferlab::onnx_util {

namespace {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;
using google::protobuf::io::CodedOutputStream;
using google::protobuf::io::StringOutputStream;

constexpr int kModelGraph = 7;                  // ModelProto.graph
constexpr int kGraphInitializer = 5;            // GraphProto.initializer
constexpr int kTensorRawData = 9;               // TensorProto.raw_data
constexpr std::uint32_t kLargeBytes = 1 << 20;  // smaller raw_data is parsed as usual

// raw_data left out of the parsed message: which initializer, where in the file.
struct DeferredWeight {
  int initializer = 0;
  std::int64_t file_offset = 0;
  std::uint32_t size = 0;
};

class FileDescriptor {
 public:
  explicit FileDescriptor(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0) throw Error(path + ": cannot open for reading (" + std::strerror(errno) + ")");
  }
  ~FileDescriptor() { ::close(fd_); }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

class Walker {
 public:
  Walker(CodedInputStream& in, const std::string& path) : in_(in), path_(path) {}

  // The ModelProto's bytes with large raw_data removed, into `out`.
  void model(std::string& out) {
    for (std::uint32_t tag = in_.ReadTag(); tag != 0; tag = in_.ReadTag()) {
      if (WireFormatLite::GetTagFieldNumber(tag) == kModelGraph &&
          WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
        std::string graph_bytes;
        nested(&Walker::graph, graph_bytes);
        append_bytes_field(out, tag, graph_bytes);
      } else {
        copy_field(tag, out);
      }
    }
    if (!in_.ConsumedEntireMessage()) throw bad();
  }
  std::vector<DeferredWeight> deferred;

 private:
  void graph(std::string& out) {
    for (std::uint32_t tag = in_.ReadTag(); tag != 0; tag = in_.ReadTag()) {
      if (WireFormatLite::GetTagFieldNumber(tag) == kGraphInitializer &&
          WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
        std::string tensor_bytes;
        nested(&Walker::tensor, tensor_bytes);
        append_bytes_field(out, tag, tensor_bytes);
        ++initializers_;
      } else {
        copy_field(tag, out);
      }
    }
  }

  void tensor(std::string& out) {
    for (std::uint32_t tag = in_.ReadTag(); tag != 0; tag = in_.ReadTag()) {
      if (WireFormatLite::GetTagFieldNumber(tag) == kTensorRawData &&
          WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
        std::uint32_t size = 0;
        if (!in_.ReadVarint32(&size)) throw bad();
        if (size >= kLargeBytes) {
          deferred.push_back({initializers_, in_.CurrentPosition(), size});
          if (!in_.Skip(static_cast<int>(size))) throw bad();
          continue;
        }
        std::string bytes;
        if (!in_.ReadString(&bytes, static_cast<int>(size))) throw bad();
        append_bytes_field(out, tag, bytes);
      } else {
        copy_field(tag, out);
      }
    }
  }

  // A length-delimited field walked by `walk` inside its limit.
  void nested(void (Walker::*walk)(std::string&), std::string& out) {
    std::uint32_t size = 0;
    if (!in_.ReadVarint32(&size)) throw bad();
    const auto limit = in_.PushLimit(static_cast<int>(size));
    (this->*walk)(out);
    if (!in_.ConsumedEntireMessage()) throw bad();
    in_.PopLimit(limit);
  }

  void copy_field(std::uint32_t tag, std::string& out) {
    StringOutputStream stream(&out);
    CodedOutputStream coded(&stream);
    if (!WireFormatLite::SkipField(&in_, tag, &coded)) throw bad();
  }

  static void append_bytes_field(std::string& out, std::uint32_t tag, const std::string& bytes) {
    StringOutputStream stream(&out);
    CodedOutputStream coded(&stream);
    coded.WriteTag(tag);
    coded.WriteVarint32(static_cast<std::uint32_t>(bytes.size()));
    coded.WriteRaw(bytes.data(), static_cast<int>(bytes.size()));
  }

  Error bad() const { return Error(path_ + ": not a valid ONNX model (protobuf parse failed; truncated or not ONNX)"); }

  CodedInputStream& in_;
  const std::string& path_;
  int initializers_ = 0;
};

void read_exactly(int fd, std::int64_t offset, std::string& into, const std::string& path) {
  std::size_t done = 0;
  while (done < into.size()) {
    const ssize_t got = ::pread(fd, into.data() + done, into.size() - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) throw Error(path + ": not a valid ONNX model (a weight runs past the end of the file)");
    done += static_cast<std::size_t>(got);
  }
}

}  // namespace

void parse_model_file(const std::string& path, onnx::ModelProto& model) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(path + ": no such file");
  if (std::filesystem::is_directory(path, ec)) throw Error(path + ": is a directory, not an ONNX file");
  if (std::filesystem::file_size(path, ec) == 0) throw Error(path + ": not a valid ONNX model (the file is empty)");
  FileDescriptor file(path);
  std::string stripped;
  std::vector<DeferredWeight> deferred;
  {
    google::protobuf::io::FileInputStream stream(file.get());
    CodedInputStream in(&stream);
    in.SetTotalBytesLimit(std::numeric_limits<int>::max());
    Walker walker(in, path);
    walker.model(stripped);
    deferred = std::move(walker.deferred);
  }
  if (!model.ParseFromString(stripped)) {
    throw Error(path + ": not a valid ONNX model (protobuf parse failed; truncated or not ONNX)");
  }
  std::string().swap(stripped);
  auto& initializers = *model.mutable_graph()->mutable_initializer();
  for (const auto& w : deferred) {
    if (w.initializer >= initializers.size()) throw Error(path + ": not a valid ONNX model (initializer count)");
    std::string* raw = initializers.Mutable(w.initializer)->mutable_raw_data();
    raw->resize(w.size);
    read_exactly(file.get(), w.file_offset, *raw, path);
  }
  check_parsed_model(model, path);
}

}  // namespace inferlab::onnx_util
