// Users, bots and organisations as GitHub renders them. The simple-user shape is the one both
// REST (`simple-user`) and webhooks (`user`, additionalProperties: false) accept.

import type { Account, App, Organization } from "../state.js";

export interface Urls {
  /** REST root, e.g. https://api.github.com */
  readonly api: string;
  /** Web root, e.g. https://github.com */
  readonly web: string;
}

export function simpleUser(urls: Urls, account: Account) {
  // Bot logins end in "[bot]"; GitHub percent-encodes the brackets in URLs.
  const login = encodeURIComponent(account.login);
  const api = `${urls.api}/users/${login}`;
  return {
    login: account.login,
    id: account.id,
    node_id: account.nodeId,
    avatar_url: `https://avatars.githubusercontent.com/u/${account.id}?v=4`,
    gravatar_id: "",
    url: api,
    html_url: account.type === "Bot" ? `${urls.web}/apps/${account.login.replace(/\[bot\]$/, "")}` : `${urls.web}/${login}`,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type: account.type,
    site_admin: false,
  };
}

/** users/get-by-username, as seen with an installation token (no private fields). */
export function publicUser(urls: Urls, account: Account) {
  return {
    ...simpleUser(urls, account),
    user_view_type: "public",
    name: account.name,
    company: null,
    blog: "",
    location: null,
    email: account.email,
    hireable: null,
    bio: null,
    twitter_username: null,
    public_repos: 0,
    public_gists: 0,
    followers: 0,
    following: 0,
    created_at: account.createdAt,
    updated_at: account.createdAt,
  };
}

export function organizationSimple(urls: Urls, org: Organization) {
  const api = `${urls.api}/orgs/${org.account.login}`;
  return {
    login: org.account.login,
    id: org.account.id,
    node_id: org.account.nodeId,
    url: api,
    repos_url: `${api}/repos`,
    events_url: `${api}/events`,
    hooks_url: `${api}/hooks`,
    issues_url: `${api}/issues`,
    members_url: `${api}/members{/member}`,
    public_members_url: `${api}/public_members{/member}`,
    avatar_url: `https://avatars.githubusercontent.com/u/${org.account.id}?v=4`,
    description: null,
  };
}

/** The app as embedded in check runs (REST `integration`, webhook `app`). */
export function integration(urls: Urls, app: App, permissions: Record<string, string>, events: string[]) {
  return {
    id: app.id,
    slug: app.slug,
    node_id: app.nodeId,
    owner: simpleUser(urls, app.owner),
    name: app.name,
    description: null,
    external_url: `${urls.web}/apps/${app.slug}`,
    html_url: `${urls.web}/apps/${app.slug}`,
    created_at: app.createdAt,
    updated_at: app.createdAt,
    permissions,
    events,
  };
}
