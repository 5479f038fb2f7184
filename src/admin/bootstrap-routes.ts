import { Hono } from "hono";
import type { AppEnv } from "../env";
import { ADMIN_GROUP } from "../oauth/consent-data";
import { recordOAuthEvent, recordOAuthRefusal } from "../oauth/audit";
import { checkCredentialBindings, credentialsFrom } from "../policy/credentials";
import { nowSeconds } from "../lib/clock";
import { applyPolicy, checkPolicyDocument } from "./policy-apply";
import { bearerValue, checkBootstrapToken } from "./bootstrap-token";
import { isBootstrapSpent, spendBootstrapStatement } from "./bootstrap-store-d1";
import { anyPolicyApplied } from "../policy/directory-d1";

/** Who applied the bootstrap policy, in policy_versions.applied_by and the audit row's principal. */
export const BOOTSTRAP_ACTOR = "bootstrap";

const EVENT = "policy.bootstrap";

/**
 * POST /admin/api/bootstrap (Authorization: Bearer <BOOTSTRAP_TOKEN>, the policy as JSON): the first policy of a
 * deployment, before any admin exists to apply one. Accepted only while no workspace has a policy and no bootstrap
 * ever succeeded; afterwards it is refused (409) whatever the token, so the secret is useless once spent. The
 * policy goes through the same checks and the same apply as POST /admin/api/policy (policy-apply.ts), and must
 * name at least one user in the `admins` group, since nobody could apply another policy otherwise. Every attempt
 * is audited: refusals as `policy.bootstrap` (denied, with the rule), the apply as `policy.applied` (rule bootstrap).
 */
export const bootstrapRoutes = new Hono<AppEnv>();

bootstrapRoutes.post("/", async (c) => {
  c.header("Cache-Control", "no-store");
  if ((await anyPolicyApplied(c.env.DB)) || (await isBootstrapSpent(c.env.DB))) {
    await recordOAuthRefusal(c, { event: EVENT, outcome: "denied", rule: "closed" });
    return c.json({ error: "bootstrap_closed", error_description: "A policy already exists: the bootstrap is spent. An admin applies policies with `gatehouse policy apply`." }, 409);
  }
  const token = await checkBootstrapToken(c.env.BOOTSTRAP_TOKEN, bearerValue(c.req.header("authorization")));
  if (token === "not_configured") {
    await recordOAuthRefusal(c, { event: EVENT, outcome: "denied", rule: "not_configured" });
    return c.json({ error: "bootstrap_disabled", error_description: "Set the BOOTSTRAP_TOKEN Worker secret (at least 32 random characters) to bootstrap the first policy." }, 403);
  }
  if (token === "mismatch") {
    await recordOAuthRefusal(c, { event: EVENT, outcome: "denied", rule: "bad_token" });
    c.header("WWW-Authenticate", 'Bearer error="invalid_token"');
    return c.json({ error: "invalid_token", error_description: "Send the BOOTSTRAP_TOKEN secret as a bearer token." }, 401);
  }
  const checked = await checkPolicyDocument(await c.req.json().catch(() => undefined));
  const errors = checked.ok ? checkCredentialBindings(checked.policy, credentialsFrom(c.env)) : checked.errors;
  if (checked.ok && !(checked.policy.users ?? []).some((u) => (u.groups ?? []).includes(ADMIN_GROUP))) {
    errors.push({ path: "$.users", message: `a bootstrap policy must put at least one user in the "${ADMIN_GROUP}" group: the bootstrap works once, and afterwards only an admin can apply a policy` });
  }
  if (!checked.ok || errors.length > 0) {
    await recordOAuthEvent(c, { event: EVENT, outcome: "denied", rule: "invalid_policy", detail: `${errors.length} error(s)` });
    return c.json({ error: "invalid_policy", errors }, 400);
  }
  const spent = spendBootstrapStatement(c.env.DB, checked.policy.workspace, new Date(nowSeconds() * 1000));
  try {
    const applied = await applyPolicy(c, checked.policy, BOOTSTRAP_ACTOR, { rule: "bootstrap", alsoCommit: [spent] });
    return c.json(applied);
  } catch (e) {
    // A concurrent bootstrap committed first: its marker row refused ours, and our whole batch rolled back.
    if (!(await isBootstrapSpent(c.env.DB))) throw e;
    await recordOAuthRefusal(c, { event: EVENT, outcome: "denied", rule: "closed" });
    return c.json({ error: "bootstrap_closed", error_description: "Another bootstrap applied the first policy." }, 409);
  }
});
