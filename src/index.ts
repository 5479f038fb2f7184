import { app } from "./app";
import { scheduled } from "./audit/scheduled";

export default { fetch: app.fetch, scheduled } satisfies ExportedHandler<Env>;
