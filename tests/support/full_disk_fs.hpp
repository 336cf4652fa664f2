#pragma once
// A RocksDB file system whose disk can be made "full" (tests of the stores' full-disk
// behaviour: clear errors, nothing acknowledged lost, writes resume).

#include <atomic>
#include <memory>
#include <string>

#include <rocksdb/file_system.h>

namespace wfe::test {

// A file system whose disk can be made "full": every append and sync then fails
// the way ext4 does (ENOSPC), as RocksDB reports it.
class full_disk_fs final : public rocksdb::FileSystemWrapper {
 public:
  full_disk_fs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "full_disk_fs"; }
  std::atomic<bool> full{false};

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& opts,
                                    std::unique_ptr<rocksdb::FSWritableFile>* out,
                                    rocksdb::IODebugContext* dbg) override {
    if (full) return rocksdb::IOStatus::NoSpace("No space left on device", name);
    auto s = target()->NewWritableFile(name, opts, out, dbg);
    if (s.ok()) *out = std::make_unique<file>(std::move(*out), full);
    return s;
  }
  // RocksDB's own recovery waits for free space; report none while "full".
  rocksdb::IOStatus GetFreeSpace(const std::string& path, const rocksdb::IOOptions& o,
                                 uint64_t* free_bytes, rocksdb::IODebugContext* dbg) override {
    if (full) {
      *free_bytes = 0;
      return rocksdb::IOStatus::OK();
    }
    return target()->GetFreeSpace(path, o, free_bytes, dbg);
  }

 private:
  class file final : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    file(std::unique_ptr<rocksdb::FSWritableFile> f, std::atomic<bool>& full)
        : FSWritableFileOwnerWrapper(std::move(f)), full_(full) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* dbg) override {
      if (full_) return rocksdb::IOStatus::NoSpace("No space left on device");
      return FSWritableFileOwnerWrapper::Append(data, o, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                             const rocksdb::DataVerificationInfo& v,
                             rocksdb::IODebugContext* dbg) override {
      if (full_) return rocksdb::IOStatus::NoSpace("No space left on device");
      return FSWritableFileOwnerWrapper::Append(data, o, v, dbg);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
      if (full_) return rocksdb::IOStatus::NoSpace("No space left on device");
      return FSWritableFileOwnerWrapper::Sync(o, dbg);
    }

   private:
    std::atomic<bool>& full_;
  };
};

}  // namespace wfe::test
