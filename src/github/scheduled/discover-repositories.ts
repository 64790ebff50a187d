import type { Probot } from "probot";
import type { KnownRepository } from "./schedule.js";

/** Every repository of every installation of this app (2 requests per installation). */
export async function discoverRepositories(app: Probot): Promise<KnownRepository[]> {
  const appOctokit = await app.auth();
  const installations = await appOctokit.paginate(appOctokit.rest.apps.listInstallations, { per_page: 100 });
  const out: KnownRepository[] = [];
  for (const installation of installations) {
    const octokit = await app.auth(installation.id);
    const repositories = await octokit.paginate(octokit.rest.apps.listReposAccessibleToInstallation, { per_page: 100 });
    for (const repo of repositories) {
      out.push({ owner: repo.owner.login, repo: repo.name, repositoryId: String(repo.id), installationId: installation.id, repositoryUrl: repo.html_url });
    }
  }
  return out;
}
