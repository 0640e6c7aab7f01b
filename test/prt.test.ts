import { describe, expect, it } from 'vitest';
import { pickBitsMin } from '../src/engine/prt.js';
import { runMain } from './helpers/cli.js';

describe('precision range test', () => {
  const burst = (bits: number, trainAccuracy: number) => ({ bits, trainAccuracy, trainLoss: 0 });

  it('Bmin is the lowest precision where one more bit adds no more than the threshold', () => {
    expect(pickBitsMin([burst(2, 0.5), burst(3, 0.8), burst(4, 0.805), burst(5, 0.9)], 0.01, 8)).toBe(3);
    expect(pickBitsMin([burst(2, 0.9), burst(3, 0.9)], 0.01, 8)).toBe(2);
    expect(pickBitsMin([burst(2, 0.5), burst(3, 0.6), burst(4, 0.7)], 0.01, 4)).toBe(4);
  });

  it('bitcycle prt reports the bursts and a cpt suggestion with Bmax = the static precision', async () => {
    const r = await runMain(['prt', '--burst-epochs', '2', '--static-bits', '6', '--json']);
    expect(r.status).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.bitsMax).toBe(6);
    expect(json.bursts[0].bits).toBe(2);
    expect(json.bursts.length).toBeGreaterThanOrEqual(2);
    for (const b of json.bursts) expect(b.trainAccuracy).toBeGreaterThan(0.3);
    expect(json.suggestion).toBe(`cpt:${json.bitsMin}-6`);
    expect(json.bitsMin).toBe(pickBitsMin(json.bursts, 0.01, 6));
  });

  it('rejects --from above --static-bits', async () => {
    const r = await runMain(['prt', '--from', '9', '--static-bits', '8']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--from: must not exceed --static-bits \(8\), got 9/);
  });
});
