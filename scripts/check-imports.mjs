#!/usr/bin/env node
// `npm run lint`: the import rules of the layout (docs/architecture.md "How it is built") and no import cycle in src/.
// Reads every src/**/*.ts as text, follows its relative imports, and prints each broken rule.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');
const files = [];
(function walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
      files.push(relative(root, path));
  }
})(root);

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'(\.{1,2}\/[^']+)'|import\(\s*'(\.{1,2}\/[^']+)'\s*\)/g;
const graph = new Map();
for (const file of files) {
  const text = readFileSync(join(root, file), 'utf8');
  const targets = new Set();
  for (const match of text.matchAll(IMPORT)) {
    const spec = match[1] ?? match[2];
    targets.add(relative(root, resolve(root, dirname(file), spec)).replace(/\.js$/, '.ts'));
  }
  graph.set(
    file,
    [...targets].filter((t) => graph.has(t) || files.includes(t)),
  );
}

const area = (file) => (file.includes('/') ? file.split('/')[0] : file);
// Imports that break a rule today and are scheduled to go: none left.
const KNOWN = new Set([]);
const among = (file, areas) => areas.includes(area(file));
const rules = [
  [
    'core/ imports only core/ and errors.ts',
    (from, to) => area(from) === 'core' && !(area(to) === 'core' || to === 'errors.ts'),
  ],
  [
    'config/ imports only config/ and errors.ts',
    (from, to) => area(from) === 'config' && !(area(to) === 'config' || to === 'errors.ts'),
  ],
  ['auth/ never imports sessions/', (from, to) => area(from) === 'auth' && area(to) === 'sessions'],
  [
    'media/ never imports formats/, ingest/, outputs/ or delivery/ (units are codec-neutral)',
    (from, to) => area(from) === 'media' && among(to, ['formats', 'ingest', 'outputs', 'delivery']),
  ],
  [
    'formats/ imports only formats/, media/, core/, log/ and errors.ts',
    (from, to) =>
      area(from) === 'formats' && !among(to, ['formats', 'media', 'core', 'log', 'errors.ts']),
  ],
  [
    'outputs/ never imports ingest/ or delivery/',
    (from, to) => area(from) === 'outputs' && among(to, ['ingest', 'delivery']),
  ],
  [
    'ingest/ never imports outputs/ (container bytes go through the hub)',
    (from, to) => area(from) === 'ingest' && area(to) === 'outputs',
  ],
  [
    'observability/ reads ports: it never imports outputs/, ingest/ or delivery/',
    (from, to) => area(from) === 'observability' && among(to, ['outputs', 'ingest', 'delivery']),
  ],
  [
    'only the wiring imports cluster/ (its parts satisfy the ports the areas declare)',
    (from, to) => area(to) === 'cluster' && !['cluster', 'compose'].includes(area(from)),
  ],
  [
    'only the wiring imports compose/, admin/ and app.ts',
    (from, to) =>
      (area(to) === 'compose' || area(to) === 'admin' || to === 'app.ts') &&
      !['compose', 'admin', 'app.ts', 'main.ts', 'cli.ts'].includes(area(from)),
  ],
];

const problems = [];
for (const [from, targets] of graph) {
  for (const to of targets) {
    for (const [rule, broken] of rules) {
      if (broken(from, to) && !KNOWN.has(`${from} -> ${to}`))
        problems.push(`${rule}: ${from} -> ${to}`);
    }
  }
}

// Cycles: Tarjan's strongly connected components.
let index = 0;
const stack = [];
const state = new Map();
function connect(file) {
  const node = { index, low: index, onStack: true };
  state.set(file, node);
  index++;
  stack.push(file);
  for (const next of graph.get(file) ?? []) {
    if (!state.has(next)) {
      connect(next);
      node.low = Math.min(node.low, state.get(next).low);
    } else if (state.get(next).onStack) node.low = Math.min(node.low, state.get(next).index);
  }
  if (node.low === node.index) {
    const component = [];
    let member;
    do {
      member = stack.pop();
      state.get(member).onStack = false;
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || (graph.get(file) ?? []).includes(file))
      problems.push(`import cycle: ${component.join(' -> ')}`);
  }
}
for (const file of files) if (!state.has(file)) connect(file);

if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(
  `imports: ${files.length} files, no cycle, layout rules hold (${KNOWN.size} known exceptions, see scripts/check-imports.mjs)`,
);
