import { describe, expect, it } from 'vitest';
import { DISABLED_FUNCTIONS, MAX_EXPRESSION_LENGTH, compileExpression, evaluateQuantity, restrictedMath, unitOf } from '../src/hw/expr.js';

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
    ['config({number: "BigNumber"})', /object expressions are not allowed|function "config"/],
    ['parser()', /function "parser"/],
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

describe('the restricted instance itself (defence in depth behind the allow-list)', () => {
  it.each([...DISABLED_FUNCTIONS])('%s is replaced by a function that throws', (name) => {
    const fn = (restrictedMath() as unknown as Record<string, (...args: unknown[]) => unknown>)[name]!;
    expect(typeof fn).toBe('function');
    expect(() => fn('1')).toThrow(`function ${name} is not allowed in a profile`);
  });

  it('import, createUnit and evaluate cannot change or reach the instance', () => {
    const math = restrictedMath();
    expect(() => math.import({ clock: 1 }, { override: true })).toThrow('function import is not allowed in a profile');
    expect(() => math.createUnit('zz', '1 J')).toThrow('function createUnit is not allowed in a profile');
    expect(() => math.evaluate('1')).toThrow('function evaluate is not allowed in a profile');
    expect(() => math.parse('1')).toThrow('function parse is not allowed in a profile');
    // no unit was created, and profile expressions still parse, compile and evaluate
    expect(() => compileExpression('1 zz', [])).toThrow(/unknown symbol "zz"/);
    expect(evaluateQuantity('2 * 0.5 pJ', 'energy')).toBeCloseTo(1e-12, 25);
  });

  it('a compiled expression that called a disabled function would hit the replacement', () => {
    // The allow-list refuses the call before compilation; compiled code resolves functions on the
    // restricted instance, so even a call past the allow-list meets the throwing replacement.
    const { FunctionNode, ConstantNode } = restrictedMath();
    for (const name of ['evaluate', 'import', 'createUnit']) {
      const call = new FunctionNode(name, [new ConstantNode('1')]);
      expect(() => call.compile().evaluate({})).toThrow(`function ${name} is not allowed in a profile`);
    }
  });
});

describe('messages of refused expressions are one line', () => {
  it.each([
    ['ba\nbw', /^"ba\\nbw": block expressions are not allowed$/],
    ['qq\u202e * 2', /^cannot parse "qq\\u202e \* 2"|unknown symbol/],
    ['1 pJ\r', /^cannot parse|block expressions/],
  ])('%j', (source, message) => {
    let error: Error | null = null;
    try {
      compileExpression(source, ['ba', 'bw']);
    } catch (err) {
      error = err as Error;
    }
    expect(error).not.toBeNull();
    expect(error!.message).toMatch(message);
    expect(error!.message).not.toMatch(/[\n\r\u202e]/);
  });
});
