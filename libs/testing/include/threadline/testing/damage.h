#pragma once

// Damaging a stopped RocksDB store on disk, as a failing disk or a stray
// write would, to test that the store refuses to open.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <vector>

namespace threadline::testing {

enum class StoreFile {
  kWriteAheadLog,  // NNNNNN.log
  kManifest,       // MANIFEST-NNNNNN
  kTable,          // NNNNNN.sst
};

// The files of one kind in a store's directory, largest first.
std::vector<std::filesystem::path> StoreFiles(const std::filesystem::path& dir, StoreFile kind);

// Inverts `n` bytes of `file` from `offset` (clamped to the file's end).
void FlipBytes(const std::filesystem::path& file, uint64_t offset, size_t n = 8);

}  // namespace threadline::testing
