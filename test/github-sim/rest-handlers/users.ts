// users/get-by-username.

import { notFound } from "../http.js";
import { publicUser } from "../render/account.js";
import { param, type RestHandler } from "./context.js";

const getByUsername: RestHandler = (context) => {
  const account = context.core.state.findAccount(param(context, "username"));
  if (!account) throw notFound();
  return { status: 200, body: publicUser(context.core.urls, account) };
};

export const usersHandlers: Record<string, RestHandler> = {
  "users/get-by-username": getByUsername,
};
