#include "storage/file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "messages/errors.hpp"

namespace herald::disk {

bool is_no_space(int err) {
  return err == ENOSPC || err == EDQUOT || err == EFBIG;
}

caf::error io_error(const std::string& what, const std::string& path, int err) {
  std::string advice;
  if (is_no_space(err))
    advice =
        "the disk is full or a file-size limit was hit: free space, lower the retention, "
        "or move data_dir to a larger disk";
  else if (err == EACCES || err == EPERM || err == EROFS)
    advice = "make the data directory writable by this user, or choose another data_dir";
  else if (err == EIO)
    advice = "the device reported an I/O error: check the disk (dmesg) before trusting it";
  else if (err == ENOENT || err == ENOTDIR)
    advice = "check that data_dir points to a directory that exists";
  else if (err == EMFILE || err == ENFILE)
    advice = "too many open files: raise the limit (ulimit -n)";
  else
    advice = "check the disk and the data directory";
  return make_error(errc::storage_failure,
                    what + " " + path + ": " + std::strerror(err) + "; " + advice);
}

caf::expected<file_ptr> file::open(const std::string& path, mode m) {
  int flags = O_CLOEXEC;
  switch (m) {
    case mode::read_only:
      flags |= O_RDONLY;
      break;
    case mode::read_write:
      flags |= O_RDWR;
      break;
    case mode::create:
      flags |= O_RDWR | O_CREAT;
      break;
    case mode::create_new:
      flags |= O_RDWR | O_CREAT | O_EXCL;
      break;
  }
  int fd;
  do {
    fd = ::open(path.c_str(), flags, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return io_error("cannot open", path, errno);
  return file_ptr{new file(path, fd)};
}

file::~file() {
  if (fd_ >= 0) ::close(fd_);
}

caf::expected<int64_t> file::size() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return io_error("cannot stat", path_, errno);
  return static_cast<int64_t>(st.st_size);
}

caf::error file::write_at(const iovec* iov, int count, int64_t pos) {
  // pwritev may write less than asked (a signal, a file-size limit); continue from where it
  // stopped with a trimmed copy of the vector.
  std::vector<iovec> rest(iov, iov + count);
  size_t first = 0;
  while (first < rest.size()) {
    auto n = ::pwritev(fd_, rest.data() + first, static_cast<int>(rest.size() - first), pos);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot write", path_, errno);
    }
    if (n == 0) return io_error("cannot write", path_, ENOSPC);
    pos += n;
    auto left = static_cast<size_t>(n);
    while (first < rest.size() && left >= rest[first].iov_len) {
      left -= rest[first].iov_len;
      ++first;
    }
    if (first < rest.size()) {
      rest[first].iov_base = static_cast<char*>(rest[first].iov_base) + left;
      rest[first].iov_len -= left;
    }
  }
  return caf::none;
}

caf::error file::write_at(const void* data, size_t n, int64_t pos) {
  iovec v{const_cast<void*>(data), n};
  return write_at(&v, 1, pos);
}

caf::expected<size_t> file::read_at(void* buf, size_t n, int64_t pos) const {
  size_t done = 0;
  while (done < n) {
    auto r =
        ::pread(fd_, static_cast<char*>(buf) + done, n - done, pos + static_cast<int64_t>(done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot read", path_, errno);
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return done;
}

caf::error file::truncate(int64_t size) {
  int rc;
  do {
    rc = ::ftruncate(fd_, size);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return io_error("cannot truncate", path_, errno);
  return caf::none;
}

caf::error file::datasync() {
  if (::fdatasync(fd_) != 0) return io_error("cannot fdatasync", path_, errno);
  return caf::none;
}

caf::error make_dirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return io_error("cannot create directory", path, ec.value());
  return caf::none;
}

caf::error sync_dir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open directory", path, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return io_error("cannot fsync directory", path, err);
  return caf::none;
}

caf::error rename_file(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0)
    return io_error("cannot rename " + from + " to", to, errno);
  return caf::none;
}

caf::error remove_file(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return io_error("cannot remove", path, errno);
  return caf::none;
}

caf::error remove_tree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return io_error("cannot remove directory", path, ec.value());
  return caf::none;
}

caf::expected<std::vector<std::string>> list_dir(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (!d) return io_error("cannot list directory", path, errno);
  std::vector<std::string> out;
  while (auto* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") out.push_back(std::move(name));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace herald::disk
