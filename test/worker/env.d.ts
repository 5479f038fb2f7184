declare namespace Cloudflare {
  interface Env {
    SIGNING_KEY: string;
    BOOTSTRAP_TOKEN: string;
    /** migrations/, read by vitest.config.ts and applied by test/worker/setup.ts. */
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
  }
}
declare module "*?raw" {
  const text: string;
  export default text;
}
