// POSIX file access for the disk log: an owning descriptor with positional reads and writes
// that turn every failure into an errc::storage_failure naming the file, the system error and
// what to do about it. Shared by shared_ptr so that a background fsync can keep a file open
// while the owner closes or replaces it (a descriptor is never closed under a running sync).
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace herald::disk {

class file;
using file_ptr = std::shared_ptr<file>;

class file {
 public:
  enum class mode : uint8_t {
    read_only,
    read_write,  ///< must exist
    create,      ///< create if missing
    create_new,  ///< fail if it exists
  };

  [[nodiscard]] static caf::expected<file_ptr> open(const std::string& path, mode m);
  ~file();
  file(const file&) = delete;
  file& operator=(const file&) = delete;

  const std::string& path() const { return path_; }
  int fd() const { return fd_; }

  [[nodiscard]] caf::expected<int64_t> size() const;
  /// Writes all of `iov` at `pos` (retrying short writes). On error some bytes may have been
  /// written: the caller truncates back.
  [[nodiscard]] caf::error write_at(const iovec* iov, int count, int64_t pos);
  [[nodiscard]] caf::error write_at(const void* data, size_t n, int64_t pos);
  /// Reads up to `n` bytes at `pos`; fewer only at the end of the file.
  [[nodiscard]] caf::expected<size_t> read_at(void* buf, size_t n, int64_t pos) const;
  [[nodiscard]] caf::error truncate(int64_t size);
  [[nodiscard]] caf::error datasync();

 private:
  file(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
};

/// An errc::storage_failure for a failed system call: "<what> <path>: <strerror>; <advice>",
/// where the advice depends on errno (full disk, permissions, I/O error, ...).
[[nodiscard]] caf::error io_error(const std::string& what, const std::string& path, int err);

/// True when `err` came from a full disk or a file-size limit (ENOSPC, EDQUOT, EFBIG).
bool is_no_space(int err);

[[nodiscard]] caf::error make_dirs(const std::string& path);
/// fsync of a directory, so that files created, renamed or removed in it stay so.
[[nodiscard]] caf::error sync_dir(const std::string& path);
[[nodiscard]] caf::error rename_file(const std::string& from, const std::string& to);
[[nodiscard]] caf::error remove_file(const std::string& path);
/// Removes a directory and everything below it; a missing directory is not an error.
[[nodiscard]] caf::error remove_tree(const std::string& path);
/// Names (not paths) of the entries of a directory.
[[nodiscard]] caf::expected<std::vector<std::string>> list_dir(const std::string& path);

}  // namespace herald::disk
