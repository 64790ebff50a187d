import type { Permission } from "../../manifest/permission.js";
import { agentUserRegex, isSafeAgentId, parseLeaseUser } from "./names.js";

/**
 * Pure: squid's whole configuration from the approved http permissions. Charter owns the file;
 * nothing an operator adds by hand survives a sync, and drift reports it. The order of
 * http_access lines is the policy (squid takes the first match): no credentials → 407, CONNECT
 * and dot-segment tricks → 403, then one allow line per approved method/host/path, then deny.
 *
 * Every value written comes from the permission grammar and is checked again here (httpRule):
 * squid's parser splits on whitespace and reads `#` lines as comments, so a value is written
 * only when it is one token of known characters, and the path goes into a regular expression
 * with every metacharacter escaped.
 */
export interface SquidSettings {
  /** http_port: address:port the proxy listens on. */
  readonly listen: string;
  /** Charter's directory: squid.conf, the password file, the state file and the access log. */
  readonly directory: string;
  /** The basic_ncsa_auth program. */
  readonly authProgram: string;
  /** A hosts file for squid's resolver instead of /etc/hosts. */
  readonly hostsFile: string | undefined;
}

export interface HttpRule {
  /** Upper-case method. */
  readonly method: string;
  readonly host: string;
  readonly port: number;
  /** A POSIX extended regular expression for squid's urlpath_regex (the path and query). */
  readonly pathRegex: string;
  readonly raw: string;
}

export interface AgentRules {
  readonly agent: string;
  readonly rules: readonly HttpRule[];
}

/** Seconds squid trusts a checked password before asking the helper again: a revoked lease stops working within this. */
export const CREDENTIALS_TTL_SECONDS = 60;

const HOST = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
/** The permission grammar's path characters less the quote, which some squid directives read as quoting. */
const PATH = /^\/[A-Za-z0-9._~!$&()+,;=:@%/-]*$/;
const SAFE_FILE = /^\/[A-Za-z0-9._/-]+$/;
const LISTEN = /^(?:(?:\d{1,3}\.){3}\d{1,3}|\[[0-9a-f:]+\]):\d{1,5}$/;
const METHODS: Readonly<Record<string, string>> = { get: "GET", head: "HEAD", post: "POST", put: "PUT", patch: "PATCH", delete: "DELETE" };

export type RuleParse = { readonly ok: true; readonly rule: HttpRule } | { readonly ok: false; readonly reason: string };

export function httpRule(permission: Permission): RuleParse {
  const method = METHODS[permission.action];
  if (permission.system !== "http" || method === undefined) return { ok: false, reason: `not an http method Charter writes into a squid rule` };
  const slash = permission.resource.indexOf("/");
  const authority = slash === -1 ? permission.resource : permission.resource.slice(0, slash);
  const path = slash === -1 ? "" : permission.resource.slice(slash);
  const [host = "", portText, extra] = authority.split(":");
  const port = portText === undefined ? 80 : Number(portText);
  if (extra !== undefined || !HOST.test(host) || !Number.isInteger(port) || port < 1 || port > 65535 || (portText !== undefined && !/^\d{1,5}$/.test(portText))) {
    return { ok: false, reason: `${JSON.stringify(authority)} is not a host name (and port) Charter writes into a squid rule` };
  }
  const prefix = path.endsWith("/*");
  const literal = prefix ? path.slice(0, -1) : path;
  if (!PATH.test(literal) || literal === "/" || literal.includes("//") || /(^|\/)\.\.?(\/|$)/.test(literal)) {
    return { ok: false, reason: `${JSON.stringify(path)} is not a path Charter writes into a squid rule (letters, digits and ._~!$&()+,;=:@%/- only, no empty or dot segments)` };
  }
  const escaped = literal.replace(/[.$()+\\^[\]{}|*?]/g, (c) => `\\${c}`);
  return { ok: true, rule: { method, host, port, pathRegex: prefix ? `^${escaped}` : `^${escaped}(\\?.*)?$`, raw: permission.raw } };
}

export function checkSettings(settings: SquidSettings): string | undefined {
  if (!LISTEN.test(settings.listen)) return `listen "${settings.listen}" is not address:port (e.g. 127.0.0.1:3128)`;
  for (const [name, path] of [["directory", settings.directory], ["authProgram", settings.authProgram], ["hostsFile", settings.hostsFile]] as const) {
    if (path !== undefined && !SAFE_FILE.test(path)) return `${name} "${path}" must be an absolute path of letters, digits and ._/-`;
  }
  return undefined;
}

export function configPaths(directory: string): { config: string; passwords: string; state: string; accessLog: string; pidFile: string; cacheLog: string } {
  return {
    config: `${directory}/squid.conf`,
    passwords: `${directory}/passwd`,
    state: `${directory}/charter-state.json`,
    accessLog: `${directory}/access.log`,
    pidFile: `${directory}/squid.pid`,
    cacheLog: `${directory}/cache.log`,
  };
}

/**
 * The JSON access log the trail follows. Fields an attacker can choose (the user name typed at
 * the proxy, the URL) are URL-encoded by squid (`%#`), so no value can close the JSON string;
 * every field is a string, since squid writes `-` where it has no value.
 */
const LOG_FORMAT =
  '{"ts":"%ts.%03tu","user":"%#un","client":"%>a","method":"%#rm","url":"%#ru","host":"%#>rd","port":"%>rP","status":"%>Hs","bytes":"%<st","elapsedMs":"%tr","result":"%Ss"}';

/** `revoked`: proxy users removed while squid may still trust their password from its cache; denied by name until that has passed. */
export function renderConfig(settings: SquidSettings, agents: readonly AgentRules[], revoked: readonly string[] = []): string {
  const paths = configPaths(settings.directory);
  const lines = [
    "# Written by Charter from the approved agent manifests. Do not edit: a sync replaces this file and drift reports any change.",
    `http_port ${settings.listen}`,
    `pid_filename ${paths.pidFile}`,
    `cache_log ${paths.cacheLog}`,
    `coredump_dir ${settings.directory}`,
    "cache deny all",
    "pinger_enable off",
    ...(settings.hostsFile === undefined ? [] : [`hosts_file ${settings.hostsFile}`]),
    `auth_param basic program ${settings.authProgram} ${paths.passwords}`,
    "auth_param basic children 5 startup=1 idle=1",
    "auth_param basic realm charter",
    "auth_param basic casesensitive on",
    `auth_param basic credentialsttl ${CREDENTIALS_TTL_SECONDS} seconds`,
    `authenticate_ttl ${CREDENTIALS_TTL_SECONDS} seconds`,
    `logformat charter_json ${LOG_FORMAT}`,
    `access_log stdio:${paths.accessLog} logformat=charter_json`,
    // squid -k rotate renames access.log to access.log.0 (Debian's default of 0 only reopens it): the trail follower finishes .0, then reads the new file.
    "logfile_rotate 1",
    "strip_query_terms on",
    "acl charter_authenticated proxy_auth REQUIRED",
    "acl charter_connect method CONNECT",
    // A dot segment or an encoded slash would let an approved prefix reach a path outside it once the upstream normalizes the URL.
    "acl charter_path_tricks urlpath_regex -i (^|/)(\\.|%2e){1,2}(/|\\?|$) %2f %5c",
    "http_access deny !charter_authenticated",
    "http_access deny charter_connect",
    "http_access deny charter_path_tricks",
  ];
  const named = revoked.filter((u) => parseLeaseUser(u) !== undefined).sort();
  if (named.length > 0) lines.push(`acl charter_revoked proxy_auth ${named.join(" ")}`, "http_access deny charter_revoked");
  // Method, host and port ACLs are shared by every rule that names the same one: squid's parse
  // and reload time grows with the number of ACLs, and a thousand agents share a few hosts.
  const shared = new Map<string, string>();
  const sharedAcl = (kind: string, type: string, value: string): string => {
    const key = `${kind} ${value}`;
    let name = shared.get(key);
    if (name === undefined) {
      name = `charter_${kind}_${String(shared.size)}`;
      shared.set(key, name);
      lines.push(`acl ${name} ${type} ${value}`);
    }
    return name;
  };
  for (const { agent, rules } of [...agents].sort((a, b) => (a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : 0))) {
    if (!isSafeAgentId(agent) || rules.length === 0) continue;
    const base = `charter_${agent}`;
    lines.push(`# agent ${agent}`, `acl ${base}_user proxy_auth_regex ${agentUserRegex(agent)}`);
    rules.forEach((rule, i) => {
      const method = sharedAcl("method", "method", rule.method);
      const host = sharedAcl("host", "dstdomain -n", rule.host);
      const port = sharedAcl("port", "port", String(rule.port));
      const path = `${base}_${String(i)}_path`;
      if (/^[!-~]+$/.test(rule.raw)) lines.push(`# ${rule.raw}`);
      lines.push(`acl ${path} urlpath_regex ${rule.pathRegex}`, `http_access allow ${base}_user ${method} ${host} ${port} ${path}`);
    });
  }
  lines.push("http_access deny all", "");
  return lines.join("\n");
}
