// Bad input for a runtime on a data directory: a directory it may not write, a disk that
// fills up (a file-size limit, and a small tmpfs where mounting is allowed), and files from a
// newer Herald. Each must give an error that names the file and says what to do, and must
// lose nothing that was acknowledged.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "messages/crc32c.hpp"
#include "runtime/herald.hpp"
#include "tests/support/builders.hpp"
#include "tests/support/disk.hpp"
#include "tests/support/wait.hpp"

using namespace herald;
using namespace herald::test;

extern char** environ;

namespace {

constexpr const char* child_test = "child: create a topic on HERALD_CHILD_DATA_DIR";
constexpr const char* child_marker = "child-error: ";

runtime_config disk_config(const std::string& dir) {
  auto cfg = quiet_config();
  cfg.log_level = "off";  // the failures below are expected; their errors are checked
  cfg.data_dir = dir;
  return cfg;
}

topic_config one_partition() {
  topic_config tc;
  tc.partitions = 1;
  tc.durability = durability_policy::always();
  return tc;
}

event big_order(int64_t seq) {
  return event::builder{"t", "OrderPlaced"}
      .key("k" + std::to_string(seq % 5))
      .payload(R"({"seq":)" + std::to_string(seq) + R"(,"pad":")" + std::string(1000, 'x') + "\"}")
      .build();
}

/// Every seq in partition 0 of "t", in offset order, after checking that offsets only grow.
std::vector<int64_t> stored_seqs(runtime& rt) {
  std::vector<int64_t> out;
  int64_t prev = -1;
  for (offset from{0};;) {
    auto evs = rt.read("t", 0, from, 1000);
    REQUIRE(evs);
    if (evs->empty()) return out;
    for (auto& e : *evs) {
      REQUIRE(e.offset().value > prev);
      prev = e.offset().value;
      out.push_back(seq_in(e.payload()));
    }
    from = offset{prev + 1};
  }
}

/// Publishes big events one by one (each waits for its acknowledgement) until one fails or
/// `max` were acknowledged. Returns the acknowledged seqs; `failure` gets the error.
std::vector<int64_t> publish_until_failure(producer& p, int64_t first, int64_t max,
                                           caf::error& failure) {
  std::vector<int64_t> acked;
  for (auto seq = first; seq < first + max; ++seq) {
    auto ack = p.publish(big_order(seq));
    if (!ack) {
      failure = std::move(ack.error());
      break;
    }
    acked.push_back(seq);
  }
  return acked;
}

/// The whole output of `argv` run as a child process, with its exit status; the child runs
/// as user nobody when this process is root (root ignores file permissions).
std::string run_child(std::vector<std::string> args, const std::string& data_dir, int& status) {
  // Everything the child needs is prepared before fork(): this process has threads.
  auto exe = std::filesystem::read_symlink("/proc/self/exe").string();
  std::vector<char*> argv{exe.data()};
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  auto var = "HERALD_CHILD_DATA_DIR=" + data_dir;
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e) envp.push_back(*e);
  envp.push_back(var.data());
  envp.push_back(nullptr);
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  bool drop = ::geteuid() == 0;
  auto pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Only async-signal-safe calls until exec.
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    if (drop) {
      const uid_t nobody = 65534;
      if (::setgroups(0, nullptr) != 0 || ::setresgid(nobody, nobody, nobody) != 0 ||
          ::setresuid(nobody, nobody, nobody) != 0)
        ::_exit(126);
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      ::kill(pid, SIGKILL);
      out += "\n(killed: the child did not finish within 60 s)";
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    auto n = ::read(fds[0], buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  ::waitpid(pid, &status, 0);
  return out;
}

/// The error line the child printed, or "" if none.
std::string child_error(const std::string& out) {
  auto at = out.find(child_marker);
  if (at == std::string::npos) return {};
  auto end = out.find('\n', at);
  return out.substr(at + std::strlen(child_marker), end - at - std::strlen(child_marker));
}

/// Sets the soft file-size limit of this process (the hard one stays) and ignores SIGXFSZ,
/// so that a write past it fails with EFBIG instead of killing the process; restores both.
class file_size_limit {
 public:
  explicit file_size_limit(rlim_t bytes) {
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_) == 0);
    REQUIRE((old_.rlim_max == RLIM_INFINITY || old_.rlim_max >= bytes));
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    set(bytes);
  }
  void set(rlim_t bytes) {
    rlimit l = old_;
    l.rlim_cur = bytes;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &l) == 0);
  }
  void lift() { REQUIRE(::setrlimit(RLIMIT_FSIZE, &old_) == 0); }
  ~file_size_limit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    ::signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit old_{};
  sighandler_t old_handler_;
};

/// A tmpfs of `size` mounted on `dir` for the lifetime of the object, if this process may
/// mount (root with CAP_SYS_ADMIN, not in a restricted container).
class small_tmpfs {
 public:
  small_tmpfs(std::string dir, const std::string& size) : dir_(std::move(dir)) {
    auto opts = "size=" + size + ",mode=0755";
    mounted_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, opts.c_str()) == 0;
    if (!mounted_) why_ = std::strerror(errno);
  }
  bool mounted() const { return mounted_; }
  const std::string& why_not() const { return why_; }
  /// Grows the filesystem: "the operator freed space".
  bool grow(const std::string& size) {
    auto opts = "size=" + size;
    return ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT, opts.c_str()) == 0;
  }
  ~small_tmpfs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string why_;
};

/// Writes `version` into a file header's version byte and makes its CRC match: what a newer
/// Herald would have written.
void make_header_newer(const std::string& path, uint8_t version) {
  auto bytes = read_file(path);
  REQUIRE(bytes.size() >= 64);
  bytes[5] = static_cast<char>(version);
  format::store<uint32_t>(bytes.data() + 60, crc32c(bytes.data(), 60));
  write_file(path, bytes);
}

}  // namespace

// Run by "a data_dir this user may not write" in a child process (as user nobody when the
// test runs as root). Hidden: ctest does not list it.
TEST_CASE("child: create a topic on HERALD_CHILD_DATA_DIR", "[.][child]") {
  const char* dir = std::getenv("HERALD_CHILD_DATA_DIR");
  REQUIRE(dir);
  runtime rt{disk_config(dir)};  // must not throw: the error comes with the first topic
  auto md = rt.create_topic("t", one_partition());
  REQUIRE_FALSE(md);
  std::printf("%s%s\n", child_marker, describe(md.error()).c_str());
  std::fflush(stdout);
  CHECK(is(md.error(), errc::storage_failure));
}

TEST_CASE("a data_dir this user may not write is refused, naming the file and what to do",
          "[disk][bad_input]") {
  // Under /tmp, so that user nobody can reach it whatever $TMPDIR is.
  temp_dir root{"herald-ro", "/tmp"};
  auto data = root / "data";
  {
    // Acknowledged data already in the directory: it must survive the refused start.
    runtime rt{disk_config(data)};
    REQUIRE(rt.create_topic("t", one_partition()));
    auto p = rt.make_producer();
    for (int64_t i = 0; i < 20; ++i) REQUIRE(p.publish(big_order(i)));
  }
  namespace fs = std::filesystem;
  fs::permissions(root.path(), fs::perms::owner_all | fs::perms::group_read |
                                   fs::perms::group_exec | fs::perms::others_read |
                                   fs::perms::others_exec);
  // Read-only for everyone, the files too (the lock file is opened for writing).
  for (auto& e : fs::recursive_directory_iterator(data))
    fs::permissions(e.path(),
                    fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write,
                    fs::perm_options::remove);
  fs::permissions(data, fs::perms::owner_write, fs::perm_options::remove);

  int status = 0;
  auto out = run_child({child_test}, data, status);
  INFO("child output:\n" << out);
  REQUIRE(WIFEXITED(status));
  // 126/127: the child could not become user nobody, or nobody cannot run this binary
  // (every directory above the build tree must be searchable by others).
  REQUIRE(WEXITSTATUS(status) != 126);
  REQUIRE(WEXITSTATUS(status) != 127);
  CHECK(WEXITSTATUS(status) == 0);
  auto err = child_error(out);
  CHECK_THAT(err, Catch::Contains(data) &&
                      Catch::Contains("cannot open or create " + data + "/@lock") &&
                      Catch::Contains("Permission denied") &&
                      Catch::Contains("make the data directory writable by this user"));

  // Made writable again, the directory opens with every acknowledged event in place.
  fs::permissions(data, fs::perms::owner_write, fs::perm_options::add);
  for (auto& e : fs::recursive_directory_iterator(data))
    fs::permissions(e.path(), fs::perms::owner_write, fs::perm_options::add);
  runtime rt{disk_config(data)};
  REQUIRE(rt.create_topic("t", one_partition()));
  auto seqs = stored_seqs(rt);
  REQUIRE(seqs.size() == 20);
  for (int64_t i = 0; i < 20; ++i) CHECK(seqs[i] == i);
}

TEST_CASE("a data_dir below a regular file is refused, naming the path and what to do",
          "[disk][bad_input]") {
  temp_dir dir;
  write_file(dir / "file", "not a directory");
  auto data = dir / "file/data";
  runtime rt{disk_config(data)};
  auto md = rt.create_topic("t", one_partition());
  REQUIRE_FALSE(md);
  CHECK(is(md.error(), errc::storage_failure));
  CHECK_THAT(describe(md.error()),
             Catch::Contains(data) && Catch::Contains("Not a directory") &&
                 Catch::Contains("check that data_dir points to a directory"));
  // The regular file is left alone.
  CHECK(read_file(dir / "file") == "not a directory");
}

TEST_CASE("a full disk fails the publish that does not fit, and loses nothing acknowledged",
          "[disk][bad_input]") {
  temp_dir dir;
  auto data = dir / "data";
  std::filesystem::create_directories(data);

  // Publishes until the disk is full, makes room, publishes again in the same runtime, then
  // checks the errors and what a new runtime finds on the directory.
  auto fill_and_recover = [&](auto&& full, auto&& make_room) {
    std::vector<int64_t> acked, acked_after;
    caf::error failure, after_room;
    {
      runtime rt{disk_config(data)};
      REQUIRE(rt.create_topic("t", one_partition()));
      auto p = rt.make_producer();
      full();
      acked = publish_until_failure(p, 0, 20'000, failure);
      make_room();
      // The same runtime goes on once there is room: the failed write left nothing behind.
      acked_after = publish_until_failure(p, 1'000'000, 50, after_room);
    }
    INFO("acknowledged before the failure: " << acked.size());
    REQUIRE(failure);
    CHECK(acked.size() > 100);  // the disk was not "full" from the start
    CHECK(is(failure, errc::storage_failure));
    CHECK_THAT(describe(failure), Catch::Contains(data + "/t/0/") && Catch::Contains(".log") &&
                                      Catch::Contains("free space"));
    CHECK_FALSE(after_room);
    CHECK(acked_after.size() == 50);
    // A new runtime on the directory finds exactly the acknowledged events, in order: no
    // half-written batch, no gap, nothing twice.
    runtime rt{disk_config(data)};
    REQUIRE(rt.create_topic("t", one_partition()));
    auto seqs = stored_seqs(rt);
    std::vector<int64_t> want = acked;
    want.insert(want.end(), acked_after.begin(), acked_after.end());
    CHECK(seqs == want);
  };

  SECTION("a file-size limit (RLIMIT_FSIZE)") {
    // Segments are 64 MiB: the active segment hits a 1 MiB limit long before it rolls.
    std::optional<file_size_limit> limit;
    fill_and_recover([&] { limit.emplace(1 << 20); }, [&] { limit->lift(); });
  }
  SECTION("a small tmpfs") {
    small_tmpfs fs{data, "2m"};
    if (!fs.mounted())
      WARN("cannot mount a tmpfs here (" << fs.why_not() << "): covered by the file-size limit");
    else
      fill_and_recover([] {}, [&] { REQUIRE(fs.grow("16m")); });
  }
}

TEST_CASE("files from a newer Herald stop the start, name the file, and are left untouched",
          "[disk][bad_input]") {
  temp_dir dir;
  auto data = dir / "data";
  {
    runtime rt{disk_config(data)};
    REQUIRE(rt.create_topic("t", one_partition()));
    auto p = rt.make_producer();
    for (int64_t i = 0; i < 20; ++i) REQUIRE(p.publish(big_order(i)));
    recorder seen;
    auto sub = rt.subscribe("t", "g", [&](const event_view& e) { seen.add("m", e); });
    REQUIRE(sub);
    REQUIRE_FALSE(rt.shutdown());  // drains the group and commits
  }
  std::string path;
  SECTION("a segment file") {
    auto logs = files_with(data + "/t/0", ".log");
    REQUIRE(logs.size() == 1);
    path = logs.front();
  }
  SECTION("the group offset store") {
    path = data + "/@groups/offsets.log";
  }
  auto original = read_file(path);
  make_header_newer(path, 2);
  auto newer = read_file(path);
  {
    runtime rt{disk_config(data)};
    auto md = rt.create_topic("t", one_partition());
    REQUIRE_FALSE(md);
    CHECK(is(md.error(), errc::storage_failure));
    CHECK_THAT(describe(md.error()), Catch::Contains(path) && Catch::Contains("version 2") &&
                                         Catch::Contains("upgrade Herald"));
  }
  CHECK(read_file(path) == newer);
  CHECK(files_containing(data + "/t/0", ".dropped-").empty());
  // With the file as it was, everything is there again, and the group's offsets too.
  write_file(path, original);
  runtime rt{disk_config(data)};
  REQUIRE(rt.create_topic("t", one_partition()));
  auto seqs = stored_seqs(rt);
  REQUIRE(seqs.size() == 20);
  for (int64_t i = 0; i < 20; ++i) CHECK(seqs[i] == i);
  // The group resumes after what it had committed: only a new event reaches it.
  recorder seen;
  auto sub = rt.subscribe("t", "g", [&](const event_view& e) { seen.add("m", e); });
  REQUIRE(sub);
  auto p = rt.make_producer();
  REQUIRE(p.publish(big_order(20)));
  REQUIRE(wait_until([&] { return seen.size() >= 1; }));
  REQUIRE_FALSE(rt.shutdown());
  REQUIRE(seen.size() == 1);
  CHECK(seen.items().front().seq == 20);
}
