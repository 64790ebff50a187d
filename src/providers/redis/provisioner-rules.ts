import { METADATA } from "./names.js";

/**
 * The ACL rules of the user Charter connects as, for the operator's one-time setup
 * (`ACL SETUSER charter-provisioner on >password <rules…>`, then ACL SAVE or CONFIG REWRITE).
 * ACL SETUSER is all-powerful by nature (a user that may set rules may give itself any); the
 * rules still keep the provisioner from reading or writing data, and give it exactly the
 * commands provisioning runs, on Charter's own records only.
 */
export function provisionerRules(): string[] {
  const records = [...new Set(Object.values(METADATA).map((key) => key.slice(0, key.indexOf(":") + 1)))];
  return [
    "resetkeys",
    "resetchannels",
    "-@all",
    "+acl|setuser",
    "+acl|getuser",
    "+acl|deluser",
    "+acl|list",
    "+acl|whoami",
    "+client|list",
    "+client|kill",
    "+command",
    "+info",
    "+time",
    "+ping",
    "+hget",
    "+hset",
    "+hdel",
    "+hgetall",
    ...records.map((prefix) => `~${prefix}*`),
  ];
}
