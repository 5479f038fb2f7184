// The part of node:async_hooks the Worker uses (workerd provides it under nodejs_compat; wrangler's generated types
// do not declare node: modules). Only src/lib/round-trips.ts imports it.
declare module "node:async_hooks" {
  export class AsyncLocalStorage<T> {
    getStore(): T | undefined;
    run<R>(store: T, callback: () => R): R;
  }
}
