// libFuzzer target for the segment reader: arbitrary bytes as the contents of a segment log
// file. Whatever the bytes, nothing may crash, read out of bounds (ASan), hit undefined
// behaviour (UBSan), or allocate more than the input warrants. Three paths:
//
//  1. segment_reader over the bytes at every depth (header, framed, verified), from byte 0
//     and from byte 64 (after a file header), with a small read-ahead buffer so batches
//     straddle refills; every verified batch is parsed and each record decoded in full;
//  2. the file header decoder, for every file kind;
//  3. for inputs of odd length (half of them, since this path writes files and fsyncs): the
//     bytes written as 00000000000000000000.log into a fresh partition directory, opened by
//     segment_log (recovery: header checks, the scan, cutting a torn tail), then read end to
//     end and appended to.
//
// Built with clang only (tests/fuzz/CMakeLists.txt); seed corpus in corpus/segment_reader/.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/logging.hpp"
#include "messages/event.hpp"
#include "messages/record_batch.hpp"
#include "storage/file_header.hpp"
#include "storage/segment_log.hpp"
#include "storage/segment_reader.hpp"
#include "storage/sync_scheduler.hpp"

using namespace herald;
using namespace herald::disk;

namespace {

volatile size_t sink;  // keeps decoded fields alive against the optimiser

void touch(const event_view& v) {
  size_t n = v.type().size() + v.key().size() + v.payload().size() + v.causation_id().size() +
             v.traceparent().size() + v.correlation_id().size() + v.id_text().size();
  v.for_each_header([&](const header_view& h) { n += h.key.size() + h.value.size(); });
  n += static_cast<size_t>(v.offset().value) + static_cast<size_t>(v.time().value);
  sink = sink + n + (v.is_tombstone() ? 1 : 0);
}

void decode_all(const char* p, uint32_t length, offset base) {
  auto batch = record_batch::parse(p, length);
  if (!batch) return;
  batch_cursor cur{**batch, base, "fuzz", partition_id{0}};
  event_view v;
  while (!cur.done()) {
    cur.next(v);
    touch(v);
  }
}

void walk(const char* data, size_t size, int64_t begin, segment_reader::depth how) {
  memory_source src{data, size};
  segment_reader rd{src, begin, static_cast<int64_t>(size), 4096};
  stored_batch sb;
  for (int guard = 0; guard < 100000; ++guard) {
    auto st = rd.next(sb, how);
    if (st != scan_status::batch) {
      sink = sink + describe(rd.problem()).size();
      return;
    }
    if (how == segment_reader::depth::verified) {
      std::memset(sb.data, 0, 16);  // what segment::read does before parsing
      decode_all(sb.data, sb.length, sb.base);
    }
  }
  std::abort();  // the reader must advance: 100,000 batches need more bytes than any input
}

struct partition_dir {
  std::string root;
  partition_dir() {
    // /dev/shm (tmpfs) when there is one: fsyncs there cost nothing, so the fuzzer spends
    // its time in Herald's code rather than waiting for the disk.
    const char* base = std::getenv("TMPDIR");
    std::string parent = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm"
                         : base && *base                 ? base
                                                         : "/tmp";
    std::string tmpl = parent + "/herald-fuzz-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data())) std::abort();
    root = buf.data();
  }
  ~partition_dir() {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
};

void recover(const char* data, size_t size) {
  static auto sched = std::make_shared<sync_scheduler>(1);
  partition_dir dir;
  auto part = dir.root + "/t/0";
  std::filesystem::create_directories(part);
  {
    std::ofstream out{part + "/00000000000000000000.log", std::ios::binary};
    out.write(data, static_cast<std::streamsize>(size));
  }
  topic_config cfg;
  cfg.storage = "disk";
  cfg.durability = durability_policy::never();
  disk_options opts;
  opts.segment_bytes = 4096;
  auto log = segment_log::open({part, "t", partition_id{0}, cfg, opts, sched});
  if (!log) {
    sink = sink + describe(log.error()).size();
    return;
  }
  // Everything recovery kept must read back, and the log must take appends after it.
  for (offset from = (*log)->start_offset();;) {
    std::vector<batch_slice> out;
    auto next = (*log)->read(from, 1000, 1 << 20, out);
    if (!next || *next == from) break;
    for (auto& s : out) {
      batch_cursor cur{s, "t", partition_id{0}};
      event_view v;
      while (!cur.done()) {
        cur.next(v);
        touch(v);
      }
    }
    from = *next;
  }
  batch_builder b;
  if (b.add(event::builder{"t", "E"}.key("k").payload("{}").build())) std::abort();
  auto end = (*log)->end_offset();
  auto r = (*log)->append(b.seal(producer_id{1}, 0), timestamp::now());
  if (r && r->base != end) std::abort();  // appends continue exactly at the recovered end
  (void)(*log)->close();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  log::set_level("off");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  auto data = reinterpret_cast<const char*>(bytes);
  for (auto how : {segment_reader::depth::header, segment_reader::depth::framed,
                   segment_reader::depth::verified}) {
    walk(data, size, 0, how);
    walk(data, size, layout::header_size, how);
  }
  for (auto kind :
       {file_kind::log, file_kind::offset_index, file_kind::time_index, file_kind::offset_store})
    sink = sink + decode_header(data, size, kind).problem.size();
  if (size % 2 == 1) recover(data, size);
  return 0;
}
