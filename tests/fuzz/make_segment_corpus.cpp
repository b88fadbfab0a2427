// Writes the seed corpus of segment_reader_fuzz: small segment log files, valid and damaged.
//
//   herald_make_segment_corpus <dir>      (e.g. tests/fuzz/corpus/segment_reader)
//
// Each file is what segment_log writes (the 64-byte file header, then batches with their base
// offset and append time), or such a file after a torn write, a bit flip, or a newer version.
// Deterministic: fixed ids, times and contents, so a rerun writes the same bytes.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "messages/crc32c.hpp"
#include "messages/event.hpp"
#include "messages/record_batch.hpp"
#include "storage/file_header.hpp"

using namespace herald;

namespace {

constexpr int64_t t0 = 1732268400000000000;

std::string file_header(uint32_t flags = 0) {
  disk::file_header h;
  h.kind = disk::file_kind::log;
  h.base = offset{0};
  h.end = offset{0};
  h.flags = flags;
  std::string out(disk::layout::header_size, '\0');
  h.encode(out.data());
  return out;
}

/// One stored batch of `n` events from `seq` on: sealed, then stamped with base and time.
std::string batch(int64_t base, int64_t seq, int n, bool tombstone_last = false) {
  batch_builder b;
  for (int i = 0; i < n; ++i) {
    auto s = seq + i;
    auto eb =
        event::builder{"orders", "OrderPlaced"}
            .id(event_id{(uint64_t{1732268400000} << 16) | uint64_t(s), 0x0102030405060708ull})
            .key("ORD-" + std::to_string(s % 3))
            .time(timestamp{t0 + s * 1000000})
            .header("src", "web");
    if (i == 1)
      eb.causation_id("01JD9KW7C028T020G30G2GC1R8")
          .traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    if (tombstone_last && i + 1 == n)
      eb.tombstone();
    else
      eb.payload(R"({"seq":)" + std::to_string(s) + R"(,"total":49.99})");
    if (b.add(eb.build())) std::abort();
  }
  auto sealed = b.seal(producer_id{7}, static_cast<uint64_t>(seq));
  std::string out(sealed->data(), sealed->size());
  format::store<int64_t>(out.data() + format::b_base_offset, base);
  format::store<int64_t>(out.data() + format::b_append_time, t0 + 500000000 + seq);
  return out;
}

void write(const std::string& dir, const std::string& name, const std::string& bytes) {
  std::ofstream out{dir + "/" + name, std::ios::binary | std::ios::trunc};
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "cannot write %s/%s\n", dir.c_str(), name.c_str());
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  auto b1 = batch(0, 0, 1), b2 = batch(1, 1, 3), b3 = batch(4, 4, 2, true);
  auto three = file_header() + b1 + b2 + b3;

  write(dir, "empty-segment", file_header());
  write(dir, "one-batch", file_header() + b1);
  write(dir, "three-batches", three);
  // Odd lengths take the fuzzer's recovery path (see segment_reader_fuzz.cpp): one extra
  // zero byte is a torn batch header.
  write(dir, "three-batches-plus-one-byte", three + std::string(1, '\0'));
  write(dir, "torn-in-last-batch", three.substr(0, three.size() - 11));
  write(dir, "torn-in-batch-header", three.substr(0, 64 + b1.size() + 30));
  write(dir, "torn-file-header", three.substr(0, 41));
  {
    auto s = three;
    s[64 + b1.size() + 100] ^= 0x10;  // a payload bit of the second batch: CRC mismatch
    write(dir, "bit-flip-in-record", s);
  }
  {
    auto s = three;
    s[64 + b1.size() + 16] ^= 0x01;  // the second batch's length
    write(dir, "bit-flip-in-length", s);
  }
  {
    auto s = three;
    s[5] = 2;  // file header version 2, CRC made to match: a newer file
    format::store<uint32_t>(s.data() + 60, crc32c(s.data(), 60));
    write(dir, "newer-file-version", s);
  }
  {
    auto s = three;
    auto at = 64 + b1.size();
    s[at + format::b_version] = 2;  // batch version 2 with a matching CRC: a newer batch
    auto len = format::load<uint32_t>(s.data() + at + format::b_length);
    format::store<uint32_t>(s.data() + at + format::b_crc,
                            crc32c(s.data() + at + format::b_crc_start, len - format::b_crc_start));
    write(dir, "newer-batch-version", s);
  }
  // A compacted segment: flag 0x1, and a gap (offsets 1..3 missing).
  write(dir, "compacted-with-gap", file_header(0x1) + b1 + b3);
  write(dir, "garbage-after-batches", file_header() + b1 + std::string(100, '\xff'));
  write(dir, "batches-without-file-header", b1 + b2);
  std::printf("wrote the seed corpus to %s\n", dir.c_str());
  return 0;
}
