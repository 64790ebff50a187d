import { credentialsLint } from "./credentials.js";
import { lifecycleLint } from "./lifecycle.js";
import type { Lint } from "./lint-context.js";
import { locationLint } from "./location.js";
import { modelLint } from "./model.js";
import { permissionsLint } from "./permissions.js";
import { promptPathsLint } from "./prompt-paths.js";
import { toolsLint } from "./tools.js";

/** Lints that need only the manifest itself. Prompt contents and cross-file checks run later. */
export const MANIFEST_LINTS: readonly Lint[] = [
  locationLint,
  modelLint,
  permissionsLint,
  lifecycleLint,
  toolsLint,
  credentialsLint,
  promptPathsLint,
];
