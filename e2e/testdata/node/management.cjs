// Drives Sesame's Management API with the unmodified node `auth0` package's
// ManagementClient, as an application would, and prints what it saw as one
// JSON object for the Go test (e2e/management_node_test.go) to check.
//
// Environment: NODE_MODULES (where `npm ci` installed the pinned package),
// DOMAIN (host:port of Sesame over TLS; NODE_EXTRA_CA_CERTS trusts its
// certificate), CLIENT_ID and CLIENT_SECRET (a machine-to-machine client
// granted the Management API), AUDIENCE (the API the new client is granted),
// EMAIL (a user to create), BLOCKED (an address that is blocked now), and
// LOGGED_IN (the user_id of a user who logged in once, then failed a code once).
"use strict";
const path = require("path");
const { ManagementClient } = require(path.join(process.env.NODE_MODULES, "auth0"));

async function main() {
  const env = process.env;
  const m = new ManagementClient({ domain: env.DOMAIN, clientId: env.CLIENT_ID, clientSecret: env.CLIENT_SECRET });
  const out = {};

  // A client, read back; a grant for it; its secret rotated.
  const created = await m.clients.create({ name: "Made by node", app_type: "non_interactive", grant_types: ["client_credentials"] });
  out.created = { client_id: created.client_id, secret: created.client_secret };
  const read = await m.clients.get(created.client_id);
  out.read = { name: read.name, app_type: read.app_type, has_secret: read.client_secret !== undefined };
  const grant = await m.clientGrants.create({ client_id: created.client_id, audience: env.AUDIENCE, scope: ["read:things"] });
  out.grant = { id: grant.id, client_id: grant.client_id, audience: grant.audience };
  const rotated = await m.clients.rotateSecret(created.client_id);
  out.rotated_secret = rotated.client_secret;

  // Connections.
  const conns = await m.connections.list();
  out.connections = conns.data.map((c) => c.name).sort();

  // A user, found by email both ways, blocked and unblocked.
  const user = await m.users.create({ connection: "email", email: env.EMAIL, email_verified: true });
  out.user_id = user.user_id;
  out.by_email = (await m.users.listUsersByEmail({ email: env.EMAIL })).map((u) => u.user_id);
  const listed = await m.users.list({ q: `email:"${env.EMAIL}"`, search_engine: "v3" });
  out.listed = listed.data.map((u) => u.user_id);
  await m.users.update(user.user_id, { blocked: true });
  out.blocked = (await m.users.get(user.user_id)).blocked === true;
  await m.users.update(user.user_id, { blocked: false });
  out.unblocked = (await m.users.get(user.user_id)).blocked !== true;

  // Brute-force blocks of an address, read and lifted.
  out.blocked_for = (await m.userBlocks.listByIdentifier({ identifier: env.BLOCKED })).blocked_for || [];
  await m.userBlocks.deleteByIdentifier({ identifier: env.BLOCKED });
  out.blocked_for_after = (await m.userBlocks.listByIdentifier({ identifier: env.BLOCKED })).blocked_for || [];

  // The tenant log of the login and of the failed code.
  const logs = await m.logs.list({ search: `user_id:"${env.LOGGED_IN}"`, per_page: 100 });
  out.logs = logs.data.map((l) => ({ log_id: l.log_id, type: l.type, client_id: l.client_id, user_id: l.user_id, ip: l.ip }));
  const failed = await m.logs.list({ search: `type:"fepotpft"`, per_page: 100 });
  out.failed = failed.data.map((l) => ({ log_id: l.log_id, type: l.type, client_id: l.client_id, user_name: l.user_name, ip: l.ip }));
  if (out.logs.length > 0) {
    const one = await m.logs.get(out.logs[0].log_id);
    out.log_read = { log_id: one.log_id, type: one.type };
  }

  // A signing key rotation.
  out.kid = (await m.keys.signing.rotate()).kid;

  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((err) => {
  const status = err && (err.statusCode || err.status);
  const body = err && err.body !== undefined ? JSON.stringify(err.body) : "";
  process.stderr.write(`management client failed: ${status || ""} ${err && err.message} ${body}\n`);
  process.exit(1);
});
