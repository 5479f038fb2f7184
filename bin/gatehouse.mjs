#!/usr/bin/env node
// The `gatehouse` CLI: runs cli/gatehouse.ts through tsx's loader (a dev dependency), so there is no build step.
import { register } from "tsx/esm/api";

register();
await import("../cli/gatehouse.ts");
