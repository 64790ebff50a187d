import { LocalProvider } from "./local-provider.js";
import { LocalRegistry, type RegistryAccess } from "./registry.js";

export { type AgentTokenClaims, type JwksInput, type TokenVerification, type VerifyOptions, verifyToken } from "./agent-token.js";
export { activeIdentity, type IssuedToken, issueToken, type IssueTokenOptions } from "./issue-token.js";
export { LocalProvider } from "./local-provider.js";
export { LocalRegistry, MANAGED_BY, type StoredIdentity } from "./registry.js";
export { type Ed25519Jwk, type Jwks, jwks, loadSigningKey, type SigningKey } from "./signing-key.js";

/**
 * Opens the registry file and wraps it in the provider; closing the provider closes the file.
 * Read-only (see RegistryAccess) nothing is created or written: such a provider can only observe.
 */
export function createLocalProvider(options: { readonly databasePath: string; readonly access?: RegistryAccess; readonly now?: () => Date }): LocalProvider {
  const registry = LocalRegistry.open(options.databasePath, { access: options.access ?? "write" });
  return new LocalProvider({ registry, ...(options.now === undefined ? {} : { now: options.now }) });
}
