import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load-config.js';
import type { KeyStore } from '../../src/auth/key-store.js';
import { startupBanner } from '../../src/startup-banner.js';

const noSigner = { signingKeys: () => [] } as unknown as KeyStore;
const banner = (node: string) =>
  startupBanner(parseConfig({}), noSigner, { rtmp: 1935, http: 8080 }, Date.now(), node);

describe('startup banner', () => {
  it('names the Node it runs on and says when that Node is past its end of life', async () => {
    const old = await banner('20.19.2');
    expect(old).toContain('Stagedoor is up (Node 20.19.2).');
    expect(old).toMatch(/Node 20 is past its end of life: run Node 22 or 24/);
    const current = await banner('24.1.0');
    expect(current).toContain('Stagedoor is up (Node 24.1.0).');
    expect(current).not.toMatch(/end of life/);
  });
});
