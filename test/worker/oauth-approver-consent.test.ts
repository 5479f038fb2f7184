import { describe, expect, it } from "vitest";
import { checkboxes, exchange, login, signIn, startAuthorize } from "./oauth-helpers";

describe("consent for the gateway's own scopes", () => {
  it("offers gatehouse:approve to a member of an approver group who asks for it, unticked", async () => {
    const flow = await startAuthorize({ scope: "gatehouse:approve" });
    const html = await login(flow, "maria@example.com");
    expect(checkboxes(html)).toEqual([{ scope: "gatehouse:approve", checked: false }]);
    const a = await signIn({ email: "maria@example.com", scope: "gatehouse:approve", scopes: ["gatehouse:approve"] });
    const res = await exchange(a);
    const body = (await res.json()) as { scope: string; expires_in: number };
    expect(body).toMatchObject({ scope: "gatehouse:approve", expires_in: 300 });
  });

  it("does not offer it to someone outside every approver group", async () => {
    const flow = await startAuthorize({ scope: "db:read gatehouse:approve" });
    const html = await login(flow, "alice@example.com");
    expect(checkboxes(html).map((c) => c.scope)).toEqual(["db:read"]);
  });
});
