// The prefix memtable (prefix_memtable.hpp).
//
// Why: RocksDB's hashed linked lists (NewHashLinkListRepFactory), which the stores used
// before, cost the node ~16k instructions per workflow start in Debian's build (its
// assertions on: every insert first searches its bucket for the key it is about to add)
// and their flushes spent 71 % of their time copying the memtable into a new skip list
// for the key order (bench/README.md, "Thirty-fifth pass" and "Thirty-sixth pass").
//
// Layout, all in the memtable's arena (freed with the memtable):
//   node:  height | links[height] (level 0 first) | the entry RocksDB encodes
//          (varint32 length, internal key, varint32 length, value)
//   list:  one per prefix: the prefix (pointing into its first entry), its hash, the
//          levels it links (1: a sorted list; k_max_height: a skip list), its height,
//          count, the last node of each level, and a head node
//   table: open addressing over the lists, at most half full, doubled by the writer
//          (readers that hold the old table see every list that existed then).
// Concurrency: one writer (RocksDB serialises a memtable's inserts when
// allow_concurrent_memtable_write is off), any number of readers. A node is fully
// written before it is linked with a release store; readers follow links with acquire
// loads. A list that reaches k_skip_list_at entries is replaced in its slot by a skip
// list over the same nodes (their upper links set first, then the slot): a reader still
// on the old list walks level 0, which both share. Replaced lists and tables stay in the
// arena; a reader only needs the entries of its own snapshot, which RocksDB inserted
// before the reader began.
#include "persistence/internal/prefix_memtable.hpp"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include <rocksdb/comparator.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/slice_transform.h>

// RocksDB hands iterators an Arena to allocate themselves from (the owner calls their
// destructor only). Its header (memory/arena.h) is not installed; this is its
// AllocateAligned by its symbol, a member function called with the arena as `this`
// (Itanium C++ ABI). Should the distribution's library change it, linking fails.
extern "C" char* wfe_rocksdb_arena_allocate_aligned(
    rocksdb::Arena* arena, std::size_t bytes, std::size_t huge_page_size,
    rocksdb::Logger* logger) __asm__("_ZN7rocksdb5Arena15AllocateAlignedEmmPNS_6LoggerE");

namespace wfe::persistence::internal {
namespace {

using rocksdb::Slice;
using key_comparator = rocksdb::MemTableRep::KeyComparator;

constexpr int k_max_height = 12;              // 4^11 entries per prefix before searches slow
constexpr std::uint32_t k_skip_list_at = 64;  // entries of a list that becomes a skip list
constexpr std::size_t k_first_table_slots = 256;
constexpr std::size_t k_prefetch_ahead = 8;  // entries a total-order iterator fetches ahead

struct node {
  std::uint32_t height;
  std::uint32_t unused;
  // followed by std::atomic<node*> links[height], then the entry

  std::atomic<node*>* links() { return reinterpret_cast<std::atomic<node*>*>(this + 1); }
  const std::atomic<node*>* links() const {
    return reinterpret_cast<const std::atomic<node*>*>(this + 1);
  }
  node* next(int level) const { return links()[level].load(std::memory_order_acquire); }
  const char* entry() const { return reinterpret_cast<const char*>(links() + height); }
};

struct prefix_list {
  std::uint64_t hash;
  const char* prefix;
  std::size_t prefix_size;
  std::uint32_t levels;  // 1 or k_max_height
  std::uint32_t count;   // writer only
  std::atomic<int> height;
  // followed by node* tails[levels] (writer only), then the head node and its links

  node** tails() { return reinterpret_cast<node**>(this + 1); }
  node* head() { return reinterpret_cast<node*>(tails() + levels); }
  const node* head() const {
    return reinterpret_cast<const node*>(reinterpret_cast<node* const*>(this + 1) + levels);
  }
  static std::size_t bytes(std::uint32_t levels) {
    return sizeof(prefix_list) + levels * sizeof(node*) + sizeof(node) +
           levels * sizeof(std::atomic<node*>);
  }
};

struct table {
  std::size_t mask;
  // followed by std::atomic<prefix_list*> slots[mask + 1]
  std::atomic<prefix_list*>* slots() {
    return reinterpret_cast<std::atomic<prefix_list*>*>(this + 1);
  }
  const std::atomic<prefix_list*>* slots() const {
    return reinterpret_cast<const std::atomic<prefix_list*>*>(this + 1);
  }
};

// The internal key of an encoded entry (varint32 length, then the key).
Slice internal_key_of(const char* entry) {
  std::uint32_t len = 0;
  int shift = 0;
  auto p = reinterpret_cast<const unsigned char*>(entry);
  while (*p & 0x80U) {
    len |= static_cast<std::uint32_t>(*p++ & 0x7FU) << shift;
    shift += 7;
  }
  len |= static_cast<std::uint32_t>(*p++) << shift;
  return {reinterpret_cast<const char*>(p), len};
}

constexpr std::size_t k_internal_key_trailer = 8;  // sequence number and type

Slice user_key_of(const Slice& internal_key) {
  assert(internal_key.size() >= k_internal_key_trailer);
  return {internal_key.data(), internal_key.size() - k_internal_key_trailer};
}

// Eight bytes a step. Not core::fnv1a_64, the project's stable hash (a byte a step):
// nothing stores this one, and it runs on every insert and lookup.
std::uint64_t hash_of(const Slice& s) {
  constexpr std::uint64_t k_mul = 0x9E3779B97F4A7C15ULL;
  std::uint64_t h = 0x243F6A8885A308D3ULL ^ s.size();
  const char* p = s.data();
  std::size_t n = s.size();
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * k_mul;
    h ^= h >> 29;
  }
  if (n > 0) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = (h ^ w) * k_mul;
    h ^= h >> 29;
  }
  h *= k_mul;
  return h ^ (h >> 32);
}

// RocksDB's LookupKey (db/dbformat.h, not installed) begins with three pointers: the
// memtable key [start, end), which is the internal key's varint32 length followed by the
// internal key [kstart, end). Read here, and checked against that shape on every use:
// RocksDB's own MemTableRep::Get, the alternative, leaks the iterator it makes.
Slice internal_key_of(const rocksdb::LookupKey& k) {
  struct view {
    const char* start;
    const char* kstart;
    const char* end;
  } v{};
  std::memcpy(&v, static_cast<const void*>(&k), sizeof v);
  const Slice ik = internal_key_of(v.start);
  if (ik.data() != v.kstart || ik.data() + ik.size() != v.end) {
    std::fputs("prefix_memtable: this librocksdb's LookupKey is not laid out as expected\n",
               stderr);
    std::abort();
  }
  return ik;
}

// RocksDB's order of memtable entries: by user key, then newest (highest sequence number
// and type, the 8-byte trailer) first. For a family with RocksDB's bytewise comparator
// (what every store uses) the order is computed here — a memcmp and a trailer — instead
// of through MemTable::KeyComparator and the user comparator's virtual call (~105
// instructions a comparison in Debian's build); for any other comparator, through them.
class entry_order {
 public:
  entry_order(const key_comparator& compare, bool bytewise)
      : compare_(compare), bytewise_(bytewise) {}

  int operator()(const char* a, const char* b) const {
    return bytewise_ ? order(internal_key_of(a), internal_key_of(b)) : compare_(a, b);
  }
  int operator()(const char* a, const Slice& internal_key) const {
    return bytewise_ ? order(internal_key_of(a), internal_key) : compare_(a, internal_key);
  }

 private:
  static std::uint64_t trailer(const Slice& ikey) {  // RocksDB's little-endian fixed64
    const auto* p =
        reinterpret_cast<const unsigned char*>(ikey.data() + ikey.size() - k_internal_key_trailer);
    std::uint64_t t = 0;
    for (int i = 7; i >= 0; --i) t = (t << 8) | p[i];
    return t;
  }
  static int order(const Slice& a, const Slice& b) {
    const int by_key = user_key_of(a).compare(user_key_of(b));
    if (by_key != 0) return by_key;
    const auto ta = trailer(a);
    const auto tb = trailer(b);
    return ta > tb ? -1 : (ta < tb ? 1 : 0);
  }

  const key_comparator& compare_;
  bool bytewise_;
};

class prefix_rep final : public rocksdb::MemTableRep {
 public:
  prefix_rep(const key_comparator& compare, bool bytewise, rocksdb::Allocator* allocator,
             const rocksdb::SliceTransform* transform)
      : MemTableRep(allocator), compare_(compare, bytewise), transform_(transform) {
    table_.store(new_table(k_first_table_slots), std::memory_order_release);
  }

  rocksdb::KeyHandle Allocate(const std::size_t len, char** buf) override {
    const auto height = random_height();
    auto* n =
        static_cast<node*>(arena_bytes(sizeof(node) + height * sizeof(std::atomic<node*>) + len));
    n->height = height;
    n->unused = 0;
    for (std::uint32_t l = 0; l < height; ++l) new (&n->links()[l]) std::atomic<node*>(nullptr);
    *buf = const_cast<char*>(n->entry());
    return n;
  }

  void Insert(rocksdb::KeyHandle handle) override {
    [[maybe_unused]] const bool inserted = InsertKey(handle);
    assert(inserted);
  }

  bool InsertKey(rocksdb::KeyHandle handle) override {
    auto* n = static_cast<node*>(handle);
    const Slice prefix = prefix_of(user_key_of(internal_key_of(n->entry())));
    const auto h = hash_of(prefix);
    auto* t = table_.load(std::memory_order_relaxed);
    std::size_t slot = find_slot(*t, prefix, h);
    auto* list = t->slots()[slot].load(std::memory_order_relaxed);
    if (list == nullptr) {
      if ((prefixes_ + 1) * 2 > t->mask + 1) {
        t = grow(*t);
        slot = find_slot(*t, prefix, h);
      }
      list = new_list(prefix, h, 1);
      t->slots()[slot].store(list, std::memory_order_release);
      ++prefixes_;
    } else if (list->levels == 1 && list->count >= k_skip_list_at) {
      list = to_skip_list(*list);
      t->slots()[slot].store(list, std::memory_order_release);
    }
    return insert_into(*list, n);
  }

  bool Contains(const char* key) const override {
    const Slice ikey = internal_key_of(key);
    const auto* list = find_list(ikey);
    if (list == nullptr) return false;
    const node* at = seek(*list, ikey);
    return at != nullptr && compare_(at->entry(), ikey) == 0;
  }

  void Get(const rocksdb::LookupKey& k, void* callback_args,
           bool (*callback)(void* arg, const char* entry)) override {
    const Slice ikey = internal_key_of(k);
    const auto* list = find_list(ikey);
    if (list == nullptr) return;
    for (const node* x = seek(*list, ikey); x != nullptr && callback(callback_args, x->entry());
         x = x->next(0)) {
    }
  }

  std::size_t ApproximateMemoryUsage() override { return 0; }  // all of it is in the arena

  Iterator* GetIterator(rocksdb::Arena* arena) override {
    return make_iterator<ordered_iterator>(arena, compare_, ordered_entries());
  }

  Iterator* GetDynamicPrefixIterator(rocksdb::Arena* arena) override {
    return make_iterator<prefix_iterator>(arena, *this);
  }

 private:
  // Within one list (prefix), in prefix mode; the list is the one the last Seek or
  // SeekForPrev found, and SeekToFirst/SeekToLast go to its ends (none: not valid).
  class prefix_iterator final : public Iterator {
   public:
    explicit prefix_iterator(const prefix_rep& rep) : rep_(rep) {}
    bool Valid() const override { return at_ != nullptr; }
    const char* key() const override { return at_->entry(); }
    void Next() override { at_ = at_->next(0); }
    void Prev() override { at_ = rep_.before(*list_, internal_key_of(at_->entry())); }
    void Seek(const Slice& internal_key, const char*) override {
      list_ = rep_.find_list(internal_key);
      at_ = list_ == nullptr ? nullptr : rep_.seek(*list_, internal_key);
    }
    void SeekForPrev(const Slice& internal_key, const char*) override {
      list_ = rep_.find_list(internal_key);
      at_ = list_ == nullptr ? nullptr : rep_.seek_for_prev(*list_, internal_key);
    }
    void SeekToFirst() override { at_ = list_ == nullptr ? nullptr : list_->head()->next(0); }
    void SeekToLast() override { at_ = list_ == nullptr ? nullptr : rep_.last(*list_); }

   private:
    const prefix_rep& rep_;
    const prefix_list* list_ = nullptr;
    const node* at_ = nullptr;
  };

  // Every entry in key order, as of the iterator's creation.
  class ordered_iterator final : public Iterator {
   public:
    ordered_iterator(entry_order compare, std::vector<const char*> entries)
        : compare_(compare), entries_(std::move(entries)), at_(entries_.size()) {}
    bool Valid() const override { return at_ < entries_.size(); }
    const char* key() const override { return entries_[at_]; }
    // A flush reads every entry in this order, each at a random place in the arena: the
    // one a few steps ahead is fetched meanwhile (a flush of 500k entries 295 -> 255 ms).
    void Next() override {
      ++at_;
      if (at_ + k_prefetch_ahead < entries_.size())
        __builtin_prefetch(entries_[at_ + k_prefetch_ahead]);
    }
    void Prev() override { at_ = at_ == 0 ? entries_.size() : at_ - 1; }
    void Seek(const Slice& internal_key, const char*) override {
      at_ = static_cast<std::size_t>(
          std::partition_point(entries_.begin(), entries_.end(),
                               [&](const char* e) { return compare_(e, internal_key) < 0; }) -
          entries_.begin());
    }
    void SeekForPrev(const Slice& internal_key, const char*) override {
      const auto after = static_cast<std::size_t>(
          std::partition_point(entries_.begin(), entries_.end(),
                               [&](const char* e) { return compare_(e, internal_key) <= 0; }) -
          entries_.begin());
      at_ = after == 0 ? entries_.size() : after - 1;
    }
    void SeekToFirst() override { at_ = 0; }
    void SeekToLast() override { at_ = entries_.empty() ? 0 : entries_.size() - 1; }

   private:
    entry_order compare_;
    std::vector<const char*> entries_;
    std::size_t at_;
  };

  template <class It, class... Args>
  static Iterator* make_iterator(rocksdb::Arena* arena, Args&&... args) {
    if (arena == nullptr) return new It(std::forward<Args>(args)...);
    void* mem = wfe_rocksdb_arena_allocate_aligned(arena, sizeof(It), 0, nullptr);
    return new (mem) It(std::forward<Args>(args)...);
  }

  // Arena memory, 8-byte aligned (MemTableRep::Allocate takes unaligned memory from the
  // arena; the arena's aligned call is not reachable without RocksDB's private headers).
  void* arena_bytes(std::size_t n) {
    char* raw = nullptr;
    MemTableRep::Allocate(n + alignof(std::uint64_t) - 1, &raw);
    const auto at = reinterpret_cast<std::uintptr_t>(raw);
    const auto aligned =
        (at + alignof(std::uint64_t) - 1) & ~std::uintptr_t{alignof(std::uint64_t) - 1};
    return raw + (aligned - at);
  }

  std::uint32_t random_height() {
    // xorshift64*; the writer's own (Allocate runs on the writing thread)
    rng_ ^= rng_ >> 12;
    rng_ ^= rng_ << 25;
    rng_ ^= rng_ >> 27;
    auto bits = rng_ * 0x2545F4914F6CDD1DULL;
    std::uint32_t h = 1;
    while (h < k_max_height && (bits & 3U) == 0) {  // each level a quarter of the one below
      ++h;
      bits >>= 2;
    }
    return h;
  }

  Slice prefix_of(const Slice& user_key) const {
    if (transform_ == nullptr || !transform_->InDomain(user_key)) return {};
    return transform_->Transform(user_key);
  }

  table* new_table(std::size_t slots) {
    auto* t =
        static_cast<table*>(arena_bytes(sizeof(table) + slots * sizeof(std::atomic<prefix_list*>)));
    t->mask = slots - 1;
    for (std::size_t i = 0; i < slots; ++i) new (&t->slots()[i]) std::atomic<prefix_list*>(nullptr);
    return t;
  }

  // The slot holding `prefix`, or the empty slot where it would go.
  static std::size_t find_slot(const table& t, const Slice& prefix, std::uint64_t h) {
    for (std::size_t i = h & t.mask;; i = (i + 1) & t.mask) {
      const auto* l = t.slots()[i].load(std::memory_order_acquire);
      if (l == nullptr || (l->hash == h && Slice(l->prefix, l->prefix_size) == prefix)) return i;
    }
  }

  table* grow(const table& old) {
    auto* t = new_table((old.mask + 1) * 2);
    for (std::size_t i = 0; i <= old.mask; ++i) {
      auto* l = old.slots()[i].load(std::memory_order_relaxed);
      if (l == nullptr) continue;
      for (std::size_t j = l->hash & t->mask;; j = (j + 1) & t->mask) {
        if (t->slots()[j].load(std::memory_order_relaxed) == nullptr) {
          t->slots()[j].store(l, std::memory_order_relaxed);
          break;
        }
      }
    }
    table_.store(t, std::memory_order_release);
    return t;
  }

  prefix_list* new_list(const Slice& prefix, std::uint64_t h, std::uint32_t levels) {
    auto* l = static_cast<prefix_list*>(arena_bytes(prefix_list::bytes(levels)));
    l->hash = h;
    l->prefix = prefix.data();  // inside the first entry: arena memory, as long as the list
    l->prefix_size = prefix.size();
    l->levels = levels;
    l->count = 0;
    new (&l->height) std::atomic<int>(1);
    for (std::uint32_t i = 0; i < levels; ++i) l->tails()[i] = nullptr;
    node* head = l->head();
    head->height = levels;
    head->unused = 0;
    for (std::uint32_t i = 0; i < levels; ++i) new (&head->links()[i]) std::atomic<node*>(nullptr);
    return l;
  }

  // A skip list over a sorted list's nodes: their upper links set (readers of the sorted
  // list never look at them), then published by the caller.
  prefix_list* to_skip_list(prefix_list& small) {
    auto* big = new_list(Slice(small.prefix, small.prefix_size), small.hash, k_max_height);
    node* last[k_max_height];
    std::fill(std::begin(last), std::end(last), big->head());
    int height = 1;
    node* first = small.head()->next(0);
    big->head()->links()[0].store(first, std::memory_order_relaxed);
    for (node* x = first; x != nullptr; x = x->next(0)) {
      const int h = static_cast<int>(std::min<std::uint32_t>(x->height, k_max_height));
      for (int l = 1; l < h; ++l) {
        last[l]->links()[l].store(x, std::memory_order_relaxed);
        last[l] = x;
      }
      last[0] = x;
      height = std::max(height, h);
    }
    for (int l = 0; l < k_max_height; ++l) {
      big->tails()[l] = last[l] == big->head() ? nullptr : last[l];
    }
    big->height.store(height, std::memory_order_relaxed);
    big->count = small.count;
    return big;
  }

  bool insert_into(prefix_list& list, node* n) {
    const int h = static_cast<int>(std::min(n->height, list.levels));
    node* prev[k_max_height];
    node* head = list.head();
    node* tail = list.tails()[0];
    int c = 0;
    if (tail == nullptr) {
      std::fill(prev, prev + h, head);
    } else if ((c = compare_(n->entry(), tail->entry())) > 0) {  // an append
      for (int l = 0; l < h; ++l) prev[l] = list.tails()[l] == nullptr ? head : list.tails()[l];
    } else if (c == 0) {
      return false;
    } else if ((c = compare_(n->entry(), head->next(0)->entry())) < 0) {  // a new first
      std::fill(prev, prev + h, head);
    } else if (c == 0) {
      return false;
    } else {
      const Slice key = internal_key_of(n->entry());
      const int height = list.height.load(std::memory_order_relaxed);
      node* x = head;
      for (int l = height - 1; l >= 0; --l) {
        for (node* next = x->next(l); next != nullptr && compare_(next->entry(), key) < 0;
             next = x->next(l)) {
          x = next;
        }
        if (l < h) prev[l] = x;
      }
      for (int l = height; l < h; ++l) prev[l] = head;
      const node* at = x->next(0);
      if (at != nullptr && compare_(at->entry(), key) == 0) return false;
    }
    for (int l = 0; l < h; ++l) {
      node* next = prev[l]->links()[l].load(std::memory_order_relaxed);
      n->links()[l].store(next, std::memory_order_relaxed);
      prev[l]->links()[l].store(n, std::memory_order_release);
      if (next == nullptr) list.tails()[l] = n;
    }
    if (h > list.height.load(std::memory_order_relaxed)) {
      list.height.store(h, std::memory_order_relaxed);
    }
    ++list.count;
    return true;
  }

  const prefix_list* find_list(const Slice& internal_key) const {
    const Slice prefix = prefix_of(user_key_of(internal_key));
    const auto h = hash_of(prefix);
    const auto* t = table_.load(std::memory_order_acquire);
    return t->slots()[find_slot(*t, prefix, h)].load(std::memory_order_acquire);
  }

  // The last node before `key` (the head when none is).
  const node* last_before(const prefix_list& list, const Slice& key) const {
    const node* x = list.head();
    for (int l = list.height.load(std::memory_order_relaxed) - 1; l >= 0; --l) {
      for (const node* next = x->next(l); next != nullptr && compare_(next->entry(), key) < 0;
           next = x->next(l)) {
        x = next;
      }
    }
    return x;
  }

  // The first node at or after `key`.
  const node* seek(const prefix_list& list, const Slice& key) const {
    return last_before(list, key)->next(0);
  }

  // The last node at or before `key`.
  const node* seek_for_prev(const prefix_list& list, const Slice& key) const {
    const node* x = last_before(list, key);
    const node* at = x->next(0);
    if (at != nullptr && compare_(at->entry(), key) == 0) return at;
    return x == list.head() ? nullptr : x;
  }

  const node* before(const prefix_list& list, const Slice& key) const {
    const node* x = last_before(list, key);
    return x == list.head() ? nullptr : x;
  }

  const node* last(const prefix_list& list) const {
    const node* x = list.head();
    for (int l = list.height.load(std::memory_order_relaxed) - 1; l >= 0; --l) {
      for (const node* next = x->next(l); next != nullptr; next = x->next(l)) x = next;
    }
    return x == list.head() ? nullptr : x;
  }

  // Every entry in key order. Each list is sorted; the lists are put in the order of
  // their prefixes (bytewise: the prefixes the stores use are leading bytes of the key,
  // a cheap comparison, and nothing depends on it but the check that follows) and
  // concatenated when each list's last entry comes before the next list's first (one
  // comparison per list: the journal's terminated ids always pass). Otherwise — prefixes
  // whose ranges interleave, or that are not in key order — everything is sorted.
  std::vector<const char*> ordered_entries() const {
    struct run {
      std::uint64_t leading;  // the prefix's first 8 bytes, big-endian
      const prefix_list* list;
      std::size_t begin;
      std::size_t end;
    };
    std::vector<const char*> all;
    std::vector<run> runs;
    const auto* t = table_.load(std::memory_order_acquire);
    for (std::size_t i = 0; i <= t->mask; ++i) {
      const auto* l = t->slots()[i].load(std::memory_order_acquire);
      if (l == nullptr) continue;
      const auto begin = all.size();
      for (const node* x = l->head()->next(0); x != nullptr; x = x->next(0)) {
        all.push_back(x->entry());
      }
      if (all.size() == begin) continue;
      std::uint64_t leading = 0;
      for (std::size_t b = 0; b < 8; ++b) {
        leading =
            (leading << 8) | (b < l->prefix_size ? static_cast<unsigned char>(l->prefix[b]) : 0U);
      }
      runs.push_back({leading, l, begin, all.size()});
    }
    std::sort(runs.begin(), runs.end(), [](const run& a, const run& b) {
      if (a.leading != b.leading) return a.leading < b.leading;
      return Slice(a.list->prefix, a.list->prefix_size)
                 .compare(Slice(b.list->prefix, b.list->prefix_size)) < 0;
    });
    const auto less = [this](const char* a, const char* b) { return compare_(a, b) < 0; };
    bool ordered = true;
    for (std::size_t i = 1; i < runs.size() && ordered; ++i) {
      ordered = less(all[runs[i - 1].end - 1], all[runs[i].begin]);
    }
    if (!ordered) {
      std::sort(all.begin(), all.end(), less);
      return all;
    }
    std::vector<const char*> out;
    out.reserve(all.size());
    for (const auto& r : runs) out.insert(out.end(), all.begin() + r.begin, all.begin() + r.end);
    return out;
  }

  entry_order compare_;
  const rocksdb::SliceTransform* transform_;
  std::atomic<table*> table_{nullptr};
  std::size_t prefixes_ = 0;                   // writer only
  std::uint64_t rng_ = 0x853C49E6748FEA9BULL;  // writer only
};

class prefix_factory final : public rocksdb::MemTableRepFactory {
 public:
  explicit prefix_factory(bool bytewise) : bytewise_(bytewise) {}
  using MemTableRepFactory::CreateMemTableRep;
  rocksdb::MemTableRep* CreateMemTableRep(const key_comparator& compare,
                                          rocksdb::Allocator* allocator,
                                          const rocksdb::SliceTransform* transform,
                                          rocksdb::Logger*) override {
    return new prefix_rep(compare, bytewise_, allocator, transform);
  }
  const char* Name() const override { return "WfePrefixMemTableFactory"; }

 private:
  bool bytewise_;
};

}  // namespace

rocksdb::MemTableRepFactory* new_prefix_memtable_factory(const rocksdb::Comparator* comparator) {
  return new prefix_factory(comparator == nullptr || comparator == rocksdb::BytewiseComparator());
}

}  // namespace wfe::persistence::internal
