#pragma once
// The web Timing Monitor's own page, script and stylesheet (src/serve/web/),
// compiled in by embed_web_assets.cmake. The chart library (uPlot) is not
// among them: it comes from the npm cache at run time (stream_charts.h).

namespace inferlab {

extern const char* const kMonitorHtml;  ///< web/monitor.html
extern const char* const kMonitorJs;    ///< web/monitor.js
extern const char* const kMonitorCss;   ///< web/monitor.css

}  // namespace inferlab
