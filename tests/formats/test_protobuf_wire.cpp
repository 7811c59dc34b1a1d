#include <doctest/doctest.h>

#include <vector>

#include "formats/protobuf_wire.h"

using namespace rllm;

TEST_CASE("wire: varint, bytes and fixed fields decode as encoded by hand") {
  // field 1 varint 300 (0xac 0x02); field 2 bytes "hi"; field 3 fixed32 0x01020304
  std::vector<uint8_t> msg = {0x08, 0xac, 0x02, 0x12, 0x02, 'h', 'i', 0x1d, 0x04, 0x03, 0x02, 0x01};
  WireReader r(msg.data(), msg.size());
  WireField f;
  REQUIRE(r.next(f));
  CHECK(f.number == 1);
  CHECK(f.value == 300);
  REQUIRE(r.next(f));
  CHECK(f.number == 2);
  CHECK(f.bytes() == "hi");
  REQUIRE(r.next(f));
  CHECK(f.number == 3);
  CHECK(f.value == 0x01020304u);
  CHECK_FALSE(r.next(f));
  CHECK_FALSE(r.failed());
}

TEST_CASE("wire: a length past the end is an error, not a read") {
  std::vector<uint8_t> msg = {0x12, 0x05, 'h', 'i'};
  WireReader r(msg.data(), msg.size());
  WireField f;
  CHECK_FALSE(r.next(f));
  REQUIRE(r.failed());
  CHECK(r.error().find("runs past the end") != std::string::npos);
}

TEST_CASE("wire: truncated and over-long varints and group wire types fail") {
  for (std::vector<uint8_t> msg : {std::vector<uint8_t>{0x08, 0x80},
                                   std::vector<uint8_t>{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                                        0xff, 0xff, 0xff, 0x7f},
                                   std::vector<uint8_t>{0x0b}}) {
    WireReader r(msg.data(), msg.size());
    WireField f;
    CHECK_FALSE(r.next(f));
    CHECK(r.failed());
  }
}

TEST_CASE("wire: packed varints decode, malformed packing is refused") {
  std::vector<uint8_t> payload = {0x01, 0x96, 0x01, 0x7f};
  WireField f;
  f.type = WireType::bytes;
  f.data = payload.data();
  f.size = payload.size();
  std::vector<uint64_t> out;
  CHECK(read_packed_varints(f, [&](uint64_t v) { out.push_back(v); }));
  CHECK(out == std::vector<uint64_t>{1, 150, 127});
  std::vector<uint8_t> bad = {0x96};
  f.data = bad.data();
  f.size = bad.size();
  CHECK_FALSE(read_packed_varints(f, [](uint64_t) {}));
}
