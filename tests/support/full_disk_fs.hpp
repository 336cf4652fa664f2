#pragma once
// A RocksDB file system whose disk can be made "full" (tests of the stores' full-disk
// behaviour: clear errors, nothing acknowledged lost, writes resume), and which counts
// and can hold the syncs of write-ahead logs (tests of group commit).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include "tests/support/temp_dir.hpp"

namespace wfe::test {

// A file system whose disk can be made "full": every append and sync then fails
// the way ext4 does (ENOSPC), as RocksDB reports it.
class full_disk_fs final : public rocksdb::FileSystemWrapper {
 public:
  full_disk_fs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "full_disk_fs"; }
  std::atomic<bool> full{false};
  // While set, every append fails as damaged data would (IOStatus::Corruption): a write
  // failure that is not the disk's.
  std::atomic<bool> corrupt{false};
  std::atomic<std::uint64_t> wal_syncs{0};  // syncs of *.log files (one per synced write)

  // While held, a WAL sync waits (the writer is blocked inside its write) until release().
  void hold_wal_syncs() {
    std::scoped_lock lock(gate_mutex_);
    held_ = true;
  }
  void release_wal_syncs() {
    std::scoped_lock lock(gate_mutex_);
    held_ = false;
    gate_.notify_all();
  }
  // Whether a writer is waiting in a held sync, within 5 s.
  bool wait_sync_held() {
    std::unique_lock lock(gate_mutex_);
    return gate_.wait_for(lock, std::chrono::seconds(5), [&] { return waiting_ > 0; });
  }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& opts,
                                    std::unique_ptr<rocksdb::FSWritableFile>* out,
                                    rocksdb::IODebugContext* dbg) override {
    if (full) return rocksdb::IOStatus::NoSpace("No space left on device", name);
    auto s = target()->NewWritableFile(name, opts, out, dbg);
    const bool wal = name.size() > 4 && name.compare(name.size() - 4, 4, ".log") == 0;
    if (s.ok()) *out = std::make_unique<file>(std::move(*out), *this, wal);
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
  void synced_wal() {
    wal_syncs.fetch_add(1);
    std::unique_lock lock(gate_mutex_);
    ++waiting_;
    gate_.notify_all();
    gate_.wait(lock, [&] { return !held_; });
    --waiting_;
  }

  std::mutex gate_mutex_;
  std::condition_variable gate_;
  bool held_ = false;
  int waiting_ = 0;

  class file final : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    file(std::unique_ptr<rocksdb::FSWritableFile> f, full_disk_fs& fs, bool wal)
        : FSWritableFileOwnerWrapper(std::move(f)), full_(fs.full), fs_(fs), wal_(wal) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* dbg) override {
      if (full_) return rocksdb::IOStatus::NoSpace("No space left on device");
      if (fs_.corrupt) return rocksdb::IOStatus::Corruption("injected by full_disk_fs");
      return FSWritableFileOwnerWrapper::Append(data, o, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                             const rocksdb::DataVerificationInfo& v,
                             rocksdb::IODebugContext* dbg) override {
      if (full_) return rocksdb::IOStatus::NoSpace("No space left on device");
      if (fs_.corrupt) return rocksdb::IOStatus::Corruption("injected by full_disk_fs");
      return FSWritableFileOwnerWrapper::Append(data, o, v, dbg);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
      if (full_) return rocksdb::IOStatus::NoSpace("No space left on device");
      if (wal_) fs_.synced_wal();
      return FSWritableFileOwnerWrapper::Sync(o, dbg);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
      if (full_) return rocksdb::IOStatus::NoSpace("No space left on device");
      if (wal_) fs_.synced_wal();
      return FSWritableFileOwnerWrapper::Fsync(o, dbg);
    }

   private:
    std::atomic<bool>& full_;
    full_disk_fs& fs_;
    bool wal_;
  };
};

// A temp dir on a full_disk_fs: what the stores' fault tests start from (`env` goes into
// the store's config; `auto& [dir, fs, env] = disk;` names the parts).
struct faulty_disk {
  temp_dir dir;
  std::shared_ptr<full_disk_fs> fs = std::make_shared<full_disk_fs>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
};

}  // namespace wfe::test
