#include "onnx_writer.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <vector>

namespace rllm {
namespace {

// One protobuf message being serialized. Nested messages are serialized into
// their own buffer first and then appended with their length.
class ProtoOut {
 public:
  void varint(uint32_t field, uint64_t v) {
    key(field, 0);
    raw_varint(v);
  }
  void fixed32(uint32_t field, uint32_t v) {
    key(field, 5);
    char b[4];
    std::memcpy(b, &v, 4);
    buf_.append(b, 4);
  }
  void bytes(uint32_t field, const void* p, size_t n) {
    key(field, 2);
    raw_varint(n);
    buf_.append(static_cast<const char*>(p), n);
  }
  void str(uint32_t field, std::string_view s) { bytes(field, s.data(), s.size()); }
  void message(uint32_t field, const ProtoOut& m) { str(field, m.buf_); }
  // Packed repeated int64 (negative values take ten bytes, as protobuf does).
  void packed_ints(uint32_t field, const std::vector<int64_t>& v) {
    ProtoOut p;
    for (int64_t x : v) p.raw_varint(static_cast<uint64_t>(x));
    str(field, p.buf_);
  }
  void packed_floats(uint32_t field, const std::vector<float>& v) {
    bytes(field, v.data(), v.size() * sizeof(float));
  }
  const std::string& data() const { return buf_; }

 private:
  void key(uint32_t field, uint32_t wire) { raw_varint((uint64_t{field} << 3) | wire); }
  void raw_varint(uint64_t v) {
    while (v >= 0x80) {
      buf_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    buf_.push_back(static_cast<char>(v));
  }
  std::string buf_;
};

// The external data file being written: tensors are appended at aligned offsets.
class DataSink {
 public:
  DataSink(std::FILE* f, std::string location, size_t alignment)
      : f_(f), location_(std::move(location)), alignment_(alignment) {}

  // Appends the bytes; returns their offset, or a failed Status.
  Result<uint64_t> append(const OnnxTensor& t) {
    static const char zeros[256] = {};
    size_t pad = (alignment_ - offset_ % alignment_) % alignment_;
    while (pad > 0) {
      size_t n = std::min(pad, sizeof(zeros));
      if (std::fwrite(zeros, 1, n, f_) != n) return write_error(t);
      pad -= n;
      offset_ += n;
    }
    uint64_t at = offset_;
    if (t.nbytes > 0 && std::fwrite(t.data, 1, t.nbytes, f_) != t.nbytes) return write_error(t);
    offset_ += t.nbytes;
    return at;
  }
  const std::string& location() const { return location_; }
  uint64_t size() const { return offset_; }

 private:
  Status write_error(const OnnxTensor& t) const {
    return Status::error("writing tensor '" + t.name + "' to '" + location_ + "' failed");
  }
  std::FILE* f_;
  std::string location_;
  size_t alignment_;
  uint64_t offset_ = 0;
};

struct Writer {
  DataSink* sink;  // null: every tensor inline
  size_t inline_limit;

  Result<ProtoOut> tensor(const OnnxTensor& t, bool allow_external) const {
    ProtoOut p;
    if (!t.dims.empty()) p.packed_ints(1, t.dims);
    p.varint(2, static_cast<uint64_t>(t.dtype));
    if (!t.name.empty()) p.str(8, t.name);
    if (t.dtype == DType::string) {
      for (const auto& s : t.strings) p.str(6, s);
      return p;
    }
    if (t.data == nullptr && t.nbytes > 0)
      return Status::error("tensor '" + t.name + "' has no data");
    if (allow_external && sink != nullptr && t.nbytes > inline_limit) {
      RLLM_ASSIGN_OR_RETURN(uint64_t offset, sink->append(t));
      auto entry = [&p](const std::string& k, const std::string& v) {
        ProtoOut e;
        e.str(1, k);
        e.str(2, v);
        p.message(13, e);
      };
      entry("location", sink->location());
      entry("offset", std::to_string(offset));
      entry("length", std::to_string(t.nbytes));
      p.varint(14, 1);  // data_location = EXTERNAL
      return p;
    }
    p.bytes(9, t.data, t.nbytes);
    return p;
  }

  static ProtoOut value_info(const OnnxValueInfo& v) {
    ProtoOut p;
    p.str(1, v.name);
    if (v.elem_type == DType::undefined && !v.has_shape) return p;
    ProtoOut tensor_type;
    if (v.elem_type != DType::undefined) tensor_type.varint(1, static_cast<uint64_t>(v.elem_type));
    if (v.has_shape) {
      ProtoOut shape;
      for (const auto& d : v.dims) {
        ProtoOut dim;
        if (d.value >= 0) dim.varint(1, static_cast<uint64_t>(d.value));
        else if (!d.param.empty()) dim.str(2, d.param);
        shape.message(1, dim);
      }
      tensor_type.message(2, shape);
    }
    ProtoOut type;
    type.message(1, tensor_type);
    p.message(2, type);
    return p;
  }

  Result<ProtoOut> attribute(const OnnxAttribute& a) const {
    ProtoOut p;
    p.str(1, a.name);
    switch (a.type) {
      case AttrType::f: {
        uint32_t b;
        std::memcpy(&b, &a.f, 4);
        p.fixed32(2, b);
        break;
      }
      case AttrType::i: p.varint(3, static_cast<uint64_t>(a.i)); break;
      case AttrType::s: p.str(4, a.s); break;
      case AttrType::tensor: case AttrType::tensors:
        if (a.type == AttrType::tensor && a.tensors.size() != 1)
          return Status::error("attribute '" + a.name + "' holds " + std::to_string(a.tensors.size()) +
                               " tensors, expected one");
        for (const auto& t : a.tensors) {
          RLLM_ASSIGN_OR_RETURN(ProtoOut tp, tensor(t, false));
          p.message(a.type == AttrType::tensor ? 5 : 10, tp);
        }
        break;
      case AttrType::graph: case AttrType::graphs:
        if (a.type == AttrType::graph && a.graphs.size() != 1)
          return Status::error("attribute '" + a.name + "' holds " + std::to_string(a.graphs.size()) +
                               " graphs, expected one");
        for (const auto& g : a.graphs) {
          RLLM_ASSIGN_OR_RETURN(ProtoOut gp, graph(*g));
          p.message(a.type == AttrType::graph ? 6 : 11, gp);
        }
        break;
      case AttrType::floats: p.packed_floats(7, a.floats); break;
      case AttrType::ints: p.packed_ints(8, a.ints); break;
      case AttrType::strings:
        for (const auto& s : a.strings) p.str(9, s);
        break;
      default:
        return Status::error("attribute '" + a.name + "': type " +
                             std::to_string(static_cast<int>(a.type)) + " cannot be written");
    }
    p.varint(20, static_cast<uint64_t>(a.type));
    return p;
  }

  Result<ProtoOut> node(const OnnxNode& n) const {
    ProtoOut p;
    for (const auto& s : n.inputs) p.str(1, s);
    for (const auto& s : n.outputs) p.str(2, s);
    if (!n.name.empty()) p.str(3, n.name);
    p.str(4, n.op_type);
    for (const auto& a : n.attributes) {
      auto ap = attribute(a);
      if (!ap.ok()) return Status::error(n.describe() + ": " + ap.status().message());
      p.message(5, *ap);
    }
    if (!n.domain.empty()) p.str(7, n.domain);
    return p;
  }

  Result<ProtoOut> graph(const OnnxGraph& g) const {
    ProtoOut p;
    for (const auto& n : g.nodes) {
      RLLM_ASSIGN_OR_RETURN(ProtoOut np, node(n));
      p.message(1, np);
    }
    p.str(2, g.name);
    for (const auto& t : g.initializers) {
      RLLM_ASSIGN_OR_RETURN(ProtoOut tp, tensor(t, true));
      p.message(5, tp);
    }
    for (const auto& v : g.inputs) p.message(11, value_info(v));
    for (const auto& v : g.outputs) p.message(12, value_info(v));
    for (const auto& v : g.value_info) p.message(13, value_info(v));
    return p;
  }
};

Status write_file(const std::string& path, const std::string& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return Status::error("cannot create '" + path + "': " + std::strerror(errno));
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok = std::fclose(f) == 0 && ok;
  if (!ok) return Status::error("writing '" + path + "' failed");
  return ok_status();
}

}  // namespace

Status write_onnx_model(const OnnxModel& model, const std::string& path, const OnnxWriteOptions& options) {
  namespace fs = std::filesystem;
  const fs::path onnx_path(path);
  const std::string location =
      options.data_file.empty() ? onnx_path.filename().string() + ".data" : options.data_file;
  const fs::path data_path = onnx_path.parent_path() / location;
  const std::string data_tmp = data_path.string() + ".tmp";
  const std::string onnx_tmp = path + ".tmp";

  std::FILE* df = std::fopen(data_tmp.c_str(), "wb");
  if (df == nullptr) return Status::error("cannot create '" + data_tmp + "': " + std::strerror(errno));
  DataSink sink(df, location, options.alignment == 0 ? 1 : options.alignment);
  Writer w{&sink, options.inline_limit};

  ProtoOut m;
  m.varint(1, static_cast<uint64_t>(model.ir_version));
  for (const auto& o : model.opsets) {
    ProtoOut op;
    if (!o.domain.empty()) op.str(1, o.domain);
    op.varint(2, static_cast<uint64_t>(o.version));
    m.message(8, op);
  }
  if (!model.producer_name.empty()) m.str(2, model.producer_name);
  if (!model.producer_version.empty()) m.str(3, model.producer_version);
  if (!model.domain.empty()) m.str(4, model.domain);
  if (model.model_version != 0) m.varint(5, static_cast<uint64_t>(model.model_version));
  auto graph = w.graph(model.graph);
  bool closed = std::fclose(df) == 0;
  if (!graph.ok() || !closed) {
    fs::remove(data_tmp);
    return graph.ok() ? Status::error("writing '" + data_tmp + "' failed")
                      : Status::error(path + ": " + graph.status().message());
  }
  m.message(7, *graph);
  for (const auto& [k, v] : model.metadata) {
    ProtoOut kv;
    kv.str(1, k);
    kv.str(2, v);
    m.message(14, kv);
  }
  if (Status s = write_file(onnx_tmp, m.data()); !s.ok()) {
    fs::remove(data_tmp);
    return s;
  }
  std::error_code ec;
  if (sink.size() == 0) fs::remove(data_tmp, ec);  // every tensor inline: no data file
  else fs::rename(data_tmp, data_path, ec);
  if (!ec) fs::rename(onnx_tmp, onnx_path, ec);
  if (ec) return Status::error("renaming into '" + path + "' failed: " + ec.message());
  return ok_status();
}

}  // namespace rllm
