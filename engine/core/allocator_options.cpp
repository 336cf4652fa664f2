// jemalloc's options for every binary (wfe_core links jemalloc, and `-u malloc_conf` pulls
// this object into every link: engine/core/CMakeLists.txt). jemalloc reads them at its
// first allocation; MALLOC_CONF in the environment overrides them (e.g. `thp:default`).
//
// Transparent huge pages for jemalloc's extents and metadata: the RocksDB memtables'
// arenas, the entities and the per-request buffers are touched page by page as they grow,
// and every first touch of a 4 KiB page is a page fault — on this project's virtual
// machines a VM exit. With 2 MiB pages a c64 start load takes 0.035 instead of 0.42
// faults per start and ~8 % less node CPU per start (bench/README.md "Fortieth pass").
// It takes effect where the kernel's transparent_hugepage setting is `madvise` (Debian's
// default) or `always`; the cost is resident memory in 2 MiB steps.
//
// Four arenas instead of jemalloc's 4 per CPU (8 on the 2-core machines this project
// targets), so that threads share arenas (memory the io thread allocates is mostly
// freed on the journal's and the index's threads). 11 of 11 interleaved pairs took
// 2-5 µs less node CPU per start, and an idle node is 52 instead of 68 MB (32 MB with
// neither option). A machine with many io and scheduler threads may want more:
// MALLOC_CONF=narenas:<n>.
//
// A sanitizer build links no jemalloc: the definition is then unused.

extern "C" {
// NOLINTBEGIN(readability-identifier-naming,cppcoreguidelines-avoid-non-const-global-variables)
extern const char* malloc_conf;  // jemalloc's name (<jemalloc/jemalloc.h>)
const char* malloc_conf = "thp:always,metadata_thp:always,narenas:4";
// NOLINTEND(readability-identifier-naming,cppcoreguidelines-avoid-non-const-global-variables)
}
