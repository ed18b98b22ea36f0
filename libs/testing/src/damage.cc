#include "threadline/testing/damage.h"

#include <algorithm>
#include <fstream>
#include <stdexcept>
#include <string>

namespace threadline::testing {

namespace fs = std::filesystem;

std::vector<fs::path> StoreFiles(const fs::path& dir, StoreFile kind) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    bool match = false;
    switch (kind) {
      case StoreFile::kWriteAheadLog:
        match = name.ends_with(".log") && name != "LOG";
        break;
      case StoreFile::kManifest:
        match = name.starts_with("MANIFEST-");
        break;
      case StoreFile::kTable:
        match = name.ends_with(".sst");
        break;
    }
    if (match) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end(), [](const fs::path& a, const fs::path& b) {
    return fs::file_size(a) > fs::file_size(b);
  });
  return out;
}

void FlipBytes(const fs::path& file, uint64_t offset, size_t n) {
  const uint64_t size = fs::file_size(file);
  std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
  if (!io) throw std::runtime_error("cannot open " + file.string());
  for (uint64_t at = offset; at < offset + n && at < size; ++at) {
    io.seekg(static_cast<std::streamoff>(at));
    char c = 0;
    io.read(&c, 1);
    c = static_cast<char>(~c);
    io.seekp(static_cast<std::streamoff>(at));
    io.write(&c, 1);
  }
  io.flush();
  if (!io) throw std::runtime_error("cannot rewrite " + file.string());
}

}  // namespace threadline::testing
