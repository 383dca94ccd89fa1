#pragma once
// The oneDNN engine and stream every native kernel shares (one CPU engine
// per process; oneDNN primitives are created against it at prepare time).

#include <oneapi/dnnl/dnnl.hpp>

namespace inferlab::native {

/// The process-wide CPU engine. Thread-safe (created once).
dnnl::engine& cpu_engine();
/// A stream for the calling thread's session; sessions are single-threaded.
dnnl::stream& cpu_stream();

}  // namespace inferlab::native
