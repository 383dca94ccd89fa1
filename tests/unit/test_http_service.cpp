// The shared HTTP listener: a real server on loopback, a real client.
#include <gtest/gtest.h>

#include "inferlab/error.h"
#include "serve/http_service.h"

using namespace inferlab;

TEST(HttpService, ServesOnAFreePortAndStops) {
  HttpService service;
  service.server().Get("/ping",
                       [](const httplib::Request&, httplib::Response& res) { res.set_content("pong", "text/plain"); });
  int port = service.start("127.0.0.1", 0, "test");
  ASSERT_GT(port, 0);
  httplib::Client client("127.0.0.1", port);
  auto res = client.Get("/ping");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "pong");
  service.stop();
  service.stop();  // idempotent
}

TEST(HttpService, PortInUseIsABadInputErrorNamingThePort) {
  HttpService first;
  int port = first.start("127.0.0.1", 0, "serve");
  HttpService second;
  try {
    second.start("127.0.0.1", port, "serve");
    FAIL() << "a second listener on the same port must fail";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    EXPECT_NE(std::string(e.what()).find(std::to_string(port)), std::string::npos) << e.what();
  }
  EXPECT_THROW(HttpService().start("127.0.0.1", 70000, "serve"), Error);
}
