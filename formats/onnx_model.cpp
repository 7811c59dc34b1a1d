#include "onnx_model.h"

#include <cstring>
#include <filesystem>

#include "protobuf_wire.h"

namespace rllm {
namespace {

constexpr int kMaxGraphDepth = 32;

// Parsing state shared by one model: where external data comes from and the
// files already mapped.
struct Context {
  std::shared_ptr<const MappedFile> file;
  ExternalDataResolver resolver;  // empty: external data refused
  std::map<std::string, std::shared_ptr<const MappedFile>>* external_files = nullptr;
};

Status wire_error(const Context& ctx, const std::string& where, const WireReader& r) {
  return Status::error(ctx.file->path() + ": malformed " + where + ": " + r.error());
}

Status type_error(const Context& ctx, const std::string& where, uint32_t field) {
  return Status::error(ctx.file->path() + ": malformed " + where + ": field " +
                       std::to_string(field) + " has the wrong wire type");
}

bool is_bytes(const WireField& f) { return f.type == WireType::bytes; }
bool is_varint(const WireField& f) { return f.type == WireType::varint; }

float bits_to_float(uint32_t b) {
  float v;
  std::memcpy(&v, &b, 4);
  return v;
}

struct ExternalRef {
  std::string location;
  uint64_t offset = 0;
  uint64_t length = 0;
  bool has_length = false;
};

Status parse_external_entry(const Context& ctx, const WireField& f, const std::string& tname,
                            ExternalRef& ref) {
  WireReader r(f.data, f.size);
  WireField e;
  std::string key, value;
  while (r.next(e)) {
    if (!is_bytes(e)) return type_error(ctx, "external_data of tensor '" + tname + "'", e.number);
    if (e.number == 1) key = std::string(e.bytes());
    if (e.number == 2) value = std::string(e.bytes());
  }
  if (r.failed()) return wire_error(ctx, "external_data of tensor '" + tname + "'", r);
  auto parse_u64 = [&](const std::string& s, uint64_t& out) -> Status {
    if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos)
      return Status::error(ctx.file->path() + ": tensor '" + tname + "': external_data " + key +
                           " '" + s + "' is not a non-negative integer");
    out = std::stoull(s);
    return ok_status();
  };
  if (key == "location") {
    ref.location = value;
  } else if (key == "offset") {
    RLLM_RETURN_IF_ERROR(parse_u64(value, ref.offset));
  } else if (key == "length") {
    RLLM_RETURN_IF_ERROR(parse_u64(value, ref.length));
    ref.has_length = true;
  }
  return ok_status();
}

// A location must stay inside the model's folder.
Status check_location(const Context& ctx, const std::string& tname, const std::string& loc) {
  namespace fs = std::filesystem;
  fs::path p(loc);
  if (loc.empty())
    return Status::error(ctx.file->path() + ": tensor '" + tname + "': external data has no location");
  if (p.is_absolute() || loc.find('\0') != std::string::npos)
    return Status::error(ctx.file->path() + ": tensor '" + tname + "': external data location '" +
                         loc + "' is absolute; only paths inside the model folder are allowed");
  for (const auto& part : p.lexically_normal()) {
    if (part == "..")
      return Status::error(ctx.file->path() + ": tensor '" + tname + "': external data location '" +
                           loc + "' leaves the model folder");
  }
  return ok_status();
}

Result<std::shared_ptr<const MappedFile>> external_file(const Context& ctx, const std::string& tname,
                                                        const std::string& loc) {
  RLLM_RETURN_IF_ERROR(check_location(ctx, tname, loc));
  auto it = ctx.external_files->find(loc);
  if (it != ctx.external_files->end()) return it->second;
  if (!ctx.resolver)
    return Status::error(ctx.file->path() + ": tensor '" + tname +
                         "': external data is not allowed here");
  auto mapped = ctx.resolver(loc);
  if (!mapped.ok())
    return Status::error(ctx.file->path() + ": tensor '" + tname + "': external data: " +
                         mapped.status().message());
  (*ctx.external_files)[loc] = mapped.value();
  return mapped.value();
}

// Bytes the tensor's elements take, or -1 when dims overflow or are negative.
int64_t expected_bytes(DType t, const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) return -1;
  }
  int64_t bits = dtype_bits(t);
  if (__builtin_mul_overflow(n, bits, &n)) return -1;
  return n / 8 + (n % 8 != 0);  // (n + 7) / 8 would overflow near INT64_MAX
}

// Typed repeated fields decode into an owned buffer of the tensor's element type.
class TypedBuffer {
 public:
  void put(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    bytes_.insert(bytes_.end(), b, b + n);
  }
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

// Whether a typed TensorProto field carries values of this element type; like
// onnx's numpy_helper, a field that does not is ignored.
bool typed_field_holds(uint32_t field, DType t) {
  switch (field) {
    case 4: return t == DType::f32;
    case 5:
      return t == DType::i32 || t == DType::i16 || t == DType::u16 || t == DType::i8 ||
             t == DType::u8 || t == DType::boolean || t == DType::f16 || t == DType::bf16 ||
             t == DType::u4 || t == DType::i4;
    case 7: return t == DType::i64;
    case 10: return t == DType::f64;
    case 11: return t == DType::u32 || t == DType::u64;
    default: return false;
  }
}

Status append_int32_field(const Context& ctx, const WireField& f, DType t, const std::string& tname,
                          TypedBuffer& buf) {
  // int32_data carries int32, int16/uint16, int8/uint8, bool, f16/bf16 bits and packed 4-bit pairs.
  bool ok = read_packed_varints(f, [&](uint64_t v) {
    int32_t x = static_cast<int32_t>(static_cast<uint32_t>(v));
    switch (t) {
      case DType::i32: buf.put(&x, 4); break;
      case DType::i16: case DType::u16: case DType::f16: case DType::bf16: {
        uint16_t h = static_cast<uint16_t>(x);
        buf.put(&h, 2);
        break;
      }
      default: {
        uint8_t b = static_cast<uint8_t>(x);
        buf.put(&b, 1);
      }
    }
  });
  if (!ok) return Status::error(ctx.file->path() + ": tensor '" + tname + "': malformed int32_data");
  return ok_status();
}

Result<OnnxTensor> parse_tensor(const Context& ctx, const uint8_t* data, size_t size) {
  OnnxTensor t;
  WireReader r(data, size);
  WireField f;
  int32_t data_type = 0;
  const WireField* raw = nullptr;
  WireField raw_field;
  std::vector<WireField> ext_entries;
  std::vector<WireField> typed;
  bool external = false;
  bool has_segment = false;
  while (r.next(f)) {
    switch (f.number) {
      case 1:
        if (!read_packed_varints(f, [&](uint64_t v) { t.dims.push_back(static_cast<int64_t>(v)); }))
          return Status::error(ctx.file->path() + ": malformed tensor dims");
        break;
      case 2:
        if (!is_varint(f)) return type_error(ctx, "tensor", f.number);
        data_type = static_cast<int32_t>(f.value);
        break;
      case 3: has_segment = true; break;
      case 4: case 5: case 7: case 10: case 11: typed.push_back(f); break;
      case 6:
        if (!is_bytes(f)) return type_error(ctx, "tensor", f.number);
        t.strings.emplace_back(f.bytes());
        break;
      case 8:
        if (!is_bytes(f)) return type_error(ctx, "tensor", f.number);
        t.name = std::string(f.bytes());
        break;
      case 9:
        if (!is_bytes(f)) return type_error(ctx, "tensor", f.number);
        raw_field = f;
        raw = &raw_field;
        break;
      case 13:
        if (!is_bytes(f)) return type_error(ctx, "tensor", f.number);
        ext_entries.push_back(f);
        break;
      case 14:
        if (!is_varint(f)) return type_error(ctx, "tensor", f.number);
        external = f.value == 1;
        break;
      default: break;
    }
  }
  if (r.failed()) return wire_error(ctx, "tensor '" + t.name + "'", r);
  const std::string where = ctx.file->path() + ": tensor '" + t.name + "'";
  if (has_segment) return Status::error(where + ": segmented tensors are not supported");
  if (!dtype_known(data_type))
    return Status::error(where + ": unsupported data_type " + std::to_string(data_type));
  t.dtype = static_cast<DType>(data_type);
  int64_t nbytes = expected_bytes(t.dtype, t.dims);
  if (nbytes < 0) {
    std::string dims;
    for (int64_t d : t.dims) {
      if (!dims.empty()) dims += 'x';
      dims += std::to_string(d);
    }
    return Status::error(where + ": dims " + dims + " are negative or their product overflows");
  }
  int64_t numel = t.numel();

  if (t.dtype == DType::string) {
    if (static_cast<int64_t>(t.strings.size()) != numel)
      return Status::error(where + ": has " + std::to_string(t.strings.size()) +
                           " strings for " + std::to_string(numel) + " elements");
    return t;
  }

  if (external) {
    ExternalRef ref;
    for (const auto& e : ext_entries) RLLM_RETURN_IF_ERROR(parse_external_entry(ctx, e, t.name, ref));
    RLLM_ASSIGN_OR_RETURN(auto mf, external_file(ctx, t.name, ref.location));
    uint64_t length = ref.has_length ? ref.length : static_cast<uint64_t>(nbytes);
    if (length != static_cast<uint64_t>(nbytes))
      return Status::error(where + ": external data length " + std::to_string(length) +
                           " does not match its shape (" + std::to_string(nbytes) + " bytes)");
    if (ref.offset > mf->size() || length > mf->size() - ref.offset)
      return Status::error(where + ": external data [" + std::to_string(ref.offset) + ", +" +
                           std::to_string(length) + ") runs past the end of '" + ref.location +
                           "' (" + std::to_string(mf->size()) + " bytes)");
    t.source = OnnxTensor::Source::external;
    t.external_file = ref.location;
    t.data = mf->data() + ref.offset;
    t.nbytes = static_cast<size_t>(length);
    t.owner = mf;
    return t;
  }

  if (raw != nullptr) {
    if (static_cast<int64_t>(raw->size) != nbytes)
      return Status::error(where + ": raw_data has " + std::to_string(raw->size) +
                           " bytes, its shape needs " + std::to_string(nbytes));
    t.data = raw->data;
    t.nbytes = raw->size;
    t.owner = ctx.file;
    return t;
  }

  TypedBuffer buf;
  for (const auto& tf : typed) {
    if (!typed_field_holds(tf.number, t.dtype)) continue;
    switch (tf.number) {
      case 4:  // float_data: f32 (and complex64)
        if (tf.type == WireType::bytes) {
          if (tf.size % 4) return Status::error(where + ": malformed float_data");
          buf.put(tf.data, tf.size);
        } else if (tf.type == WireType::fixed32) {
          uint32_t v = static_cast<uint32_t>(tf.value);
          buf.put(&v, 4);
        } else {
          return type_error(ctx, "tensor '" + t.name + "'", tf.number);
        }
        break;
      case 10:  // double_data
        if (tf.type == WireType::bytes) {
          if (tf.size % 8) return Status::error(where + ": malformed double_data");
          buf.put(tf.data, tf.size);
        } else if (tf.type == WireType::fixed64) {
          buf.put(&tf.value, 8);
        } else {
          return type_error(ctx, "tensor '" + t.name + "'", tf.number);
        }
        break;
      case 5:
        RLLM_RETURN_IF_ERROR(append_int32_field(ctx, tf, t.dtype, t.name, buf));
        break;
      case 7: case 11: {  // int64_data, uint64_data (also uint32)
        bool ok = read_packed_varints(tf, [&](uint64_t v) {
          if (t.dtype == DType::u32) {
            uint32_t x = static_cast<uint32_t>(v);
            buf.put(&x, 4);
          } else {
            buf.put(&v, 8);
          }
        });
        if (!ok) return Status::error(where + ": malformed int64_data/uint64_data");
        break;
      }
    }
  }
  if (static_cast<int64_t>(buf.bytes().size()) != nbytes)
    return Status::error(where + ": typed data holds " + std::to_string(buf.bytes().size()) +
                         " bytes, its shape needs " + std::to_string(nbytes));
  auto owned = std::make_shared<std::vector<uint8_t>>(std::move(buf.bytes()));
  t.source = OnnxTensor::Source::typed;
  t.data = owned->data();
  t.nbytes = owned->size();
  t.owner = owned;
  return t;
}

Status parse_value_info(const Context& ctx, const WireField& vf, OnnxValueInfo& vi) {
  WireReader r(vf.data, vf.size);
  WireField f;
  while (r.next(f)) {
    if (f.number == 1 && is_bytes(f)) vi.name = std::string(f.bytes());
    if (f.number != 2 || !is_bytes(f)) continue;
    WireReader tr(f.data, f.size);
    WireField tf;
    while (tr.next(tf)) {
      if (tf.number != 1 || !is_bytes(tf)) continue;  // only tensor_type is used
      WireReader ttr(tf.data, tf.size);
      WireField tt;
      while (ttr.next(tt)) {
        if (tt.number == 1 && is_varint(tt)) vi.elem_type = static_cast<DType>(tt.value);
        if (tt.number != 2 || !is_bytes(tt)) continue;
        vi.has_shape = true;
        WireReader sr(tt.data, tt.size);
        WireField sf;
        while (sr.next(sf)) {
          if (sf.number != 1 || !is_bytes(sf)) continue;
          OnnxDim d;
          WireReader dr(sf.data, sf.size);
          WireField df;
          while (dr.next(df)) {
            if (df.number == 1 && is_varint(df)) d.value = static_cast<int64_t>(df.value);
            if (df.number == 2 && is_bytes(df)) d.param = std::string(df.bytes());
          }
          if (dr.failed()) return wire_error(ctx, "dimension of '" + vi.name + "'", dr);
          vi.dims.push_back(std::move(d));
        }
        if (sr.failed()) return wire_error(ctx, "shape of '" + vi.name + "'", sr);
      }
      if (ttr.failed()) return wire_error(ctx, "tensor type of '" + vi.name + "'", ttr);
    }
    if (tr.failed()) return wire_error(ctx, "type of '" + vi.name + "'", tr);
  }
  if (r.failed()) return wire_error(ctx, "value info '" + vi.name + "'", r);
  return ok_status();
}

Result<std::shared_ptr<OnnxGraph>> parse_graph(const Context& ctx, const WireField& gf, int depth);

Status parse_attribute(const Context& ctx, const WireField& af, OnnxAttribute& a, int depth) {
  WireReader r(af.data, af.size);
  WireField f;
  const std::string where = "attribute";
  while (r.next(f)) {
    switch (f.number) {
      case 1:
        if (!is_bytes(f)) return type_error(ctx, where, f.number);
        a.name = std::string(f.bytes());
        break;
      case 20:
        if (!is_varint(f)) return type_error(ctx, where, f.number);
        a.type = static_cast<AttrType>(f.value);
        break;
      case 2:
        if (f.type != WireType::fixed32) return type_error(ctx, where, f.number);
        a.f = bits_to_float(static_cast<uint32_t>(f.value));
        break;
      case 3:
        if (!is_varint(f)) return type_error(ctx, where, f.number);
        a.i = static_cast<int64_t>(f.value);
        break;
      case 4:
        if (!is_bytes(f)) return type_error(ctx, where, f.number);
        a.s = std::string(f.bytes());
        break;
      case 5: case 10: {
        if (!is_bytes(f)) return type_error(ctx, where, f.number);
        RLLM_ASSIGN_OR_RETURN(auto t, parse_tensor(ctx, f.data, f.size));
        a.tensors.push_back(std::move(t));
        break;
      }
      case 6: case 11: {
        if (!is_bytes(f)) return type_error(ctx, where, f.number);
        RLLM_ASSIGN_OR_RETURN(auto g, parse_graph(ctx, f, depth + 1));
        a.graphs.push_back(std::move(g));
        break;
      }
      case 7:
        if (f.type == WireType::fixed32) {
          a.floats.push_back(bits_to_float(static_cast<uint32_t>(f.value)));
        } else if (is_bytes(f) && f.size % 4 == 0) {
          for (size_t k = 0; k < f.size; k += 4) {
            uint32_t b;
            std::memcpy(&b, f.data + k, 4);
            a.floats.push_back(bits_to_float(b));
          }
        } else {
          return type_error(ctx, where, f.number);
        }
        break;
      case 8:
        if (!read_packed_varints(f, [&](uint64_t v) { a.ints.push_back(static_cast<int64_t>(v)); }))
          return type_error(ctx, where, f.number);
        break;
      case 9:
        if (!is_bytes(f)) return type_error(ctx, where, f.number);
        a.strings.emplace_back(f.bytes());
        break;
      default: break;
    }
  }
  if (r.failed()) return wire_error(ctx, "attribute '" + a.name + "'", r);
  return ok_status();
}

Status parse_node(const Context& ctx, const WireField& nf, OnnxNode& n, int depth) {
  WireReader r(nf.data, nf.size);
  WireField f;
  while (r.next(f)) {
    if (f.number == 5) {
      if (!is_bytes(f)) return type_error(ctx, "node", f.number);
      OnnxAttribute a;
      RLLM_RETURN_IF_ERROR(parse_attribute(ctx, f, a, depth));
      n.attributes.push_back(std::move(a));
      continue;
    }
    if (f.number > 7 || f.number == 6) continue;
    if (!is_bytes(f)) return type_error(ctx, "node", f.number);
    std::string s(f.bytes());
    switch (f.number) {
      case 1: n.inputs.push_back(std::move(s)); break;
      case 2: n.outputs.push_back(std::move(s)); break;
      case 3: n.name = std::move(s); break;
      case 4: n.op_type = std::move(s); break;
      case 7: n.domain = std::move(s); break;
    }
  }
  if (r.failed()) return wire_error(ctx, "node '" + n.name + "'", r);
  if (n.domain == "ai.onnx") n.domain.clear();
  return ok_status();
}

// Parses a GraphProto into `g`, adding to what is already there: protobuf merges
// a message field that occurs more than once.
Status parse_graph_into(const Context& ctx, const WireField& gf, int depth, OnnxGraph* g) {
  if (depth > kMaxGraphDepth)
    return Status::error(ctx.file->path() + ": graphs nested deeper than " +
                         std::to_string(kMaxGraphDepth) + " levels");
  WireReader r(gf.data, gf.size);
  WireField f;
  while (r.next(f)) {
    switch (f.number) {
      case 1: {
        if (!is_bytes(f)) return type_error(ctx, "graph", f.number);
        OnnxNode n;
        RLLM_RETURN_IF_ERROR(parse_node(ctx, f, n, depth));
        g->nodes.push_back(std::move(n));
        break;
      }
      case 2:
        if (!is_bytes(f)) return type_error(ctx, "graph", f.number);
        g->name = std::string(f.bytes());
        break;
      case 5: {
        if (!is_bytes(f)) return type_error(ctx, "graph", f.number);
        RLLM_ASSIGN_OR_RETURN(auto t, parse_tensor(ctx, f.data, f.size));
        g->initializers.push_back(std::move(t));
        break;
      }
      case 11: case 12: case 13: {
        if (!is_bytes(f)) return type_error(ctx, "graph", f.number);
        OnnxValueInfo vi;
        RLLM_RETURN_IF_ERROR(parse_value_info(ctx, f, vi));
        auto& dst = f.number == 11 ? g->inputs : f.number == 12 ? g->outputs : g->value_info;
        dst.push_back(std::move(vi));
        break;
      }
      default: break;
    }
  }
  if (r.failed()) return wire_error(ctx, "graph '" + g->name + "'", r);
  return ok_status();
}

Result<std::shared_ptr<OnnxGraph>> parse_graph(const Context& ctx, const WireField& gf, int depth) {
  auto g = std::make_shared<OnnxGraph>();
  RLLM_RETURN_IF_ERROR(parse_graph_into(ctx, gf, depth, g.get()));
  return g;
}

Result<OnnxModel> parse_model(std::shared_ptr<const MappedFile> file, ExternalDataResolver resolver) {
  OnnxModel m;
  m.file = file;
  Context ctx{file, std::move(resolver), &m.external_files};
  WireReader r(file->data(), file->size());
  WireField f;
  bool has_graph = false;
  while (r.next(f)) {
    switch (f.number) {
      case 1:
        if (!is_varint(f)) return type_error(ctx, "model", f.number);
        m.ir_version = static_cast<int64_t>(f.value);
        break;
      case 2: case 3: case 4:
        if (!is_bytes(f)) return type_error(ctx, "model", f.number);
        (f.number == 2 ? m.producer_name : f.number == 3 ? m.producer_version : m.domain) =
            std::string(f.bytes());
        break;
      case 5:
        if (!is_varint(f)) return type_error(ctx, "model", f.number);
        m.model_version = static_cast<int64_t>(f.value);
        break;
      case 7: {
        if (!is_bytes(f)) return type_error(ctx, "model", f.number);
        RLLM_RETURN_IF_ERROR(parse_graph_into(ctx, f, 0, &m.graph));
        has_graph = true;
        break;
      }
      case 8: {
        if (!is_bytes(f)) return type_error(ctx, "model", f.number);
        OnnxOpset op;
        WireReader orr(f.data, f.size);
        WireField of;
        while (orr.next(of)) {
          if (of.number == 1 && is_bytes(of)) op.domain = std::string(of.bytes());
          if (of.number == 2 && is_varint(of)) op.version = static_cast<int64_t>(of.value);
        }
        if (orr.failed()) return wire_error(ctx, "opset_import", orr);
        if (op.domain == "ai.onnx") op.domain.clear();
        m.opsets.push_back(std::move(op));
        break;
      }
      case 14: {
        if (!is_bytes(f)) return type_error(ctx, "model", f.number);
        std::pair<std::string, std::string> kv;
        WireReader kr(f.data, f.size);
        WireField kf;
        while (kr.next(kf)) {
          if (kf.number == 1 && is_bytes(kf)) kv.first = std::string(kf.bytes());
          if (kf.number == 2 && is_bytes(kf)) kv.second = std::string(kf.bytes());
        }
        if (kr.failed()) return wire_error(ctx, "metadata_props", kr);
        m.metadata.push_back(std::move(kv));
        break;
      }
      default: break;
    }
  }
  if (r.failed()) return wire_error(ctx, "model", r);
  const char* missing = !has_graph ? "graph" : m.ir_version == 0 ? "ir_version"
                       : m.opsets.empty() ? "opset_import" : nullptr;
  if (missing != nullptr)
    return Status::error(file->path() + ": not a complete ONNX model (no " + missing + ")");
  return m;
}

}  // namespace

int64_t OnnxTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

const OnnxAttribute* OnnxNode::attr(const std::string& n) const {
  for (const auto& a : attributes)
    if (a.name == n) return &a;
  return nullptr;
}

int64_t OnnxNode::attr_i(const std::string& n, int64_t fallback) const {
  const auto* a = attr(n);
  return a ? a->i : fallback;
}

float OnnxNode::attr_f(const std::string& n, float fallback) const {
  const auto* a = attr(n);
  return a ? a->f : fallback;
}

std::string OnnxNode::attr_s(const std::string& n, const std::string& fallback) const {
  const auto* a = attr(n);
  return a ? a->s : fallback;
}

std::vector<int64_t> OnnxNode::attr_ints(const std::string& n) const {
  const auto* a = attr(n);
  return a ? a->ints : std::vector<int64_t>{};
}

std::string OnnxNode::describe() const {
  return "node '" + name + "' (" + (domain.empty() ? "ai.onnx" : domain) + ":" + op_type + ")";
}

int64_t OnnxModel::opset(const std::string& d) const {
  for (const auto& o : opsets)
    if (o.domain == d) return o.version;
  return 0;
}

Result<OnnxModel> OnnxModel::load(const std::string& path, MappedFile::Prefetch prefetch) {
  RLLM_ASSIGN_OR_RETURN(auto file, MappedFile::open(path, prefetch));
  auto dir = std::filesystem::path(path).parent_path();
  return parse_model(file, [dir, prefetch](const std::string& loc) {
    return MappedFile::open((dir / loc).string(), prefetch);
  });
}

Result<OnnxModel> OnnxModel::load_from_memory(const void* bytes, size_t size, const std::string& name,
                                              ExternalDataResolver resolver) {
  return parse_model(MappedFile::borrow(bytes, size, name), std::move(resolver));
}

Result<OnnxTensor> parse_tensor_proto(std::shared_ptr<const MappedFile> file) {
  std::map<std::string, std::shared_ptr<const MappedFile>> none;
  Context ctx{file, {}, &none};
  return parse_tensor(ctx, file->data(), file->size());
}

}  // namespace rllm
