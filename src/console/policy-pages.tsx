/** @jsxImportSource hono/jsx */
import type { PolicyChange } from "../policy/diff";
import type { PolicyError } from "../policy/document";
import type { PolicySnapshot } from "../policy/types";
import type { ConsoleUser } from "./auth";
import { Layout } from "./pages";

export interface VersionRow {
  version: number;
  hash: string;
  applied_at: string;
  applied_by: string;
}

const subjectName = (s: PolicySnapshot["grants"][number]["subject"]) => (s.kind === "principal" ? s.id : `group:${s.name}`);

/** Grants as a matrix: one row per principal or group, one column per tool, the tool's tier in each granted cell. */
export function grantMatrix(snapshot: PolicySnapshot): { tools: string[]; rows: Array<{ subject: string; cells: Array<string | null> }> } {
  const tools = [...snapshot.tools.keys()];
  const bySubject = new Map<string, Map<string, string>>();
  for (const g of snapshot.grants) {
    const tool = snapshot.tools.get(g.tool);
    if (!tool) continue;
    const key = subjectName(g.subject);
    const m = bySubject.get(key) ?? new Map<string, string>();
    m.set(g.tool, `${tool.tier}${g.expiresAt ? ` until ${new Date(g.expiresAt * 1000).toISOString().slice(0, 10)}` : ""}`);
    bySubject.set(key, m);
  }
  const rows = [...bySubject.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([subject, m]) => ({ subject, cells: tools.map((t) => m.get(t) ?? null) }));
  return { tools, rows };
}

export function PolicyPage(p: {
  nonce: string;
  user: ConsoleUser;
  versions: VersionRow[];
  snapshot: PolicySnapshot;
  diff: { version: number; changes: PolicyChange[] } | null;
  flash?: string | undefined;
}) {
  const head = p.versions[0];
  const matrix = grantMatrix(p.snapshot);
  return (
    <Layout title="Policy" nonce={p.nonce} user={p.user}>
      <h1>Policy</h1>
      {head ? (
        <p data-policy-version={String(head.version)}>
          Workspace <strong>{p.user.workspace}</strong> runs version <strong>{head.version}</strong>, applied by {head.applied_by} at {head.applied_at} (hash <code>{head.hash.slice(0, 12)}</code>).
        </p>
      ) : (
        <p>No policy is applied in this workspace yet.</p>
      )}
      {p.flash && (
        <p class="notice" role="status">
          {p.flash}
        </p>
      )}
      <h2>Upload a new version</h2>
      <p class="muted">
        Paste the YAML or choose the file, then preview: it is validated and diffed against the current version before anything is applied. A change that widens write access waits for a second admin
        (see Proposals). The same with <code>gatehouse policy apply policy.yaml</code>.
      </p>
      <UploadForm csrf={p.user.csrf} text="" />
      <h2>Effective grants</h2>
      <table>
        <caption class="muted">Principal or group × tool: the tool's tier where granted.</caption>
        <thead>
          <tr>
            <th scope="col">Principal or group</th>
            {matrix.tools.map((t) => (
              <th scope="col">{t}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {matrix.rows.map((r) => (
            <tr data-subject={r.subject}>
              <th scope="row">{r.subject}</th>
              {r.cells.map((cell) => (
                <td>{cell ?? ""}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Version history</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Applied</th>
            <th scope="col">By</th>
            <th scope="col">Hash</th>
            <th scope="col">Changes</th>
          </tr>
        </thead>
        <tbody>
          {p.versions.map((v) => (
            <tr>
              <td>{v.version}</td>
              <td>{v.applied_at}</td>
              <td>{v.applied_by}</td>
              <td>
                <code>{v.hash.slice(0, 12)}</code>
              </td>
              <td>
                <a href={`/console/policy?diff=${v.version}`}>Diff of version {v.version}</a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {p.diff && (
        <>
          <h2>
            Version {p.diff.version} against {p.diff.version - 1 > 0 ? `version ${p.diff.version - 1}` : "nothing"}
          </h2>
          {p.diff.changes.length === 0 ? (
            <p>No changes.</p>
          ) : (
            <ul data-diff>
              {p.diff.changes.map((ch) => (
                <li>
                  <code>{ch.op}</code> {ch.kind} {ch.name}
                  {ch.detail ? ` (${ch.detail})` : ""}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </Layout>
  );
}

function UploadForm(p: { csrf: string; text: string }) {
  return (
    <form method="post" action="/console/policy/preview" enctype="multipart/form-data">
      <input type="hidden" name="csrf" value={p.csrf} />
      <label for="policy-document">Policy YAML</label>
      <textarea id="policy-document" name="document" rows={8} spellcheck={false}>
        {p.text}
      </textarea>
      <label for="policy-file">Or a policy file</label>
      <input id="policy-file" type="file" name="file" accept=".yaml,.yml,.json,application/yaml,application/json" />
      <p>
        <button class="primary" type="submit">
          Validate and preview
        </button>
      </p>
    </form>
  );
}

export interface PolicyPreview {
  base: number;
  changes: string[];
  reasons: string[];
}

/** The checked upload: its errors, or the diff against the current version, whether it would be held, and Apply. */
export function PolicyPreviewPage(p: { nonce: string; user: ConsoleUser; text: string; errors: PolicyError[]; preview: PolicyPreview | null; flash?: string }) {
  return (
    <Layout title="Policy preview" nonce={p.nonce} user={p.user}>
      <p>
        <a href="/console/policy">← Policy</a>
      </p>
      <h1>Policy preview</h1>
      {p.flash && (
        <p class="error" role="alert">
          {p.flash}
        </p>
      )}
      {p.errors.length > 0 && (
        <>
          <p class="error" role="alert">
            The policy was not applied: fix these and preview again.
          </p>
          <ul data-errors>
            {p.errors.map((e) => (
              <li>
                <code>{e.path}</code>: {e.message}
              </li>
            ))}
          </ul>
          <UploadForm csrf={p.user.csrf} text={p.text} />
        </>
      )}
      {p.preview && (
        <>
          <p>Valid. Against the current version {p.preview.base}, applying it changes:</p>
          {p.preview.changes.length === 0 ? (
            <p>Nothing.</p>
          ) : (
            <ul data-diff>
              {p.preview.changes.map((ch) => (
                <li>
                  <code>{ch}</code>
                </li>
              ))}
            </ul>
          )}
          {p.preview.reasons.length > 0 ? (
            <div class="notice" data-held>
              <p>This change widens write access, so it is held until a second admin approves it:</p>
              <ul>
                {p.preview.reasons.map((r) => (
                  <li>{r}</li>
                ))}
              </ul>
            </div>
          ) : (
            <p class="muted">It applies at once.</p>
          )}
          <form method="post" action="/console/policy/apply">
            <input type="hidden" name="csrf" value={p.user.csrf} />
            <input type="hidden" name="base_version" value={String(p.preview.base)} />
            <label for="policy-reviewed">The document to apply</label>
            <textarea id="policy-reviewed" name="document" rows={12} readonly spellcheck={false}>
              {p.text}
            </textarea>
            <p>
              <button class="primary" type="submit">
                {p.preview.reasons.length > 0 ? "Propose for approval" : "Apply"}
              </button>
            </p>
          </form>
        </>
      )}
    </Layout>
  );
}
