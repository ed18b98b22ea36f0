#pragma once

// Layout 1 of the journey store (every key family in the default column
// family under a two-character prefix, keyspace.h) and its conversion to the
// current layout.

#include "absl/status/status.h"
#include "store.h"

namespace threadline::journey {

// Called by JourneyStore::Open for a store without a layout marker: moves
// every layout-1 key into its family's column family, unchanged but for the
// prefix, in atomic writes of a few MiB each, then writes the marker and
// compacts the default family. Offsets, journey sequence and the journey
// topic's cursor are meta keys and stay where they are, so the projector
// resumes where it stopped: no replay, no re-publishing, resume tokens stay
// valid, and the fingerprint is the same before and after. An interrupted
// conversion goes on from the last write at the next open. A new, empty
// store only gets the marker.
[[nodiscard]] absl::Status ConvertLegacyLayout(JourneyStore& store);

}  // namespace threadline::journey
