import { describe, expect, it } from "vitest";
import { DCR_LIMITS, validateRegistration } from "../../../src/oauth/dcr";
import { OAuthError } from "../../../src/oauth/oauth-error";

const R = "https://app.example/cb";

function errorOf(body: unknown): { code: string; status: number } | undefined {
  try {
    validateRegistration(body);
    return undefined;
  } catch (e) {
    if (!(e instanceof OAuthError)) throw e;
    return { code: e.errorCode, status: e.status };
  }
}

describe("validateRegistration (RFC 7591, public clients only)", () => {
  it("accepts a minimal registration without scope and fills the defaults", () => {
    expect(validateRegistration({ redirect_uris: [R] })).toEqual({
      redirect_uris: [R],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    });
  });

  it("keeps the known optional fields and drops unknown ones", () => {
    const out = validateRegistration({
      redirect_uris: [R, "http://127.0.0.1:9/cb"],
      client_name: "Claude",
      scope: "db:read",
      client_uri: "https://claude.ai",
      logo_uri: "https://claude.ai/logo.png",
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code"],
      response_types: ["code"],
      software_id: "ignored",
      jwks: { keys: [] },
    });
    expect(out).toEqual({
      redirect_uris: [R, "http://127.0.0.1:9/cb"],
      client_name: "Claude",
      scope: "db:read",
      client_uri: "https://claude.ai",
      logo_uri: "https://claude.ai/logo.png",
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code"],
      response_types: ["code"],
    });
  });

  it("accepts exactly the limits", () => {
    expect(validateRegistration({ redirect_uris: Array.from({ length: DCR_LIMITS.redirectUris }, (_, i) => `${R}${i}`) }).redirect_uris).toHaveLength(10);
    expect(validateRegistration({ redirect_uris: [R], client_name: "n".repeat(DCR_LIMITS.nameLength) }).client_name).toHaveLength(200);
  });

  it.each<[string, unknown, string]>([
    ["no redirect_uris", { client_name: "x" }, "invalid_redirect_uri"],
    ["empty redirect_uris", { redirect_uris: [] }, "invalid_redirect_uri"],
    ["redirect_uris as a string", { redirect_uris: R }, "invalid_redirect_uri"],
    ["one hostile URI among good ones", { redirect_uris: [R, "javascript:alert(1)"] }, "invalid_redirect_uri"],
    ["a wildcard URI", { redirect_uris: ["https://*.evil.com/cb"] }, "invalid_redirect_uri"],
    ["an uppercase variant", { redirect_uris: ["HTTPS://Example.com/cb"] }, "invalid_redirect_uri"],
    ["eleven redirect URIs", { redirect_uris: Array.from({ length: 11 }, (_, i) => `${R}${i}`) }, "invalid_client_metadata"],
    ["client_secret_basic", { redirect_uris: [R], token_endpoint_auth_method: "client_secret_basic" }, "invalid_client_metadata"],
    ["client_secret_post", { redirect_uris: [R], token_endpoint_auth_method: "client_secret_post" }, "invalid_client_metadata"],
    ["client_credentials", { redirect_uris: [R], grant_types: ["authorization_code", "client_credentials"] }, "invalid_client_metadata"],
    ["empty grant_types", { redirect_uris: [R], grant_types: [] }, "invalid_client_metadata"],
    ["grant_types as a string", { redirect_uris: [R], grant_types: "authorization_code" }, "invalid_client_metadata"],
    ["response_types token", { redirect_uris: [R], response_types: ["code", "token"] }, "invalid_client_metadata"],
    ["a long client_name", { redirect_uris: [R], client_name: "n".repeat(201) }, "invalid_client_metadata"],
    ["a client_name with a newline", { redirect_uris: [R], client_name: "a\nb" }, "invalid_client_metadata"],
    ["a client_name that is not a string", { redirect_uris: [R], client_name: 7 }, "invalid_client_metadata"],
    ["a long scope", { redirect_uris: [R], scope: "s".repeat(201) }, "invalid_client_metadata"],
    ["an http client_uri", { redirect_uris: [R], client_uri: "http://app.example" }, "invalid_client_metadata"],
    ["a javascript logo_uri", { redirect_uris: [R], logo_uri: "javascript:alert(1)" }, "invalid_client_metadata"],
    ["an array body", [R], "invalid_client_metadata"],
    ["a null body", null, "invalid_client_metadata"],
    ["a string body", "redirect_uris", "invalid_client_metadata"],
  ])("refuses %s", (_name, body, code) => {
    expect(errorOf(body)).toEqual({ code, status: 400 });
  });
});
