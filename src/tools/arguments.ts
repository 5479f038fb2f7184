import type { Principal, ToolDefinition } from "../policy/types";
import { validatorOf } from "./catalog";

export type ArgumentsResult = { ok: true; values: unknown[]; redacted: Record<string, unknown> } | { ok: false; message: string };

function identityValue(claim: string, principal: Principal): string | undefined {
  switch (claim) {
    case "email":
      return principal.email;
    case "sub":
      return principal.id;
    case "workspace":
      return principal.workspace;
    default:
      return undefined;
  }
}

/**
 * Validates model-supplied arguments against the tool's schema (which excludes identity-bound parameters and
 * forbids extra properties, so a model cannot supply one), then orders values for $1..$n, taking
 * identity-bound ones from the verified token.
 */
export function bindArguments(tool: ToolDefinition, args: unknown, principal: Principal): ArgumentsResult {
  const input = args === undefined ? {} : args;
  if (typeof input !== "object" || input === null || Array.isArray(input)) return { ok: false, message: "Arguments must be a JSON object." };
  const result = validatorOf(tool).validate(input);
  if (!result.valid) {
    const detail = result.errors.slice(0, 3).map((e) => e.error);
    return { ok: false, message: `Invalid arguments for ${tool.name}. ${detail.join("; ")}` };
  }
  const record = input as Record<string, unknown>;
  const values: unknown[] = [];
  for (const name of tool.bind) {
    const claim = Object.hasOwn(tool.identity, name) ? tool.identity[name] : undefined;
    if (tool.constants && Object.hasOwn(tool.constants, name)) {
      values.push(tool.constants[name]);
    } else if (claim !== undefined) {
      const v = identityValue(claim, principal);
      if (v === undefined) return { ok: false, message: `${tool.name} needs the caller's ${claim}, which this token does not carry.` };
      values.push(v);
    } else {
      values.push(Object.hasOwn(record, name) ? (record[name] ?? null) : null);
    }
  }
  const redacted: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) redacted[k] = tool.safeParams.includes(k) ? v : "[redacted]";
  return { ok: true, values, redacted };
}
