// ONNX ModelProto read straight from a memory mapping. Initializers are views
// (pointer, dtype, dims) into the model file or its external data files; each
// external file is mapped once. Only typed repeated fields (float_data,
// int64_data, ...) are decoded into owned storage, since they are not laid
// out as the tensor's bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dtype.h"
#include "mapped_file.h"
#include "status.h"

namespace rllm {

struct OnnxTensor {
  enum class Source { raw, typed, external };

  std::string name;
  DType dtype = DType::undefined;
  std::vector<int64_t> dims;
  const uint8_t* data = nullptr;  // little-endian element bytes; null for strings
  size_t nbytes = 0;
  Source source = Source::raw;
  std::string external_file;          // location, when source == external
  std::vector<std::string> strings;   // dtype == string
  std::shared_ptr<const void> owner;  // keeps `data` alive (mapping or decoded buffer)

  int64_t numel() const;
};

struct OnnxGraph;

enum class AttrType : int32_t {
  undefined = 0, f = 1, i = 2, s = 3, tensor = 4, graph = 5, floats = 6, ints = 7,
  strings = 8, tensors = 9, graphs = 10, sparse_tensor = 11, sparse_tensors = 12,
  type_proto = 13, type_protos = 14,
};

struct OnnxAttribute {
  std::string name;
  AttrType type = AttrType::undefined;
  float f = 0;
  int64_t i = 0;
  std::string s;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<OnnxTensor> tensors;                // t (one) or tensors
  std::vector<std::shared_ptr<OnnxGraph>> graphs;  // g (one) or graphs
};

struct OnnxNode {
  std::string name;
  std::string op_type;
  std::string domain;  // "" and "ai.onnx" both mean the default domain
  std::vector<std::string> inputs;   // "" marks an omitted optional input
  std::vector<std::string> outputs;
  std::vector<OnnxAttribute> attributes;

  const OnnxAttribute* attr(const std::string& name) const;
  int64_t attr_i(const std::string& name, int64_t fallback) const;
  float attr_f(const std::string& name, float fallback) const;
  std::string attr_s(const std::string& name, const std::string& fallback) const;
  std::vector<int64_t> attr_ints(const std::string& name) const;
  // "node 'name' (domain:op_type)" for messages.
  std::string describe() const;
};

struct OnnxDim {
  int64_t value = -1;  // -1 when symbolic or unknown
  std::string param;
};

struct OnnxValueInfo {
  std::string name;
  DType elem_type = DType::undefined;
  bool has_shape = false;
  std::vector<OnnxDim> dims;
};

struct OnnxGraph {
  std::string name;
  std::vector<OnnxNode> nodes;
  std::vector<OnnxTensor> initializers;
  std::vector<OnnxValueInfo> inputs, outputs, value_info;
};

struct OnnxOpset {
  std::string domain;
  int64_t version = 0;
};

// Maps an external-data location (as written in the model) to its bytes.
using ExternalDataResolver =
    std::function<Result<std::shared_ptr<const MappedFile>>(const std::string& location)>;

struct OnnxModel {
  int64_t ir_version = 0;
  std::vector<OnnxOpset> opsets;
  std::string producer_name, producer_version, domain;
  int64_t model_version = 0;
  std::vector<std::pair<std::string, std::string>> metadata;
  OnnxGraph graph;

  std::shared_ptr<const MappedFile> file;
  // Every external data file, mapped once, by location.
  std::map<std::string, std::shared_ptr<const MappedFile>> external_files;

  // Opset version imported for a domain ("" = default ONNX domain); 0 if none.
  int64_t opset(const std::string& domain) const;

  // `prefetch` applies to the .onnx file and every external data file.
  static Result<OnnxModel> load(const std::string& path,
                                MappedFile::Prefetch prefetch = MappedFile::Prefetch::willneed);
  // `bytes` must outlive the model; external data comes from `resolver`.
  static Result<OnnxModel> load_from_memory(const void* bytes, size_t size, const std::string& name,
                                            ExternalDataResolver resolver);
};

// Decodes one serialized TensorProto (e.g. an input_0.pb of the ONNX backend
// tests); external data is refused.
Result<OnnxTensor> parse_tensor_proto(std::shared_ptr<const MappedFile> file);

}  // namespace rllm
