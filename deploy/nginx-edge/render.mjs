#!/usr/bin/env node
// Renders deploy/nginx-edge/nginx.conf with its "SET" lines filled in: as a module (the tests and
// benches run the shipped file through it) or from the command line:
//   node deploy/nginx-edge/render.mjs --origin 10.0.0.5:8080 --listen 8088 \
//     --dir /etc/nginx/stagedoor-edge --cache /var/cache/nginx/stagedoor \
//     --cors-origins https://www.example.com,https://app.example.com > /etc/nginx/nginx.conf
// (--cors-origins: the origin's http.corsOrigins; leave it out for "*"; --pass-format cat
// --cat-param CAT where the origin writes Common Access Tokens: hls.passes.cdn format "cat").
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const TEMPLATE = fileURLToPath(new URL('nginx.conf', import.meta.url));

/** Replaces exactly one match, so that a change to the shipped file breaks loudly, not silently. */
function setLine(text, find, replacement) {
  const hits = text.match(new RegExp(find.source, 'gm'));
  if (hits?.length !== 1)
    throw new Error(`deploy/nginx-edge/nginx.conf: ${find} matched ${hits?.length ?? 0} times`);
  return text.replace(new RegExp(find.source, 'm'), replacement);
}

/**
 * The edge config with: `dir` holding pass.js and edge-keys.conf, `origin` (host:port of
 * Stagedoor's HTTP port, or a list: a cluster's nodes), `listen` (what nginx's `listen` takes), `cache` (a writable directory),
 * and optionally `corsOrigins` (the origin's http.corsOrigins: a list, or a string separated by
 * spaces or commas), `passFormat` ("stagedoor", the default, or "cat") with `catParam` (the CAT's
 * query parameter), `workers`, `jsModule` (an absolute module path) and `prelude` (lines put first).
 */
export function renderEdgeConfig({
  dir,
  origin,
  listen,
  cache,
  workers,
  jsModule,
  prelude,
  corsOrigins,
  passFormat,
  catParam,
}) {
  let conf = readFileSync(TEMPLATE, 'utf8');
  if (jsModule)
    conf = setLine(
      conf,
      /^load_module modules\/ngx_http_js_module\.so;/,
      `load_module ${jsModule};`,
    );
  if (workers !== undefined)
    conf = setLine(conf, /^worker_processes auto;/, `worker_processes ${workers};`);
  conf = setLine(conf, /^\s*js_path \S+;/, `    js_path ${dir}/;`);
  conf = setLine(conf, /^\s*include \S+edge-keys\.conf;/, `    include ${dir}/edge-keys.conf;`);
  // Several origins (a cluster's nodes, any of which serves any stream): nginx spreads over them.
  const servers = [origin]
    .flat()
    .map((o) => `        server ${o};`)
    .join('\n');
  conf = setLine(conf, /^\s*server 127\.0\.0\.1:8080;/, servers);
  conf = setLine(conf, /proxy_cache_path \S+/, `proxy_cache_path ${cache}`);
  conf = setLine(conf, /^\s*listen 8088;/, `        listen ${listen};`);
  if (corsOrigins !== undefined) {
    const origins = [corsOrigins]
      .flat()
      .join(' ')
      .split(/[\s,]+/)
      .filter(Boolean);
    for (const o of origins)
      if (o !== '*' && !/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/.test(o))
        throw new Error(`cors origin ${o}: an origin is * or scheme://host[:port]`);
    conf = setLine(
      conf,
      /^\s*js_var \$stagedoor_cors_origins "[^"]*";/,
      `    js_var $stagedoor_cors_origins "${origins.join(' ')}";`,
    );
  }
  if (passFormat !== undefined) {
    if (passFormat !== 'stagedoor' && passFormat !== 'cat')
      throw new Error(`pass format ${passFormat}: "stagedoor" or "cat"`);
    conf = setLine(
      conf,
      /^\s*js_var \$stagedoor_pass_format "[^"]*";/,
      `    js_var $stagedoor_pass_format "${passFormat}";`,
    );
  }
  if (catParam !== undefined) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(catParam))
      throw new Error(`cat param ${catParam}: 1–64 of A-Z a-z 0-9 _ -`);
    conf = setLine(
      conf,
      /^\s*js_var \$stagedoor_cat_param "[^"]*";/,
      `    js_var $stagedoor_cat_param "${catParam}";`,
    );
  }
  return `${prelude ?? ''}${conf}`;
}

/**
 * The edge-keys.conf lines for keys `[{ kid, secret }]`, the first one being the signing key, and
 * CAT keys `[{ kid, key }]` (hex; the origin's hls.passes.cdn `kid` and `key`, none by default). A
 * secret nginx would not read back as written is refused: inside the quoted value `$` starts a
 * variable, `\` an escape and `"` ends it (every valid pass would then be refused at the edge).
 */
export function renderEdgeKeys(keys, catKeys = []) {
  for (const { kid, secret } of keys) {
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(kid))
      throw new Error(`edge key ${kid}: a kid is 1–32 of A-Z a-z 0-9 _ -`);
    if (!/^[\x21-\x7e]{32,}$/.test(secret))
      throw new Error(`edge key ${kid}: a secret is 32 or more printable ASCII characters`);
    if (/["$\\]/.test(secret))
      throw new Error(
        `edge key ${kid}: the secret holds " $ or \\, which nginx reads as a quote, a variable or an escape; choose another (openssl rand -base64 32 | tr '+/' '-_')`,
      );
  }
  for (const { kid, key } of catKeys) {
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(kid))
      throw new Error(`CAT key ${kid}: a kid is 1–32 of A-Z a-z 0-9 _ -`);
    if (!/^([0-9a-fA-F]{2}){32,}$/.test(key))
      throw new Error(`CAT key ${kid}: a key is hex of 32 bytes or more`);
  }
  return (
    `js_var $stagedoor_edge_keys "${keys.map((k) => `${k.kid}:${k.secret}`).join(' ')}";\n` +
    `js_var $stagedoor_cat_keys "${catKeys.map((k) => `${k.kid}:${k.key}`).join(' ')}";\n`
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = Object.fromEntries(
    process.argv
      .slice(2)
      .join(' ')
      .split('--')
      .filter(Boolean)
      .map((pair) => pair.trim().split(/\s+/)),
  );
  for (const required of ['origin', 'listen', 'dir', 'cache'])
    if (!args[required]) {
      console.error(
        `usage: render.mjs --origin HOST:PORT --listen PORT --dir DIR --cache DIR [--cors-origins A,B]`,
      );
      process.exit(2);
    }
  // --origin a:8080,b:8080: a cluster's nodes.
  const origin = args.origin.split(',');
  process.stdout.write(
    renderEdgeConfig({
      ...args,
      origin,
      corsOrigins: args['cors-origins'],
      passFormat: args['pass-format'],
      catParam: args['cat-param'],
    }),
  );
}
