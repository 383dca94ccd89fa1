// The XNNPACK Conv candidate when the build has no XNNPACK
// (INFERLAB_WITH_XNNPACK=OFF, or AUTO without libxnnpack-dev): the Conv
// kernel asks xnnpack_built() and never lists it.
#include "inferlab/error.h"
#include "xnnpack_conv.h"

namespace inferlab::native {

bool xnnpack_built() { return false; }

std::string xnnpack_status() { return INFERLAB_XNNPACK_STATUS; }

std::unique_ptr<XnnpackConv> make_xnnpack_conv(const XnnpackConvParams&) {
  throw Error(
      "native: XNNPACK is not built in; install libxnnpack-dev and libpthreadpool-dev (scripts/install-deps.sh) "
      "and reconfigure with -DINFERLAB_WITH_XNNPACK=AUTO or ON",
      ErrorKind::kUnsupported);
}

}  // namespace inferlab::native
