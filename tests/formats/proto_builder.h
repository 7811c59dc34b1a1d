// Hand-encodes protobuf messages so tests can craft ONNX files, valid or broken.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rllm::test {

class Proto {
 public:
  Proto& varint(uint32_t field, uint64_t v) {
    key(field, 0);
    put_varint(v);
    return *this;
  }
  Proto& bytes(uint32_t field, const std::string& s) {
    key(field, 2);
    put_varint(s.size());
    buf_.insert(buf_.end(), s.begin(), s.end());
    return *this;
  }
  Proto& msg(uint32_t field, const Proto& m) { return bytes(field, m.str()); }
  Proto& packed(uint32_t field, const std::vector<int64_t>& vs) {
    Proto p;
    for (int64_t v : vs) p.put_varint(static_cast<uint64_t>(v));
    return bytes(field, p.str());
  }
  std::string str() const { return std::string(buf_.begin(), buf_.end()); }

 private:
  void key(uint32_t field, int wire) { put_varint((uint64_t{field} << 3) | wire); }
  void put_varint(uint64_t v) {
    while (v >= 0x80) {
      buf_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    buf_.push_back(static_cast<char>(v));
  }
  std::vector<char> buf_;
};

// TensorProto with dims, data_type and optional raw_data.
inline Proto tensor_proto(const std::string& name, int32_t dtype, const std::vector<int64_t>& dims) {
  Proto t;
  t.packed(1, dims).varint(2, static_cast<uint64_t>(dtype)).bytes(8, name);
  return t;
}

inline Proto external_entry(const std::string& k, const std::string& v) {
  Proto e;
  e.bytes(1, k).bytes(2, v);
  return e;
}

// ModelProto holding one graph with the given initializers (and an Identity node).
inline std::string model_with_initializers(const std::vector<Proto>& inits) {
  Proto node;
  node.bytes(1, "x").bytes(2, "y").bytes(3, "id0").bytes(4, "Identity");
  Proto graph;
  graph.msg(1, node).bytes(2, "g");
  for (const auto& i : inits) graph.msg(5, i);
  Proto opset;
  opset.bytes(1, "").varint(2, 17);
  Proto model;
  model.varint(1, 8).msg(7, graph).msg(8, opset);
  return model.str();
}

}  // namespace rllm::test
