#include "threadline/bus/delivered_watermark.h"

namespace threadline::bus {

void DeliveredWatermark::Delivered(uint64_t position) {
  if (position <= watermark_) return;
  if (position != watermark_ + 1) {
    ahead_.insert(position);
    return;
  }
  ++watermark_;
  while (!ahead_.empty() && *ahead_.begin() == watermark_ + 1) {
    ahead_.erase(ahead_.begin());
    ++watermark_;
  }
}

}  // namespace threadline::bus
