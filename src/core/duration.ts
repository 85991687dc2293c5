/** `90`, `90s`, `15m`, `1h`, `2d` → seconds; a TypeError for anything else, zero included. */
export function parseDuration(text: string): number {
  const match = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!match) throw new TypeError(`not a duration: ${text} (use 90, 90s, 15m, 1h, 2d)`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  const seconds = Number(match[1]) * unit;
  if (seconds <= 0) throw new TypeError('the duration must be positive');
  return seconds;
}
