import { describe, expect, it } from "vitest";
import { basic, expectOAuthError, jwtPayload, postForm, readJson, registerClient, taskClient, toolNames } from "./oauth-helpers";

async function expectTaskToken(res: Response, clientId: string): Promise<string> {
  const { status, body, text } = await readJson(res);
  expect(status, text).toBe(200);
  expect(res.headers.get("cache-control")).toBe("no-store");
  expect(body).toMatchObject({ token_type: "Bearer", expires_in: 600, scope: "db:read" });
  expect(body).not.toHaveProperty("refresh_token");
  const token = body.access_token as string;
  expect(jwtPayload(token)).toMatchObject({ sub: "task:nightly-revenue-report", pk: "task", client_id: clientId, ws: "demo", tools: ["revenue_summary"] });
  return token;
}

describe("POST /token, client_credentials (task clients)", () => {
  it("issues a 600 s token without refresh token via client_secret_basic; tools/list shows the task's tool only", async () => {
    const t = await taskClient();
    const token = await expectTaskToken(await postForm("/token", { grant_type: "client_credentials" }, { Authorization: basic(t.clientId, t.secret) }), t.clientId);
    expect(await toolNames(token)).toEqual(["revenue_summary"]);
  });

  it("issues the same via client_secret_post", async () => {
    const t = await taskClient();
    const token = await expectTaskToken(await postForm("/token", { grant_type: "client_credentials", client_id: t.clientId, client_secret: t.secret }), t.clientId);
    expect(await toolNames(token)).toEqual(["revenue_summary"]);
  });

  it("accepts client_secret_basic with a matching client_id in the body", async () => {
    const t = await taskClient();
    await expectTaskToken(await postForm("/token", { grant_type: "client_credentials", client_id: t.clientId }, { Authorization: basic(t.clientId, t.secret) }), t.clientId);
  });

  it("answers a wrong secret over Basic with 401 invalid_client and WWW-Authenticate: Basic", async () => {
    const t = await taskClient();
    const wrong = `${t.secret}x`;
    const res = await postForm("/token", { grant_type: "client_credentials" }, { Authorization: basic(t.clientId, wrong) });
    expect(res.headers.get("www-authenticate")).toMatch(/^Basic /);
    expect(res.headers.get("cache-control")).toBe("no-store");
    await expectOAuthError(res, 401, "invalid_client", [t.secret, wrong]);
  });

  type Case = [string, (t: { clientId: string; secret: string }) => Promise<Response>, number, string];
  const refused: Case[] = [
    ["a wrong secret in the body", (t) => postForm("/token", { grant_type: "client_credentials", client_id: t.clientId, client_secret: "wrong" }), 401, "invalid_client"],
    ["no secret at all", (t) => postForm("/token", { grant_type: "client_credentials", client_id: t.clientId }), 401, "invalid_client"],
    ["an empty secret", (t) => postForm("/token", { grant_type: "client_credentials", client_id: t.clientId, client_secret: "" }), 401, "invalid_client"],
    ["an unknown client over Basic", (t) => postForm("/token", { grant_type: "client_credentials" }, { Authorization: basic("ghcl_nobody", t.secret) }), 401, "invalid_client"],
    ["a Basic header that is not base64", () => postForm("/token", { grant_type: "client_credentials" }, { Authorization: "Basic %%%" }), 401, "invalid_client"],
    ["a Basic header without a colon", (t) => postForm("/token", { grant_type: "client_credentials" }, { Authorization: `Basic ${btoa(t.clientId)}` }), 401, "invalid_client"],
    [
      "both Basic and client_secret_post",
      (t) => postForm("/token", { grant_type: "client_credentials", client_id: t.clientId, client_secret: t.secret }, { Authorization: basic(t.clientId, t.secret) }),
      400,
      "invalid_request",
    ],
    [
      "Basic with a different client_id in the body",
      (t) => postForm("/token", { grant_type: "client_credentials", client_id: "ghcl_other" }, { Authorization: basic(t.clientId, t.secret) }),
      400,
      "invalid_request",
    ],
    ["a scope the task is not granted", (t) => postForm("/token", { grant_type: "client_credentials", scope: "db:write" }, { Authorization: basic(t.clientId, t.secret) }), 400, "invalid_scope"],
    ["admin scope", (t) => postForm("/token", { grant_type: "client_credentials", scope: "db:read gatehouse:admin" }, { Authorization: basic(t.clientId, t.secret) }), 400, "invalid_scope"],
    [
      "the authorization_code grant",
      (t) =>
        postForm("/token", { grant_type: "authorization_code", code: "ghc_x", code_verifier: "v".repeat(43), redirect_uri: "https://app.example/cb" }, { Authorization: basic(t.clientId, t.secret) }),
      400,
      "unauthorized_client",
    ],
    ["an unsupported grant", (t) => postForm("/token", { grant_type: "password" }, { Authorization: basic(t.clientId, t.secret) }), 400, "unsupported_grant_type"],
  ];

  it.each(refused.map(([name, send, status, error]) => [name, status, error, send] as const))("refuses %s: %i %s, nothing leaked", async (_name, status, error, send) => {
    const t = await taskClient();
    const res = await send(t);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = await expectOAuthError(res, status, error, [t.secret]);
    expect(body).not.toHaveProperty("access_token");
  });

  it("refuses client_credentials for a public client with 400 unauthorized_client", async () => {
    const clientId = await registerClient();
    const body = await expectOAuthError(await postForm("/token", { grant_type: "client_credentials", client_id: clientId }), 400, "unauthorized_client");
    expect(body).not.toHaveProperty("access_token");
  });

  it("honours a task client's tool list narrower than its grants (no tool: invalid_scope)", async () => {
    const t = await taskClient({ tools: ["pipeline_coverage"] });
    await expectOAuthError(await postForm("/token", { grant_type: "client_credentials" }, { Authorization: basic(t.clientId, t.secret) }), 400, "invalid_scope", [t.secret]);
  });
});
