import { describe, expect, it } from 'vitest';
import { MAX_EXPRESSION_LENGTH, compileExpression, evaluateQuantity, unitOf } from '../src/hw/expr.js';

describe('restricted mathjs quantities', () => {
  it('evaluates unit strings in SI base units (bits for data)', () => {
    expect(evaluateQuantity('0.2 pJ', 'energy')).toBeCloseTo(0.2e-12, 25);
    expect(evaluateQuantity('500 MHz', 'frequency')).toBe(500e6);
    expect(evaluateQuantity('15 pJ/bit', 'energyPerBit')).toBeCloseTo(15e-12, 25);
    expect(evaluateQuantity('2.04 TB/s', 'bandwidth')).toBeCloseTo(2.04e12 * 8, 0);
    expect(evaluateQuantity('112 KiB', 'data')).toBe(112 * 1024 * 8);
    expect(evaluateQuantity('20 pJ / 64 bit', 'energyPerBit')).toBeCloseTo(20e-12 / 64, 25);
    expect(evaluateQuantity('156 THz', 'rate')).toBe(156e12);
    expect(evaluateQuantity('400 W', 'power')).toBe(400);
  });

  it('checks dimensions and names what it got', () => {
    expect(() => evaluateQuantity('3 ns', 'energy')).toThrow('expected energy (J), got "3 ns" (time)');
    expect(() => evaluateQuantity('3', 'energy')).toThrow('(a plain number)');
    expect(() => evaluateQuantity('15 pJ', 'energyPerBit')).toThrow('expected energy per bit (J/bit), got "15 pJ" (energy)');
    expect(() => evaluateQuantity('2 GB', 'bandwidth')).toThrow('(a data size)');
    expect(() => evaluateQuantity('1 pJ / 0', 'energy')).toThrow('not finite');
  });

  it('evaluates expressions of variables, with units in the scope', () => {
    const e = compileExpression('512 * floor(8 / ba) * floor(8 / bw) * clock', ['ba', 'bw', 'clock']);
    const v = e.evaluate({ ba: 4, bw: 2, clock: unitOf(500e6, 'Hz') }) as { value: number };
    expect(v.value).toBe(512 * 2 * 4 * 500e6);
    const tiers = compileExpression('(ba <= 4 ? 624 : ba <= 8 ? 312 : 156) THz', ['ba']);
    expect((tiers.evaluate({ ba: 8 }) as { value: number }).value).toBe(312e12);
  });

  it.each([
    ['import({x: 1})', /function "import"/],
    ['evaluate("1")', /function "evaluate"/],
    ['parse("1")', /function "parse"/],
    ['compile("1")', /function "compile"/],
    ['createUnit("foo")', /function "createUnit"/],
    ['simplify("x")', /function "simplify"/],
    ['derivative("x", "x")', /function "derivative"/],
    ['resolve(1)', /function "resolve"/],
    ['foo(1)', /unknown or disallowed function "foo"/],
    ['x = 1', /assignment expressions are not allowed/],
    ['f(x) = x', /functionassignment expressions are not allowed/],
    ['[1, 2]', /array expressions are not allowed/],
    ['{a: 1}', /object expressions are not allowed/],
    ['1:3', /range expressions are not allowed/],
    ['1; 2', /block expressions are not allowed/],
    ['"text"', /only numbers/],
    ['5!', /operator "!" is not allowed/],
    ['cos.name', /accessor expressions are not allowed/],
    ['qq * 2', /unknown symbol "qq"/],
    ['compile', /unknown symbol "compile"/],
    ['1 pJ +', /cannot parse/],
    ['', /empty/],
  ])('refuses %j', (source, message) => {
    expect(() => compileExpression(source, ['ba', 'bw'])).toThrow(message);
  });

  it('caps the expression length', () => {
    const long = '1 + '.repeat(60) + '1 pJ';
    expect(long.length).toBeGreaterThan(MAX_EXPRESSION_LENGTH);
    expect(() => compileExpression(long, [])).toThrow(`at most ${MAX_EXPRESSION_LENGTH}`);
  });
});
