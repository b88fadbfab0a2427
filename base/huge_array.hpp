// A fixed-size, zero-initialised array of trivially copyable T in its own anonymous mapping,
// backed by transparent huge pages where the kernel allows it (madvise mode).
//
// Why: tables probed at random (the processed-id store: megabytes per partition) miss the
// TLB on almost every probe with 4 KiB pages, and a miss costs a two-level page walk under a
// hypervisor: huge pages cut the probe from ~250 ns to a cache miss. Falls back to ordinary
// pages silently: the kernel may refuse huge pages, and that only costs speed.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace herald {

template <class T>
class huge_array {
  static_assert(std::is_trivially_copyable_v<T>, "the mapping starts zeroed, never constructed");

 public:
  huge_array() = default;
  explicit huge_array(size_t n) : size_(n) {
    if (n == 0) return;
    constexpr size_t huge = size_t{2} << 20;
    bytes_ = (n * sizeof(T) + huge - 1) / huge * huge;
    void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc{};
#ifdef MADV_HUGEPAGE
    (void)madvise(p, bytes_, MADV_HUGEPAGE);
#endif
    data_ = static_cast<T*>(p);
  }
  ~huge_array() {
    if (data_) munmap(data_, bytes_);
  }
  huge_array(huge_array&& x) noexcept
      : data_(std::exchange(x.data_, nullptr)),
        size_(std::exchange(x.size_, 0)),
        bytes_(std::exchange(x.bytes_, 0)) {}
  huge_array& operator=(huge_array&& x) noexcept {
    if (this != &x) {
      this->~huge_array();
      new (this) huge_array(std::move(x));
    }
    return *this;
  }
  huge_array(const huge_array&) = delete;
  huge_array& operator=(const huge_array&) = delete;

  T& operator[](size_t i) {
    return data_[i];
  }
  const T& operator[](size_t i) const {
    return data_[i];
  }
  size_t size() const {
    return size_;
  }

 private:
  T* data_ = nullptr;
  size_t size_ = 0;
  size_t bytes_ = 0;
};

}  // namespace herald
