import { describe, expect, it } from "vitest";
import { createHash, createHmac } from "node:crypto";
import { dynamicKeyProblem } from "../../../src/policy/credentials";
import { dynamicRoleName, importRoleKey, LOGIN_ROLE, loginConnectionString, loginPassword, scramVerifier, scramVerifierOf } from "../../../src/tools/dynamic-login";

/** A fixed DYNAMIC_ROLE_KEY (32 bytes, base64url) and the values it derives, pinned (computed independently with Python's hashlib/hmac). */
const KEY = "q6l8zRkXw0cAN3V0mB1yN5lRrX5hY8cJ0m2G4a7oT9s";
const JTI = "01JDYNAMICTOKEN0000000000";
const ROLE = "gh_bddf475769abd042";
const PASSWORD = "SDF0u8Rw2vRAfdNWgM-VCj5KJjTVykSr3NitnCzTzek";
const VERIFIER = "SCRAM-SHA-256$4096:N942al/MDtt3rU0IUOOO+g==$5VPsBvghw+yuuzXMaTZOa4Jc7jPyxVeGy5obC0SUuNk=:Dtk5phZkEq70rKqjq8/u36FY7hcJi2W5IUCnQESDtf4=";

describe("dynamic login derivation", () => {
  it("names the login gh_ + 16 hex of SHA-256(jti NUL tier role), distinct per tier role and per token", async () => {
    expect(await dynamicRoleName(JTI, "gatehouse_diagnostic")).toBe(ROLE);
    expect(ROLE).toMatch(LOGIN_ROLE);
    expect(await dynamicRoleName(JTI, "gatehouse_reporting")).not.toBe(ROLE);
    expect(await dynamicRoleName(`${JTI}x`, "gatehouse_diagnostic")).not.toBe(ROLE);
    // Any jti shape gives the same shape of name.
    expect(await dynamicRoleName("a".repeat(500), "r")).toMatch(LOGIN_ROLE);
  });

  it("derives the password and a deterministic verifier from the role name under the key (pinned vector)", async () => {
    const key = await importRoleKey(KEY);
    expect(await loginPassword(key, ROLE)).toBe(PASSWORD);
    expect(await scramVerifier(key, ROLE)).toBe(VERIFIER);
    expect(await loginPassword(await importRoleKey(`r${KEY.slice(1)}`), ROLE)).not.toBe(PASSWORD);
  });

  it("computes SCRAM-SHA-256 as RFC 7677 §3: the example's client proof and server signature verify against the verifier", async () => {
    // RFC 7677 §3: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations.
    const verifier = await scramVerifierOf("pencil", Uint8Array.from(Buffer.from("W22ZaJ0SNY7soEsUEjb6gQ==", "base64")), 4096);
    const m = /^SCRAM-SHA-256\$4096:W22ZaJ0SNY7soEsUEjb6gQ==\$([^:]+):(.+)$/.exec(verifier);
    expect(m).not.toBeNull();
    const storedKey = Buffer.from(m![1]!, "base64");
    const serverKey = Buffer.from(m![2]!, "base64");
    const nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    const authMessage = `n=user,r=rOprNGfwEbeRWgbNEkqO,r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=${nonce}`;
    // The server's check (RFC 5802 §3): ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage); H(ClientKey) = StoredKey.
    const proof = Buffer.from("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "base64");
    const signature = createHmac("sha256", storedKey).update(authMessage).digest();
    const clientKey = Buffer.from(proof.map((b, i) => b ^ signature[i]!));
    expect(createHash("sha256").update(clientKey).digest().equals(storedKey)).toBe(true);
    expect(createHmac("sha256", serverKey).update(authMessage).digest("base64")).toBe("6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  });

  it("imports every DYNAMIC_ROLE_KEY the binding check accepts (a key that cannot be imported is refused there, not thrown on the call path)", async () => {
    for (const tail of ["", "a", "ab", "abc", "abcd", "=", "a=", "ab==", "abc="]) {
      const key = `${KEY}${tail}`;
      if (dynamicKeyProblem(key) === undefined) await expect(importRoleKey(key)).resolves.toBeDefined();
    }
  });

  it("puts the login into the broker's connection string, keeping host, database and parameters", () => {
    expect(loginConnectionString("postgresql://gatehouse_broker:s3cret@db.example.neon.tech/app?sslmode=require", ROLE, PASSWORD)).toBe(
      `postgresql://${ROLE}:${PASSWORD}@db.example.neon.tech/app?sslmode=require`,
    );
    expect(loginConnectionString("postgres://b:p@localhost:5432/gatehouse", ROLE, PASSWORD)).toBe(`postgres://${ROLE}:${PASSWORD}@localhost:5432/gatehouse`);
    expect(loginConnectionString("not a url", ROLE, PASSWORD)).toBeUndefined();
    expect(loginConnectionString("https://b:p@localhost/gatehouse", ROLE, PASSWORD)).toBeUndefined();
  });
});
