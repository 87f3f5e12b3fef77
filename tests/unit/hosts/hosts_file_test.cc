// The hosts file format and the table built from it: what /etc/hosts users write (comments,
// several names a line, both families, any case, a name on several lines) and the errors a
// broken file reports with its line.
#include "dnsd/hosts/hosts_file.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "dnsd/wire/dns.h"

namespace {

using namespace dnsd;
namespace type = wire::type;

std::shared_ptr<const hosts::HostsTable> tableOf(const std::string& text, uint32_t ttl = 60) {
  auto lines = hosts::parseHosts(text, "hosts");
  REQUIRE_MESSAGE(lines.ok(), lines.error().str());
  return hosts::HostsTable::build(*lines, ttl);
}

// The addresses (A, AAAA) or names (PTR) the table lists for `name` and `rr_type`, as text,
// in the order they are answered; {"-"} when the name is not listed.
std::vector<std::string> lookup(const hosts::HostsTable& table, const std::string& name,
                                uint16_t rr_type) {
  auto wire_name = wire::Name::parse(name);
  REQUIRE(wire_name);
  const auto* data = reinterpret_cast<const uint8_t*>(wire_name->wire().data());
  const auto* entry = table.find(data, wire_name->wire().size(), wire_name->hash());
  if (!entry) return {"-"};
  wire::RRsetView view = table.view(*entry, rr_type);
  std::vector<std::string> out;
  const uint8_t* rr = view.data;
  for (uint16_t i = 0; i < view.count; ++i) {
    size_t tail = (rr[0] << 8) | rr[1];
    uint32_t ttl = (uint32_t{rr[6]} << 24) | (uint32_t{rr[7]} << 16) | (rr[8] << 8) | rr[9];
    CHECK(ttl == 60);
    const uint8_t* rdata = rr + 12;
    size_t size = tail - 10;
    if (rr_type == type::PTR) {
      out.push_back(wire::Name::fromWire(std::string(rdata, rdata + size)).text());
    } else {
      base::IpAddress ip;
      ip.v6 = size == 16;
      std::copy(rdata, rdata + size, ip.bytes.begin());
      out.push_back(ip.str());
    }
    rr += 2 + tail;
  }
  return out;
}

using List = std::vector<std::string>;

}  // namespace

TEST_CASE("a hosts file gives each name its addresses and each address its names") {
  auto table = tableOf(
      "# k3s NodeHosts\n"
      "10.0.0.5   Node-A node-a.lab.example   # the server\n"
      "\n"
      "   \t# indented comment\n"
      "10.0.0.6\tnode-b\r\n"
      "fd00::5    node-a\n"
      "10.0.0.7   NODE-A\n"
      "10.0.0.5   node-a\n"
      "fe80::1%lo localhost6\n");
  CHECK(lookup(*table, "node-a", type::A) == List{"10.0.0.5", "10.0.0.7"});
  CHECK(lookup(*table, "NODE-a.", type::AAAA) == List{"fd00::5"});
  CHECK(lookup(*table, "node-a.lab.example", type::A) == List{"10.0.0.5"});
  CHECK(lookup(*table, "node-a.lab.example", type::AAAA).empty());
  CHECK(lookup(*table, "node-b", type::A) == List{"10.0.0.6"});
  CHECK(lookup(*table, "localhost6", type::AAAA) == List{"fe80::1"});
  CHECK(lookup(*table, "node-c", type::A) == List{"-"});
  CHECK(lookup(*table, "lab.example", type::A) == List{"-"});
  CHECK(lookup(*table, "5.0.0.10.in-addr.arpa", type::PTR) ==
        List{"node-a.", "node-a.lab.example."});
  CHECK(lookup(*table, "7.0.0.10.in-addr.arpa", type::PTR) == List{"node-a."});
  CHECK(lookup(*table, "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa",
               type::PTR) == List{"node-a."});
  CHECK(lookup(*table, "8.0.0.10.in-addr.arpa", type::PTR) == List{"-"});
  CHECK(table->names() == 4);
  CHECK(table->addresses() == 5);
}

TEST_CASE("an empty or comment-only file lists nothing") {
  CHECK(tableOf("")->names() == 0);
  CHECK(tableOf("# nothing\n\n")->names() == 0);
}

TEST_CASE("a broken line is an error naming its file and line") {
  struct Row {
    const char* text;
    const char* error;
  };
  const std::vector<Row> rows = {
      {"10.0.0.1 a\n10.0.0.300 b\n", "hosts:2: \"10.0.0.300\" is not an IP address"},
      {"node-a 10.0.0.1\n", "hosts:1: \"node-a\" is not an IP address"},
      {"# ok\n10.0.0.1\n", "hosts:2: address 10.0.0.1 without a name"},
      {"10.0.0.1 a..b\n", "hosts:1: \"a..b\" is not a host name"},
      {"10.0.0.1 *.example.com\n", "hosts:1: \"*.example.com\": wildcard names are not supported"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.text);
    auto parsed = hosts::parseHosts(row.text, "hosts");
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().str() == row.error);
  }
}

TEST_CASE("reading a file that is not there is an error naming it") {
  auto read = hosts::readHostsFile("/nonexistent/hosts", 60);
  REQUIRE_FALSE(read.ok());
  CHECK(read.error().str() == "/nonexistent/hosts: No such file or directory");
}
