#pragma once
// A RocksDB memtable of our own for families written by one writer at a time and read
// within a prefix (the column family's prefix_extractor): the journal's events and
// metadata, the workflow index. See prefix_memtable.cpp for how it works and
// prefix_memtable.test.cpp for the check against an ordered map.

namespace rocksdb {
class Comparator;
class MemTableRepFactory;
}  // namespace rocksdb

namespace wfe::persistence::internal {

// Each prefix's entries in a list of their own, found through a hash table of prefixes.
// A list starts as a sorted singly linked list with its last node at hand — appending
// (an id's next events) and prepending (a newer version of a key: RocksDB sorts newer
// versions first) cost one comparison — and becomes a skip list once it holds 64
// entries (the index's status listings), so inserts in the middle stay logarithmic.
// Reads in prefix mode (Get, Seek, Next, and also Prev, SeekForPrev, SeekToLast within
// the sought prefix) walk one list; a total-order iterator (total_order_seek, and every
// flush) gets the lists' entries in key order, concatenated when the prefixes' ranges
// do not interleave (the journal's ids are terminated, so they never do) and sorted
// otherwise. Needs allow_concurrent_memtable_write = false; readers run concurrently
// with the one writer. `comparator` is the family's (ColumnFamilyOptions::comparator):
// with RocksDB's bytewise one the memtable orders entries itself, without a virtual call
// per comparison; with any other it asks RocksDB. The prefix extractor must return a
// leading part of the key, as RocksDB requires. The caller owns the factory
// (ColumnFamilyOptions takes it).
[[nodiscard]] rocksdb::MemTableRepFactory* new_prefix_memtable_factory(
    const rocksdb::Comparator* comparator);

}  // namespace wfe::persistence::internal
