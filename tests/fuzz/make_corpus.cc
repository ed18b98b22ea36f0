// Writes the fuzzer's seed corpus: one envelope per payload kind, named
// after the kind, into the directory given as the only argument.
//   make_corpus tests/fuzz/corpus/envelope

#include <fstream>
#include <iostream>

#include "envelopes.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_corpus DIR\n";
    return 2;
  }
  int n = 0;
  for (const auto& e : threadline::fuzz::OneOfEachKind()) {
    const auto* field =
        threadline::v1::EventEnvelope::descriptor()->FindFieldByNumber(e.payload_case());
    std::ofstream out(std::string(argv[1]) + "/" + field->name() + ".pb", std::ios::binary);
    out << e.SerializeAsString();
    if (!out) {
      std::cerr << "make_corpus: cannot write " << field->name() << "\n";
      return 1;
    }
    ++n;
  }
  for (const auto& [name, e] : threadline::fuzz::EdgeCases()) {
    std::ofstream out(std::string(argv[1]) + "/" + name + ".pb", std::ios::binary);
    out << e.SerializeAsString();
    if (!out) {
      std::cerr << "make_corpus: cannot write " << name << "\n";
      return 1;
    }
    ++n;
  }
  std::cout << "make_corpus: " << n << " envelopes\n";
  return 0;
}
