// teams/get-membership-for-user-in-org and orgs/get-membership-for-user, readable by an
// installation on that organisation (with members:read, checked by the pipeline).

import { HttpError, notFound } from "../http.js";
import { organizationSimple, simpleUser } from "../render/account.js";
import type { Organization } from "../state.js";
import { installationToken, param, type RestContext, type RestHandler } from "./context.js";

function orgFor(context: RestContext): Organization {
  const org = context.core.state.findOrganization(param(context, "org"));
  if (!org) throw notFound();
  const token = installationToken(context);
  const installation = token ? context.core.state.installations.get(token.installationId) : undefined;
  if (installation?.account !== org.account) {
    throw new HttpError(403, "Resource not accessible by integration", { record: true });
  }
  return org;
}

const teamMembership: RestHandler = (context) => {
  const org = orgFor(context);
  const team = org.teams.get(param(context, "team_slug").toLowerCase());
  const login = param(context, "username");
  const role = team?.members.get(login.toLowerCase());
  if (!team || !role) throw notFound();
  return {
    status: 200,
    body: {
      url: `${context.core.urls.api}/organizations/${org.account.id}/team/${team.id}/memberships/${login}`,
      role,
      state: "active",
    },
  };
};

const orgMembership: RestHandler = (context) => {
  const org = orgFor(context);
  const login = param(context, "username");
  const role = org.members.get(login.toLowerCase());
  const account = context.core.state.findAccount(login);
  if (!role || !account) throw notFound();
  const { urls } = context.core;
  return {
    status: 200,
    body: {
      url: `${urls.api}/orgs/${org.account.login}/memberships/${account.login}`,
      state: "active",
      role,
      organization_url: `${urls.api}/orgs/${org.account.login}`,
      organization: organizationSimple(urls, org),
      user: simpleUser(urls, account),
    },
  };
};

export const orgsHandlers: Record<string, RestHandler> = {
  "teams/get-membership-for-user-in-org": teamMembership,
  "orgs/get-membership-for-user": orgMembership,
};
