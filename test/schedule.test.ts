import { describe, expect, it } from 'vitest';
import { cptBits, cyclePeriod, roundHalfEven, makeSchedule, parseScheduleSpec, scheduleBits, scheduleWarning } from '../src/schedule/schedule.js';
import { ScheduleError } from '../src/errors.js';

const first = (spec: string, total: number, n: number) => Array.from(scheduleBits(makeSchedule(spec), total).slice(0, n));

describe('precision schedules', () => {
  it('static:B is constant', () => {
    expect(first('static:8', 100, 5)).toEqual([8, 8, 8, 8, 8]);
  });

  it('cpt:3-8 follows round(Bmin + ½(Bmax−Bmin)(1 − cos(π·(t mod T)/T))) with T = floor(total/N)', () => {
    // total 128, 32 cycles → T = 4: phases 0, ¼, ½, ¾ → 3, 3.732→4, 5.5→6, 7.268→7
    expect(first('cpt:3-8', 128, 12)).toEqual([3, 4, 6, 7, 3, 4, 6, 7, 3, 4, 6, 7]);
    expect(cyclePeriod(128, 32)).toBe(4);
    // 16 cycles over 128 → T = 8
    expect(first('cpt:3-8:cycles=16', 128, 9)).toEqual([3, 3, 4, 5, 6, 6, 7, 8, 3]);
    expect(cptBits(7, 128, 3, 8, 16)).toBe(Math.round(3 + 2.5 * (1 - Math.cos((Math.PI * 7) / 8))));
  });

  it('cpt with fewer iterations than cycles degrades to period 1 (Bmin)', () => {
    expect(first('cpt:3-8', 10, 10)).toEqual(new Array(10).fill(3));
  });

  it('warns when a run is too short for the cycles to reach Bmax', () => {
    expect(scheduleWarning(makeSchedule('cpt:3-8'), 22)).toMatch(/cpt:3-8: 32 cycles over 22 iterations leave 1 iteration per cycle, so precision only reaches 3 bits/);
    expect(scheduleWarning(makeSchedule('cpt:3-8'), 96)).toMatch(/leave 3 iterations per cycle, so precision only reaches 7 bits/);
    expect(scheduleWarning(makeSchedule('cpt:3-8'), 660)).toBeNull();
    // period 4 reaches only 7 of 8 bits (the README's `schedule cpt:3-8 --iterations 128`)
    expect(scheduleWarning(makeSchedule('cpt:3-8'), 128)).toMatch(/leave 4 iterations per cycle, so precision only reaches 7 bits .*cycles=(\d+)\)$/);
    const fits = Number(/cycles=(\d+)\)$/.exec(scheduleWarning(makeSchedule('cpt:3-8'), 128)!)![1]);
    expect(Math.max(...scheduleBits(makeSchedule(`cpt:3-8:cycles=${fits}`), 128))).toBe(8);
    expect(Math.max(...scheduleBits(makeSchedule(`cpt:3-8:cycles=${fits + 1}`), 128))).toBeLessThan(8);
    expect(scheduleWarning(makeSchedule('static:8'), 1)).toBeNull();
  });

  it('tri:Bmin-Bmax goes up then down within each cycle', () => {
    expect(first('tri:3-8', 128, 8)).toEqual([3, 6, 8, 6, 3, 6, 8, 6]);
  });

  it('ramp:Bmin-Bmax rises linearly over the run', () => {
    expect(first('ramp:3-8', 6, 6)).toEqual([3, 4, 5, 6, 7, 8]);
  });

  it('the mean CPT precision over a long run is about (Bmin+Bmax)/2', () => {
    const bits = scheduleBits(makeSchedule('cpt:3-8'), 64000);
    const mean = bits.reduce((a, b) => a + b, 0) / bits.length;
    expect(mean).toBeGreaterThan(5.3);
    expect(mean).toBeLessThan(5.7);
  });

  it('canonical names', () => {
    expect(makeSchedule('cpt:3-8:cycles=32').name).toBe('cpt:3-8');
    expect(makeSchedule('cpt:2-6:cycles=8').name).toBe('cpt:2-6:cycles=8');
    expect(makeSchedule(' static:4 ').name).toBe('static:4');
  });

  it.each([
    ['cpt:9-8', /Bmin \(9\) must not exceed Bmax \(8\)/],
    ['static:0', /B must be an integer in 1\.\.32, got 0/],
    ['static:33', /B must be an integer in 1\.\.32, got 33/],
    ['cpt:3-40', /Bmax must be an integer in 1\.\.32/],
    ['cosine:3-8', /unknown schedule "cosine".*allowed: static:B/],
    ['cpt:3-8:cycles=0', /cycles must be a positive integer/],
    ['cpt:3-8:period=4', /unknown option "period=4"/],
    ['static', /expected static:B/],
    ['cpt:3', /expected a range Bmin-Bmax/],
    ['static:8:cycles=3', /this schedule takes no options/],
  ])('rejects %s with a clear message', (spec, message) => {
    expect(() => parseScheduleSpec(spec)).toThrow(ScheduleError);
    expect(() => parseScheduleSpec(spec)).toThrow(message);
  });
});

describe('CPT schedule rounding (np.rint, half to even)', () => {
  const expand = (runs: string): number[] => runs.split(' ').flatMap((r) => {
    const [bits, count] = r.split('x').map(Number);
    return new Array<number>(count!).fill(bits!);
  });

  it('roundHalfEven rounds ties to the even neighbour', () => {
    expect([0.5, 1.5, 2.5, 4.5, 5.5, -0.5, 4.4999, 4.5001].map(roundHalfEven)).toEqual([0, 2, 2, 4, 6, 0, 4, 5]);
  });

  it('matches numpy for CPT’s own formula, ties included (600 steps, 3 cycles)', () => {
    // np.rint(lo + 0.5*(hi-lo)*(1 + np.cos(np.pi*((t % T)/T) + np.pi))) for t in range(600), T = 200,
    // as run-lengths; Math.round gave one more step of the upper value at t = 100, 300, 500.
    const cases: [number, number, string][] = [
      [3, 6, '3x54 4x47 5x46 6x53'],
      [5, 8, '5x54 6x47 7x46 8x53'],
      [3, 8, '3x41 4x33 5x26 6x27 7x33 8x40'],
    ];
    for (const [lo, hi, cycle] of cases) {
      const expected = expand(`${cycle} ${cycle} ${cycle}`);
      expect(Array.from({ length: 600 }, (_, t) => cptBits(t, 600, lo, hi, 3))).toEqual(expected);
    }
    expect(cptBits(100, 600, 3, 6, 3)).toBe(4);
  });
});
