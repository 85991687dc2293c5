import { describe, expect, it } from 'vitest';
import { redactUrl, redactText, redactValue } from '../../../src/log/redact.js';
import { capturedLogger } from '../../helpers/log.js';

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW0xIn0.c2lnbmF0dXJl';

describe('redaction', () => {
  it('scrubs tokens from query strings, bearer headers and bare JWTs', () => {
    expect(redactText(`rtmp://h/live/cam1?token=${JWT}&x=1`)).toBe(
      'rtmp://h/live/cam1?token=[REDACTED]&x=1',
    );
    expect(redactText(`/live/cam1/index.m3u8?jwt=abc`)).toBe(
      '/live/cam1/index.m3u8?jwt=[REDACTED]',
    );
    expect(redactText(`Bearer ${JWT}`)).toBe('Bearer [REDACTED]');
    expect(redactText(`stream key cam1 and ${JWT} in text`)).toBe(
      'stream key cam1 and [REDACTED] in text',
    );
  });

  it('scrubs segment passes and CDN tokens from media URIs, keeping the LL-HLS directives', () => {
    expect(
      redactText(
        '/live/cam1/s12.m4s?vs=k1.1700000000.v.mac&hdnts=exp=1~acl=/live/cam1/*~hmac=ab&_HLS_part=2',
      ),
    ).toBe('/live/cam1/s12.m4s?vs=[REDACTED]&hdnts=[REDACTED]&_HLS_part=2');
    expect(redactText('/s.m4s?Policy=eyJT&Signature=a~b&Key-Pair-Id=K2&CAT=2D3RhEOh')).toBe(
      '/s.m4s?Policy=[REDACTED]&Signature=[REDACTED]&Key-Pair-Id=K2&CAT=[REDACTED]',
    );
    // A bare CAT (tagged or not), as a stream name or in a message.
    const cats = ['2D3RhEOhBKEEQ2NhdDE', '0YRDoQEFoQRDY2F0MVh', '0oRDoQEmoQRCZWNYQ'].map(
      (head) => `${head}${'x'.repeat(60)}`,
    );
    for (const cat of cats)
      expect(redactText(`publish live/${cat} refused`)).toBe('publish live/[REDACTED] refused');
    expect(redactText('stream live/0QuietStudioCam is fine')).toBe(
      'stream live/0QuietStudioCam is fine',
    );
    expect(redactValue({ 'set-cookie': ['CloudFront-Signature=abc; Path=/live/cam1/'] })).toEqual({
      'set-cookie': '[REDACTED]',
    });
  });

  it('scrubs the password of a URL (a Redis URL in an error or the printed config)', () => {
    expect(redactText('cannot reach Redis at rediss://ops:s3cr3t-pass@redis.internal:6380/0')).toBe(
      'cannot reach Redis at rediss://ops:[REDACTED]@redis.internal:6380/0',
    );
    expect(redactText('redis://:onlypass@127.0.0.1:6379')).toBe(
      'redis://:[REDACTED]@127.0.0.1:6379',
    );
    expect(redactText('redis://127.0.0.1:6379 and http://h:8080/x')).toBe(
      'redis://127.0.0.1:6379 and http://h:8080/x',
    );
  });

  it('blanks a URL password whole when it holds @, : or #', () => {
    for (const password of ['pw1@pw2@pw3', 'pwa:pwb@pwc', 'pwx#pwy@pwz', 'pwq%40pwr', 'pw@']) {
      const url = `redis://ops:${password}@redis.internal:6380/2`;
      for (const shown of [redactText(`Redis at ${url} is away`), redactUrl(url)]) {
        expect(shown).toContain('[REDACTED]');
        expect(shown).toContain('redis.internal:6380');
        expect(shown).not.toContain('pw');
      }
    }
    expect(redactUrl('redis://:p@ss@tail@10.0.0.5:6379')).toBe('redis://:[REDACTED]@10.0.0.5:6379');
    expect(redactUrl('rediss://ops:p@ss@10.0.0.5:6380/1')).toBe(
      'rediss://ops:[REDACTED]@10.0.0.5:6380/1',
    );
    expect(redactUrl('redis://10.0.0.5:6379')).toBe('redis://10.0.0.5:6379');
  });

  it('removes secret-named fields at any depth', () => {
    expect(
      redactValue({
        a: { secret: 's', token: 't', headers: { authorization: 'x', cookie: 'y' } },
        keep: 1,
      }),
    ).toEqual({
      a: {
        secret: '[REDACTED]',
        token: '[REDACTED]',
        headers: { authorization: '[REDACTED]', cookie: '[REDACTED]' },
      },
      keep: 1,
    });
  });

  it('never lets a token reach a log line, whatever field or message carries it', () => {
    const { log, out } = capturedLogger();
    log.info({ url: `/x?token=${JWT}`, nested: { token: JWT } }, `message with ${JWT}`);
    log.error({ err: new Error(`bad token ${JWT}`) }, 'failure');
    expect(out()).not.toContain(JWT);
    expect(out()).toContain('[REDACTED]');
  });
});
