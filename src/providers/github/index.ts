export { appJwt } from "./app-jwt.js";
export { type GithubAppCredentials, type GithubTokenOptions, type IssuedGithubToken, issueGithubTokens } from "./issue-github-tokens.js";
export { GITHUB_TOKEN_LIFETIME_SECONDS, type GithubAppClient, mintInstallationToken, type MintedGithubToken } from "./mint-token.js";
export { type GithubLevel, type GithubTokenScope, githubTokenScopes } from "./token-scope.js";
