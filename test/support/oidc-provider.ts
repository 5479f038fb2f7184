import { startOidcProvider, type OidcAccount, type OidcProvider } from "../../local/oidc-provider";

export type TestOidcProvider = OidcProvider;
export type TestAccount = OidcAccount;

/**
 * The upstream accounts of the sign-in tests: Alice's email arrives in mixed case and her IdP groups are not the
 * policy's; Dana's email is unverified.
 */
export const OIDC_ACCOUNTS: Record<string, TestAccount> = {
  "alice@example.com": { email: "Alice@Example.com", email_verified: true, name: "Alice Upstream", groups: ["idp-everyone", "account-executives"], password: "alice-pw" },
  "dana@example.com": { email: "dana@example.com", email_verified: false, name: "Dana Unverified", groups: ["data-engineering"], password: "dana-pw" },
};

/** The provider of local/oidc-provider.ts with the test accounts, labelled "Test IdP". */
export function startTestOidcProvider(opts: { port: number; redirectUri: string }): Promise<TestOidcProvider> {
  return startOidcProvider({ ...opts, accounts: OIDC_ACCOUNTS });
}
