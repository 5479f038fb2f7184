import { describe, expect, it } from "vitest";
import { clientIpKey } from "../../../src/http/client-ip";

describe("clientIpKey", () => {
  it("keys IPv4 by address and IPv6 by its /64, however the address is written", () => {
    expect(clientIpKey("198.51.100.23")).toBe("198.51.100.23");
    expect(clientIpKey("2001:db8:1:2:aaaa:bbbb:cccc:dddd")).toBe("2001:db8:1:2::/64");
    expect(clientIpKey("2001:DB8:1:2::1")).toBe("2001:db8:1:2::/64");
    expect(clientIpKey("2001:0db8:0001:0002:0:0:0:ffff")).toBe("2001:db8:1:2::/64");
    expect(clientIpKey("2001:db8::")).toBe("2001:db8:0:0::/64");
    expect(clientIpKey("::1")).toBe("0:0:0:0::/64");
    expect(clientIpKey("::ffff:192.0.2.1")).toBe("0:0:0:0::/64");
  });

  it("gives every address of one /64 the same key and the next /64 another", () => {
    expect(clientIpKey("2001:db8:1:2::1")).toBe(clientIpKey("2001:db8:1:2:ffff:ffff:ffff:ffff"));
    expect(clientIpKey("2001:db8:1:3::1")).not.toBe(clientIpKey("2001:db8:1:2::1"));
  });

  it("shares one key for a missing header and one for a malformed one", () => {
    expect(clientIpKey(undefined)).toBe("unknown");
    expect(clientIpKey("")).toBe("unknown");
    for (const bad of ["not an ip", "1:2:3", "1::2::3", "1:2:3:4:5:6:7:8:9", "2001:db8::g", "1.2.3.4.5", `${"1:".repeat(30)}1`, "::ffff:300.1.1.1"]) {
      expect(clientIpKey(bad)).toBe("invalid");
    }
  });
});
