// Validates every outgoing webhook payload against @octokit/webhooks-schemas. A payload that
// fails is a simulator bug, never something to send: the app under test must only ever see
// payloads GitHub could have sent.

import { createRequire } from "node:module";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsImport from "ajv-formats";

// ajv-formats is CommonJS with `exports.default`; under NodeNext TypeScript sees the module
// object as the default export while Node hands over the plugin function itself.
const addFormats = addFormatsImport as unknown as (ajv: Ajv) => Ajv;

const require = createRequire(import.meta.url);

let ajv: Ajv | undefined;
let definitions: Record<string, unknown> = {};
const validators = new Map<string, ValidateFunction>();

/** The schema package names definitions "<event>$<action>", and "push$event" for action-less push. */
function definitionName(event: string, action: string | undefined): string {
  return `${event}$${action ?? "event"}`;
}

function validatorFor(name: string): ValidateFunction {
  const cached = validators.get(name);
  if (cached) return cached;
  if (!ajv) {
    const schema = require("@octokit/webhooks-schemas") as { definitions: Record<string, unknown> };
    definitions = schema.definitions;
    ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    // Registered once without the root oneOf, so each event compiles only what it references
    // and shared definitions (repository, user, ...) compile once per process.
    ajv.addSchema({ $id: "webhooks", definitions: schema.definitions });
  }
  if (!(name in definitions)) {
    throw new Error(`github-sim: @octokit/webhooks-schemas has no definition ${name}`);
  }
  const validate = ajv.compile({ $ref: `webhooks#/definitions/${name}` });
  validators.set(name, validate);
  return validate;
}

export class WebhookSchemaError extends Error {
  constructor(
    readonly definition: string,
    readonly errors: unknown[],
  ) {
    super(`github-sim: ${definition} payload does not match @octokit/webhooks-schemas: ${JSON.stringify(errors.slice(0, 5))}`);
    this.name = "WebhookSchemaError";
  }
}

export function assertWebhookPayload(event: string, payload: { action?: string }): void {
  const name = definitionName(event, payload.action);
  const validate = validatorFor(name);
  if (!validate(payload)) throw new WebhookSchemaError(name, validate.errors ?? []);
}
