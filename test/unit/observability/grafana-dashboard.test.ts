// deploy/grafana/stagedoor.json asks only for metrics Stagedoor exports, in PromQL Prometheus parses.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Metrics } from '../../../src/observability/metrics.js';
import { SessionRegistry } from '../../../src/sessions/session-registry.js';
import { IssuerStore } from '../../../src/auth/oidc/issuer-store.js';

interface Panel {
  title: string;
  targets: Array<{ expr: string }>;
}
const dashboard = JSON.parse(readFileSync('deploy/grafana/stagedoor.json', 'utf8')) as {
  panels: Panel[];
};
const exprs = dashboard.panels.flatMap((p) =>
  p.targets.map((t) => ({ panel: p.title, expr: t.expr })),
);
const hasPromtool = spawnSync('promtool', ['--version']).status === 0;

describe('Grafana dashboard', () => {
  it('names only metrics this server exports', async () => {
    const log = pino({ level: 'silent' });
    const metrics = new Metrics({
      registry: new SessionRegistry(log),
      issuers: new IssuerStore([], log),
      outputs: { list: () => [], streams: () => [] },
    });
    const exported = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
    expect(exprs.length).toBeGreaterThan(20);
    for (const { panel, expr } of exprs) {
      const names = expr.match(/\b(stagedoor|process|nodejs)_[a-z0-9_]+/g) ?? [];
      expect(names.length, panel).toBeGreaterThan(0);
      for (const name of names) {
        const family = name.replace(/_(bucket|sum|count)$/, '');
        expect(exported.has(name) || exported.has(family), `${panel}: ${name}`).toBe(true);
      }
    }
  });

  it.runIf(hasPromtool)('has PromQL that Prometheus parses (promtool check rules)', () => {
    const rules = exprs.map(({ expr }, i) => ({
      record: `dashboard:panel_${i}`,
      expr: expr.replaceAll('$job', '.*').replaceAll('$instance', '.*'),
    }));
    const dir = mkdtempSync(join(tmpdir(), 'sd-grafana-'));
    const file = join(dir, 'rules.yml');
    // JSON is YAML: one group holding every panel's query as a recording rule.
    writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboard', rules }] }));
    const check = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    expect(check.stdout + check.stderr).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(check.status).toBe(0);
  });
});
